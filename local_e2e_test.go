package clusterapi

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// newLocalExecutor is an executor over the real local scheduler with its
// own state dir.
func newLocalExecutor(t *testing.T, slots int) *Executor {
	t.Helper()
	e, err := New(Config{StateDir: t.TempDir(), LocalSlots: slots, InMemory: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestLocalWorkDirWithSpacesAndQuotes(t *testing.T) {
	t.Parallel()
	e := newLocalExecutor(t, 2)
	if e.Name() != "local" {
		t.Fatalf("executor %q, want local", e.Name())
	}
	wd := filepath.Join(t.TempDir(), `my "work" dir $HOME 'x' \n`)
	s := JobSpec{
		Name:      `na"me; rm -rf /`,
		Command:   `echo "out:$GREETING"; pwd; echo err >&2; exit 3`,
		Env:       map[string]string{"GREETING": `it's "quoted" $HOME`},
		Resources: Resources{WorkDir: wd},
	}
	j, err := e.Submit(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := j.Wait(ctx)
	if err != nil {
		t.Fatalf("job did not end: %v (%+v)", err, r)
	}
	if r.Status != Failed || r.ExitCode == nil || *r.ExitCode != 3 || r.Reason != ReasonExitCode {
		t.Errorf("record = %s exit %v reason %s, want failed 3 exit_code", r.Status, r.ExitCode, r.Reason)
	}
	if want := filepath.Join(wd, "stdout."+j.ID()+".log"); r.StdoutPath != want {
		t.Errorf("stdout path = %q, want %q", r.StdoutPath, want)
	}
	out, err := os.ReadFile(r.StdoutPath)
	if err != nil {
		t.Fatal(err)
	}
	if want := "out:it's \"quoted\" $HOME\n" + wd + "\n"; string(out) != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	errOut, err := os.ReadFile(filepath.Join(wd, "stderr."+j.ID()+".log"))
	if err != nil || string(errOut) != "err\n" {
		t.Errorf("stderr = %q, %v", errOut, err)
	}
	if filepath.Dir(r.ScriptPath) == wd {
		t.Errorf("script %q in the work dir, want it in the spool", r.ScriptPath)
	}
}

func TestLocalReconnectFromNewExecutor(t *testing.T) {
	t.Parallel()
	state, wd := t.TempDir(), t.TempDir()
	cfg := Config{StateDir: state, LocalSlots: 1, InMemory: true}
	e1, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	first, err := e1.Submit(ctx, JobSpec{Command: "exit 4", Resources: Resources{WorkDir: wd}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// The second one is still running or pending when e1 goes away.
	second, err := e1.SubmitArray(ctx, JobSpec{Command: "sleep 0.2; exit $CAPI_ARRAY_INDEX", Resources: Resources{WorkDir: wd}}, Array{First: 0, Last: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := e1.Close(); err != nil {
		t.Fatal(err)
	}

	e2, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	jobs, err := e2.Reconnect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*Job{}
	for _, j := range jobs {
		byID[j.ID()] = j
	}
	j1, j2 := byID[first.ID()], byID[second.ID()]
	if j1 == nil || j2 == nil {
		t.Fatalf("Reconnect found %d jobs, want %s and %s", len(jobs), first.ID(), second.ID())
	}
	if r := j1.Snapshot(); r.Status != Failed || r.ExitCode == nil || *r.ExitCode != 4 {
		t.Errorf("finished job after reconnect: %s exit %v", r.Status, r.ExitCode)
	}
	m := NewMonitor(e2, &MonitorOptions{Interval: 20 * time.Millisecond})
	m.Start()
	defer m.Stop()
	r, err := j2.Wait(ctx)
	if err != nil {
		t.Fatalf("array never ended after reconnect: %v (%+v)", err, r)
	}
	if r.Status != Failed || r.Array == nil || len(r.Array.Elements) != 3 {
		t.Fatalf("array after reconnect: %+v", r)
	}
	for i, el := range r.Array.Elements {
		if el.Index != i || el.ExitCode == nil || *el.ExitCode != i {
			t.Errorf("element %d: %+v", i, el)
		}
	}
}

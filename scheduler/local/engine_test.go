package local_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	capi "github.com/go-cluster-api/clusterapi"
	"github.com/go-cluster-api/clusterapi/internal/script"
	"github.com/go-cluster-api/clusterapi/scheduler/local"
)

// These tests go through the engine, as `capi run` and library users do.

func newExecutor(t *testing.T, cfg capi.Config) *capi.Executor {
	t.Helper()
	cfg.InMemory = true
	if cfg.StateDir == "" {
		cfg.StateDir = t.TempDir()
	}
	e, err := capi.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func wait(t *testing.T, j *capi.Job) capi.Record {
	t.Helper()
	// Generous: only there so that a broken executor fails instead of hangs.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := j.Wait(ctx)
	if err != nil {
		t.Fatalf("job %s did not end: %v (%s/%s)", j.ID(), err, r.Status, r.Reason)
	}
	return r
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// Bug: every local job left 4 files in the work dir (script, exit file,
// two logs). Now only its logs are there; the script and the exit file its
// trap writes are in the spool, where the engine and the scheduler read it.
func TestLocalJobLeavesOnlyLogs(t *testing.T) {
	t.Parallel()
	state, wd := t.TempDir(), t.TempDir()
	e := newExecutor(t, capi.Config{StateDir: state})
	spec := capi.JobSpec{Command: "echo hello", Resources: capi.Resources{WorkDir: wd}}
	j, err := e.Submit(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	r := wait(t, j)
	if r.Status != capi.Done {
		t.Fatalf("echo hello: %s/%s %q", r.Status, r.Reason, r.Detail)
	}
	if got, want := names(t, wd), []string{"stderr." + j.ID() + ".log", "stdout." + j.ID() + ".log"}; !slices.Equal(got, want) {
		t.Errorf("work dir holds %q, want only %q", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(wd, "stdout."+j.ID()+".log")); string(b) != "hello\n" {
		t.Errorf("stdout log = %q", b)
	}
	scripts := filepath.Join(local.SpoolDir(state), "scripts")
	if filepath.Dir(r.ScriptPath) != scripts {
		t.Errorf("script at %s, want it in %s", r.ScriptPath, scripts)
	}
	if ex, ok := script.ReadExitFile(script.ExitFilePath(r.ScriptPath, j.ID(), 0, false)); !ok || ex.Code != 0 {
		t.Errorf("exit file next to the script: %+v, %v", ex, ok)
	}

	// An array too: one pair of logs per element, nothing else.
	wd2 := t.TempDir()
	spec.Resources.WorkDir = wd2
	a, err := e.SubmitArray(context.Background(), spec, capi.Array{First: 1, Last: 2})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, a)
	var want []string
	for _, s := range []string{"stderr", "stdout"} {
		for _, i := range []string{"1", "2"} {
			want = append(want, s+"."+a.ID()+"."+i+".log")
		}
	}
	if got := names(t, wd2); !slices.Equal(got, want) {
		t.Errorf("array's work dir holds %q, want only %q", got, want)
	}

	// capi script still prints the script, whose trap writes the exit file
	// in the spool.
	content, err := e.Script(capi.JobSpec{Command: "echo hello", Resources: capi.Resources{WorkDir: wd}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(content), "echo hello\n") || !strings.Contains(string(content), "__capi_exit_file='"+scripts+"/echo.") {
		t.Errorf("capi script:\n%s\nwant the command and an exit file in %s", content, scripts)
	}
	if got := names(t, wd); len(got) != 2 {
		t.Errorf("capi script wrote to the work dir: %q", got)
	}
}

// Through the engine, a job past its walltime reads failed/timeout, like a
// cluster job stopped at its limit.
func TestLocalWalltime(t *testing.T) {
	t.Parallel()
	e := newExecutor(t, capi.Config{})
	j, err := e.Submit(context.Background(), capi.JobSpec{Command: "sleep 120",
		Resources: capi.Resources{WorkDir: t.TempDir(), Walltime: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	r := wait(t, j)
	if r.Status != capi.Failed || r.Reason != capi.ReasonTimeout {
		t.Errorf("job past its walltime: %s/%s %q, want failed/timeout", r.Status, r.Reason, r.Detail)
	}
	t.Logf("ended %s after it started (walltime 2 s, grace %s): %s", r.FinishTime.Sub(r.StartTime).Round(time.Millisecond), local.KillGrace, r.Detail)
}

// The local executor has no queues: a queue is refused before anything is
// written or started, with an error that says what to do.
func TestLocalQueueRefused(t *testing.T) {
	t.Parallel()
	wd := t.TempDir()
	e := newExecutor(t, capi.Config{})
	_, err := e.Submit(context.Background(), capi.JobSpec{Command: "true", Resources: capi.Resources{WorkDir: wd, Queue: "long"}})
	var ve *capi.ValueError
	if !errors.As(err, &ve) || ve.Kind != "queue" || !strings.Contains(err.Error(), "--queue") {
		t.Errorf("submit with a queue: %v, want a ValueError naming --queue", err)
	}
	if _, err := e.Script(capi.JobSpec{Command: "true", Resources: capi.Resources{Queue: "long"}}, nil); !errors.As(err, &ve) {
		t.Errorf("script with a queue: %v, want a ValueError", err)
	}
	if got := names(t, wd); len(got) != 0 {
		t.Errorf("a refused job left %q", got)
	}
}

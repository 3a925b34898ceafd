package local

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/script"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

// A spool written by a capi before the journal (a directory per job) is
// carried over: its ended job keeps its end, its running job is followed
// until it ends and settled from its exit file, its waiting job runs, and
// new ids continue after the old ones.
func TestOldSpoolIsCarriedOver(t *testing.T) {
	t.Parallel()
	state, wd := t.TempDir(), t.TempDir()
	sp := spool{dir: SpoolDir(state)}
	w := &script.Writer{}
	scriptFor := func(name, cmd string) string {
		path, err := w.Reserve(filepath.Join(sp.dir, "scripts"), name)
		if err != nil {
			t.Fatal(err)
		}
		content, err := script.Render(script.Spec{ExitFileBase: script.ExitFileBase(path), Dialect: (&Scheduler{}).Dialect(), Command: cmd})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Fill(path, content); err != nil {
			t.Fatal(err)
		}
		return path
	}
	writeJSON := func(path string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	submitted := time.Now().Add(-time.Minute).Truncate(time.Second)
	old := func(id, name, cmd string) *jobFile {
		return &jobFile{ID: id, Name: name, Script: scriptFor(name, cmd), WorkDir: wd,
			Stdout: filepath.Join(wd, "out.{job_id}"), Stderr: filepath.Join(wd, "err.{job_id}"),
			CPUs: 1, Owner: "dead-owner", Submitted: submitted}
	}
	// Job 1 ended.
	j1 := old("1", "ended", "true")
	writeJSON(filepath.Join(sp.dir, "jobs", "1", "job.json"), j1)
	writeJSON(filepath.Join(sp.dir, "jobs", "1", "job.end"), endFile{Status: "failed", Exit: 4, HasExit: true, Start: submitted, Finish: submitted.Add(time.Second)})
	// Job 2 runs: its .run file is held (here by the test) and has the
	// pid and start.
	j2 := old("2", "running", "true")
	writeJSON(filepath.Join(sp.dir, "jobs", "2", "job.json"), j2)
	run2 := filepath.Join(sp.dir, "jobs", "2", "job.run")
	if err := os.WriteFile(run2, fmt.Appendf(nil, "%d %d\n", os.Getpid(), submitted.UnixNano()), 0o600); err != nil {
		t.Fatal(err)
	}
	hold, err := os.Open(run2)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	if err := syscall.Flock(int(hold.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	// Job 3 waits.
	j3 := old("3", "waiting", "exit 7")
	writeJSON(filepath.Join(sp.dir, "jobs", "3", "job.json"), j3)
	if err := os.MkdirAll(filepath.Join(sp.dir, "waiting"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(sp.dir, "waiting", "3"), nil, 0o600)

	s := openSched(t, state, 2)
	byID := func() map[string]scheduler.Observation {
		obs, err := s.Poll(context.Background(), scheduler.Query{})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]scheduler.Observation{}
		for _, o := range obs {
			m[o.ID] = o
		}
		return m
	}
	waitFor(t, "the waiting job to run and end", func() bool { return byID()["3"].Status.Terminal() })
	got := byID()
	if o := got["1"]; o.Status != scheduler.Failed || o.ExitCode != 4 {
		t.Errorf("ended job: %+v, want failed exit 4", o)
	}
	if o := got["2"]; o.Status != scheduler.Running || !o.StartTime.Equal(submitted) {
		t.Errorf("running job: %+v, want running since %s", o, submitted)
	}
	if o := got["3"]; o.Status != scheduler.Failed || o.ExitCode != 7 {
		t.Errorf("waiting job: %+v, want run: failed exit 7", o)
	}
	// Job 2 ends: its exit file says 0, its lock goes.
	if err := os.WriteFile(script.ExitFilePath(j2.Script, "2", 0, false), []byte("0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hold.Close()
	waitFor(t, "the running job to be settled", func() bool { return byID()["2"].Status == scheduler.Done })
	if !exists(filepath.Join(sp.dir, "jobs.v1", "1", "job.json")) || exists(filepath.Join(sp.dir, "jobs")) {
		t.Error("the old directories were not set aside as jobs.v1")
	}
	id, err := submitTo(context.Background(), s, w, wd, "new", "true", nil)
	if err != nil {
		t.Fatal(err)
	}
	if id != "4" {
		t.Errorf("a new job got id %s, want 4 (after the old ones)", id)
	}
	pollUntilTerminal(t, s, []string{id})
}

package clusterapi

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A user's job history, spool and scripts (which carry --env values) are
// readable by that user alone: state dir 0700, job store and spool files
// 0600, job scripts 0700. Login nodes' home directories are often
// world-readable.
func TestStateIsPrivate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	e, err := New(Config{StateDir: state}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	j, err := e.Submit(context.Background(), JobSpec{Name: "secret", Command: "true",
		Env: map[string]string{"TOKEN": "hunter2"}, Resources: Resources{WorkDir: dir, CPUs: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := j.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mode := func(p string) fs.FileMode {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return st.Mode().Perm()
	}
	if m := mode(r.ScriptPath); m != 0o700 {
		t.Errorf("job script %s is %v, want 0700", r.ScriptPath, m)
	}
	filepath.WalkDir(state, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // removed while walking (a job's run file)
		}
		want := fs.FileMode(0o600)
		if d.IsDir() || p == r.ScriptPath { // the local executor keeps scripts in its spool
			want = 0o700
		}
		if m := mode(p); m != want {
			t.Errorf("%s is %v, want %v", p, m, want)
		}
		return nil
	})
}

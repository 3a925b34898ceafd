package lsf

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gold "github.com/go-cluster-api/clusterapi/internal/golden"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

// testNow is "now" for every parser test, so that year inference and
// goldens do not depend on the day the tests run.
var testNow = time.Date(2026, time.March, 15, 12, 0, 0, 0, time.UTC)

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readOptional reads a fixture that may not exist (no stderr recorded).
func readOptional(t *testing.T, path string) []byte {
	t.Helper()
	if path == "" {
		return nil
	}
	return mustRead(t, filepath.Join("testdata", path))
}

// golden compares got, as indented JSON, with testdata/golden/name.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	gold.JSON(t, filepath.Join("testdata", "golden", name), got)
}

func goldenBytes(t *testing.T, name string, got []byte) {
	t.Helper()
	gold.Bytes(t, filepath.Join("testdata", "golden", name), got)
}

// recorder is a hand-written fake runner: it answers each command with the
// next scripted reply and keeps the commands it saw.
type recorder struct {
	replies []reply
	seen    []scheduler.Command
}

type reply struct {
	stdout, stderr string
	exit           int
	err            error // returned as is (timeouts, start failures)
}

func (r *recorder) Run(_ context.Context, cmd scheduler.Command) (scheduler.Result, error) {
	r.seen = append(r.seen, cmd)
	if len(r.replies) == 0 {
		return scheduler.Result{}, &scheduler.CommandError{Argv: cmd.Argv, ExitCode: -1, Err: os.ErrNotExist}
	}
	rep := r.replies[0]
	r.replies = r.replies[1:]
	res := scheduler.Result{Stdout: []byte(rep.stdout), Stderr: []byte(rep.stderr), ExitCode: rep.exit}
	if rep.err != nil {
		return res, rep.err
	}
	if rep.exit != 0 {
		return res, &scheduler.CommandError{Argv: cmd.Argv, ExitCode: rep.exit, Stdout: res.Stdout, Stderr: res.Stderr}
	}
	return res, nil
}

func newTestScheduler(t *testing.T, r scheduler.Runner, opts scheduler.Options) *Scheduler {
	t.Helper()
	opts.Runner = r
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return testNow }
	return s
}

func TestFixturesHaveSources(t *testing.T) {
	t.Parallel()
	sources := string(mustRead(t, "testdata/SOURCES.md"))
	err := filepath.WalkDir("testdata", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel("testdata", path)
		dir, base := filepath.Split(rel)
		if strings.HasPrefix(dir, "golden/") || strings.HasPrefix(dir, "fuzz/") || base == "SOURCES.md" {
			return nil
		}
		if !bytes.Contains([]byte(sources), []byte(base)) {
			t.Errorf("testdata/%s is not described in testdata/SOURCES.md", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

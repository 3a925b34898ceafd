package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	capi "github.com/go-cluster-api/clusterapi"
)

// env is one test's world: a config file, a state dir and a work dir, all
// temporary, and the local executor.
type env struct {
	t      *testing.T
	dir    string
	config string
	state  string
	work   string
	// cols and rows, when set, make Out a terminal of that size.
	cols, rows int
	// resize, when set, is the terminal's SIGWINCH.
	resize  chan os.Signal
	signals chan os.Signal
	// vars are the environment variables capi sees (NO_COLOR, TERM).
	vars map[string]string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, dir: dir, config: filepath.Join(dir, "cluster_api.yaml"), state: filepath.Join(dir, "state"), work: filepath.Join(dir, "work")}
	if err := os.MkdirAll(e.work, 0o755); err != nil {
		t.Fatal(err)
	}
	e.writeConfig("")
	return e
}

func (e *env) writeConfig(yaml string) {
	e.t.Helper()
	if err := os.WriteFile(e.config, []byte(yaml), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

type result struct {
	out, err string
	code     int
}

// run runs capi with the env's config and state dir, in-process.
func (e *env) run(args ...string) result {
	e.t.Helper()
	var out, errOut bytes.Buffer
	g := &globals{
		io:           IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		signals:      e.signals,
		env:          func(k string) string { return e.vars[k] },
		pollInterval: 50 * time.Millisecond,
	}
	if e.cols > 0 {
		g.openConsole = func() *console {
			return &console{cols: e.cols, rows: e.rows, winch: e.resize}
		}
	}
	full := append([]string{"--config", e.config, "--set", "state_dir=" + e.state}, args...)
	code := run(full, g)
	return result{out.String(), errOut.String(), code}
}

// submit submits a job in the work dir and returns its id.
func (e *env) submit(args ...string) string {
	e.t.Helper()
	r := e.run(append([]string{"submit", "--work-dir", e.work}, args...)...)
	if r.code != 0 {
		e.t.Fatalf("submit %q: exit %d: %s", args, r.code, r.err)
	}
	return strings.TrimSpace(r.out)
}

func (e *env) records(args ...string) []capi.Record {
	e.t.Helper()
	r := e.run(append(args, "--json")...)
	if r.code != 0 {
		e.t.Fatalf("%q: exit %d: %s", args, r.code, r.err)
	}
	var recs []capi.Record
	if err := json.Unmarshal([]byte(r.out), &recs); err != nil {
		e.t.Fatalf("%q: %v\n%s", args, err, r.out)
	}
	return recs
}

func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.out, r.err)
	}
}

// wantOneLineError checks a failure is reported as one "capi: " line.
func wantOneLineError(t *testing.T, r result, code int, contains string) {
	t.Helper()
	wantCode(t, r, code)
	if !strings.HasPrefix(r.err, "capi: ") || strings.Count(r.err, "\n") != 1 {
		t.Errorf("stderr is not one capi: line: %q", r.err)
	}
	if !strings.Contains(r.err, contains) {
		t.Errorf("stderr %q does not mention %q", r.err, contains)
	}
}

package sge

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gold "github.com/go-cluster-api/clusterapi/internal/golden"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

// capture is one recorded command run. testdata files hold it as
//
//	# Son of Grid Engine 8.1.9 ... (where it was recorded)
//	# command: qstat -xml -u root
//	-- exit --
//	0
//	-- stdout --
//	...
//	-- stderr --
//	...
type capture struct {
	Exit           int
	Stdout, Stderr []byte
}

func readCapture(t testing.TB, path string) capture {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseCapture(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

func parseCapture(b []byte) (capture, error) {
	const exitMark, outMark, errMark = "-- exit --\n", "-- stdout --\n", "-- stderr --\n"
	s := string(b)
	i, j, k := strings.Index(s, exitMark), strings.Index(s, outMark), strings.LastIndex(s, errMark)
	if i < 0 || j < i || k < j {
		return capture{}, errorString("not a capture file: want -- exit --, -- stdout --, -- stderr -- sections")
	}
	code, err := strconv.Atoi(strings.TrimSpace(s[i+len(exitMark) : j]))
	if err != nil {
		return capture{}, err
	}
	return capture{Exit: code, Stdout: []byte(s[j+len(outMark) : k]), Stderr: []byte(s[k+len(errMark):])}, nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

// result turns a capture into what a runner returns for it.
func (c capture) result(argv []string) (scheduler.Result, error) {
	res := scheduler.Result{Stdout: c.Stdout, Stderr: c.Stderr, ExitCode: c.Exit}
	if c.Exit != 0 {
		return res, &scheduler.CommandError{Argv: argv, ExitCode: c.Exit, Stdout: c.Stdout, Stderr: c.Stderr}
	}
	return res, nil
}

func glob(t testing.TB, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files match %s (%v)", pattern, err)
	}
	return files
}

// golden compares v, as indented JSON, with testdata/golden/<name>.json;
// go test -update rewrites the file.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	gold.JSON(t, filepath.Join("testdata", "golden", name+".json"), v)
}

// parsed is what golden files record for a parser: the observations, the
// lines it skipped, or the error.
type parsed struct {
	Observations []obsView `json:"observations,omitempty"`
	Skipped      []string  `json:"skipped,omitempty"`
	Error        string    `json:"error,omitempty"`
}

// obsView is an observation as golden files show it: only what is set, so
// that fields added to the contract later do not rewrite every file.
type obsView struct {
	ID         string `json:"id"`
	Index      int    `json:"index,omitempty"`
	InArray    bool   `json:"in_array,omitempty"`
	Name       string `json:"name,omitempty"`
	Status     string `json:"status"`
	Reason     string `json:"reason,omitempty"`
	Detail     string `json:"detail,omitempty"`
	ExitCode   *int   `json:"exit_code,omitempty"`
	Host       string `json:"host,omitempty"`
	MaxMem     string `json:"max_mem,omitempty"`
	SubmitTime string `json:"submit_time,omitempty"`
	StartTime  string `json:"start_time,omitempty"`
	FinishTime string `json:"finish_time,omitempty"`
}

func views(obs []scheduler.Observation) []obsView {
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format(time.RFC3339Nano)
	}
	out := make([]obsView, 0, len(obs))
	for _, o := range obs {
		v := obsView{
			ID: o.ID, Index: o.Index, InArray: o.InArray, Name: o.Name,
			Status: string(o.Status), Reason: string(o.Reason), Detail: o.Detail,
			Host: o.Host, MaxMem: o.MaxMem,
			SubmitTime: ts(o.SubmitTime), StartTime: ts(o.StartTime), FinishTime: ts(o.FinishTime),
		}
		if o.HasExit {
			code := o.ExitCode
			v.ExitCode = &code
		}
		out = append(out, v)
	}
	return out
}

func base(path string) string { return strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)) }

// fakeRunner answers commands from a table and records what it was asked.
type fakeRunner struct {
	mu      sync.Mutex
	calls   []scheduler.Command
	respond func(cmd scheduler.Command) (scheduler.Result, error)
}

func (f *fakeRunner) Run(_ context.Context, cmd scheduler.Command) (scheduler.Result, error) {
	f.mu.Lock()
	f.calls = append(f.calls, cmd)
	f.mu.Unlock()
	return f.respond(cmd)
}

func (f *fakeRunner) argvs() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([][]string, len(f.calls))
	for i, c := range f.calls {
		out[i] = slices.Clone(c.Argv)
	}
	return out
}

// replay answers every command with one recorded capture.
func replay(t testing.TB, path string) *fakeRunner {
	c := readCapture(t, path)
	return &fakeRunner{respond: func(cmd scheduler.Command) (scheduler.Result, error) { return c.result(cmd.Argv) }}
}

// newTest returns a scheduler with plain command names, user "alice" and
// UTC times, whatever machine the test runs on.
func newTest(t testing.TB, r scheduler.Runner) *Scheduler {
	t.Helper()
	s, err := newScheduler(scheduler.Options{Runner: r}, pathCommands(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	s.loc = time.UTC
	return s
}

func TestParseCaptureFiles(t *testing.T) {
	t.Parallel()
	// Every recorded file must say where it came from and parse.
	for _, f := range glob(t, "testdata/q*/*.txt") {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("# ")) || !bytes.Contains(b, []byte("\n# command: ")) {
			t.Errorf("%s: must start with a '# <scheduler version>' line and a '# command: ...' line", f)
		}
		if _, err := parseCapture(b); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

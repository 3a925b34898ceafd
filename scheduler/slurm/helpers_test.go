package slurm

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gold "github.com/go-cluster-api/clusterapi/internal/golden"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

// readFixture returns a recorded output without its header: the leading
// lines starting with '#' that say where it came from.
func readFixture(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for bytes.HasPrefix(b, []byte("#")) {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return nil
		}
		b = b[i+1:]
	}
	return b
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil || len(m) == 0 {
		t.Fatalf("no files match %s (err %v)", pattern, err)
	}
	return m
}

// golden compares v, as indented JSON, with the golden file; -update
// rewrites it.
func golden(t *testing.T, path string, v any) {
	t.Helper()
	gold.JSON(t, path, v)
}

// transcript is one command of a recorded shell session: "$ argv",
// its output (stdout and stderr together) and "[exit N]".
type transcript struct {
	cmd    string
	output string
	exit   int
}

func readTranscripts(t *testing.T, path string) []transcript {
	t.Helper()
	var out []transcript
	var cur *transcript
	for line := range strings.SplitSeq(string(readFixture(t, path)), "\n") {
		switch {
		case strings.HasPrefix(line, "$ "):
			out = append(out, transcript{cmd: strings.TrimPrefix(line, "$ ")})
			cur = &out[len(out)-1]
		case cur == nil:
		case strings.HasPrefix(line, "[exit "):
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(line, "[exit "), "]"))
			if err != nil {
				t.Fatalf("%s: bad exit line %q", path, line)
			}
			cur.exit = n
			cur = nil
		default:
			cur.output += line + "\n"
		}
	}
	return out
}

// fakeRunner answers commands from a table keyed by argv[0] and records
// every command it was asked to run.
type fakeRunner struct {
	mu    sync.Mutex
	calls [][]string
	envs  [][]string
	reply func(argv []string) (scheduler.Result, error)
}

func (f *fakeRunner) Run(_ context.Context, c scheduler.Command) (scheduler.Result, error) {
	f.mu.Lock()
	f.calls = append(f.calls, c.Argv)
	f.envs = append(f.envs, c.Env)
	f.mu.Unlock()
	return f.reply(c.Argv)
}

func (f *fakeRunner) environments() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]string(nil), f.envs...)
}

func (f *fakeRunner) commands() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]string(nil), f.calls...)
}

// failed is what the real runner returns for a command that exited non-zero.
func exited(argv []string, exit int, stdout, stderr string) (scheduler.Result, error) {
	res := scheduler.Result{Stdout: []byte(stdout), Stderr: []byte(stderr), ExitCode: exit}
	return res, &scheduler.CommandError{Argv: argv, ExitCode: exit, Stdout: res.Stdout, Stderr: res.Stderr}
}

func ok(stdout string) (scheduler.Result, error) {
	return scheduler.Result{Stdout: []byte(stdout)}, nil
}

func newTestScheduler(t *testing.T, reply func(argv []string) (scheduler.Result, error)) (*Scheduler, *fakeRunner) {
	t.Helper()
	f := &fakeRunner{reply: reply}
	s, err := New(scheduler.Options{Runner: f})
	if err != nil {
		t.Fatal(err)
	}
	s.user = "alice"
	s.loc = time.UTC
	return s, f
}

// goldenObs is an Observation as golden files show it: empty fields left
// out, so that a reviewer sees what each line of output turned into.
type goldenObs struct {
	ID       string `json:"id"`
	Index    *int   `json:"index,omitempty"`
	Name     string `json:"name,omitempty"`
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
	Detail   string `json:"detail,omitempty"`
	ExitCode *int   `json:"exit_code,omitempty"`
	Host     string `json:"host,omitempty"`
	MaxMem   string `json:"max_mem,omitempty"`
	Submit   string `json:"submit,omitempty"`
	Start    string `json:"start,omitempty"`
	Finish   string `json:"finish,omitempty"`
}

func toGolden(obs []scheduler.Observation) []goldenObs {
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format(time.RFC3339)
	}
	out := make([]goldenObs, len(obs))
	for i, o := range obs {
		g := goldenObs{ID: o.ID, Name: o.Name, Status: string(o.Status), Reason: string(o.Reason), Detail: o.Detail,
			Host: o.Host, MaxMem: o.MaxMem, Submit: ts(o.SubmitTime), Start: ts(o.StartTime), Finish: ts(o.FinishTime)}
		if o.InArray {
			g.Index = &o.Index
		}
		if o.HasExit {
			g.ExitCode = &o.ExitCode
		}
		out[i] = g
	}
	return out
}

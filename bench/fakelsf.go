package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	clusterapi "github.com/go-cluster-api/clusterapi"
	"github.com/go-cluster-api/clusterapi/internal/runner"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

// lsfCommands are the names the fake LSF answers to (as fakelsftest links
// them).
var lsfCommands = []string{"bsub", "bjobs", "bkill", "bhist"}

// buildFakeLSF compiles internal/fakelsf into dir and links it under every
// LSF command name, like fakelsftest.Build but without a testing.TB.
func buildFakeLSF(dir string) error {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the go command is needed to build the fake LSF: %w", err)
	}
	cmd := exec.Command(gobin, "build", "-o", filepath.Join(dir, "fakelsf"), "github.com/go-cluster-api/clusterapi/internal/fakelsf")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the fake LSF (run from the module root): %v\n%s", err, out)
	}
	for _, name := range lsfCommands {
		if err := os.Symlink("fakelsf", filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

// The fake's state file (internal/fakelsf/state.go), the fields needed to
// queue jobs that wait forever: pending, with no supervisor to start them.
type fakeState struct {
	NextID int        `json:"next_id"`
	Jobs   []*fakeJob `json:"jobs"`
}

type fakeJob struct {
	ID         int        `json:"id"`
	Name       string     `json:"name"`
	User       string     `json:"user"`
	Queue      string     `json:"queue"`
	Array      bool       `json:"array"`
	SubmitTime time.Time  `json:"submit_time"`
	Elements   []fakeElem `json:"elements"`
}

type fakeElem struct {
	Index int    `json:"index"`
	Stat  string `json:"stat"`
}

const lsfPrefix = "capibench"

// seedFakeLSF writes n pending jobs, a tenth of them arrays of 10, named
// with lsfPrefix, into the fake cluster in dir.
func seedFakeLSF(dir string, n int) (rows int, err error) {
	st := fakeState{NextID: 1000 + n}
	now := time.Now().Add(-time.Minute)
	for k := range n {
		j := &fakeJob{ID: 1000 + k, Name: fmt.Sprintf("%s-job-%d", lsfPrefix, k), User: os.Getenv("USER"), Queue: "normal", SubmitTime: now}
		if k%10 == 9 {
			j.Array = true
			for i := 1; i <= 10; i++ {
				j.Elements = append(j.Elements, fakeElem{Index: i, Stat: "PEND"})
			}
		} else {
			j.Elements = []fakeElem{{Index: 0, Stat: "PEND"}}
		}
		rows += len(j.Elements)
		st.Jobs = append(st.Jobs, j)
	}
	if err := os.MkdirAll(filepath.Join(dir, "jobs"), 0o755); err != nil {
		return 0, err
	}
	b, err := json.Marshal(&st)
	if err != nil {
		return 0, err
	}
	return rows, os.WriteFile(filepath.Join(dir, "state.json"), b, 0o644)
}

// countingRunner runs commands against the fake cluster and records their
// argv.
type countingRunner struct {
	base scheduler.Runner
	env  []string

	mu    sync.Mutex
	calls [][]string
}

func (r *countingRunner) Run(ctx context.Context, cmd scheduler.Command) (scheduler.Result, error) {
	r.mu.Lock()
	r.calls = append(r.calls, append([]string(nil), cmd.Argv...))
	r.mu.Unlock()
	cmd.Env = append(append([]string(nil), r.env...), cmd.Env...)
	return r.base.Run(ctx, cmd)
}

// since returns the commands run after the first k.
func (r *countingRunner) since(k int) [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]string(nil), r.calls[k:]...)
}

func (r *countingRunner) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

// benchLSF tracks o.lsfJobs jobs on the fake LSF and counts the scheduler
// commands each poll issues.
func benchLSF(o options) error {
	fmt.Printf("\n== lsf: scheduler commands per poll, %d jobs tracked on the fake LSF ==\n", o.lsfJobs)
	dir, cleanup, err := tempDir(o, "capi-bench-lsf-")
	if err != nil {
		return err
	}
	defer cleanup()
	bin, cluster := filepath.Join(dir, "bin"), filepath.Join(dir, "cluster")
	for _, d := range []string{bin, cluster} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := buildFakeLSF(bin); err != nil {
		return err
	}
	os.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	rows, err := seedFakeLSF(cluster, o.lsfJobs)
	if err != nil {
		return err
	}
	run := &countingRunner{base: &runner.Exec{Timeout: 2 * time.Minute}, env: []string{"FAKELSF_DIR=" + cluster}}
	e, err := clusterapi.New(clusterapi.Config{
		Executor: "lsf", InMemory: true, JobNamePrefix: lsfPrefix, StateDir: filepath.Join(dir, "state"),
	}, &clusterapi.Options{Runner: run})
	if err != nil {
		return err
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), workloadTimeout)
	defer cancel()

	t0 := time.Now()
	adopted, err := e.Reconnect(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("Reconnect adopted %d jobs (%d rows) with %d command(s) in %s\n", len(adopted), rows, run.count(), time.Since(t0).Round(time.Millisecond))
	if len(adopted) != o.lsfJobs {
		return fmt.Errorf("adopted %d jobs, want %d", len(adopted), o.lsfJobs)
	}
	// A few real jobs too, so that polls also see jobs start and end.
	for i := range 3 {
		if _, err := e.Submit(ctx, clusterapi.JobSpec{Name: fmt.Sprintf("real-%d", i), Command: "true", Resources: clusterapi.Resources{WorkDir: dir}}); err != nil {
			return err
		}
	}
	fmt.Printf("%-5s %9s %10s %s\n", "poll", "commands", "wall", "argv")
	worst := 0
	for p := 1; p <= o.lsfPolls; p++ {
		k := run.count()
		t := time.Now()
		if err := e.Poll(ctx); err != nil {
			return err
		}
		wall := time.Since(t)
		cmds := run.since(k)
		worst = max(worst, len(cmds))
		var argv []string
		for _, c := range cmds {
			argv = append(argv, fmt.Sprintf("%q (%d args)", strings.Join(c, " "), len(c)))
		}
		fmt.Printf("%-5d %9d %10s %s\n", p, len(cmds), wall.Round(time.Millisecond), strings.Join(argv, "; "))
		time.Sleep(200 * time.Millisecond) // let the real jobs run
	}
	fmt.Printf("commands per poll at %d tracked jobs: max %d (want 1); argv length does not depend on N\n", len(e.Jobs()), worst)
	if worst != 1 {
		return fmt.Errorf("a poll issued %d commands", worst)
	}
	return nil
}

// startProfile starts a CPU profile of the whole run when path is set.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

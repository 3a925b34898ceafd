package lsf_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/fakelsf/fakelsftest"
	"github.com/go-cluster-api/clusterapi/internal/runner"
	"github.com/go-cluster-api/clusterapi/internal/script"
	"github.com/go-cluster-api/clusterapi/scheduler"
	"github.com/go-cluster-api/clusterapi/scheduler/lsf"
)

// e2e drives the lsf package against the fake LSF on PATH, through the real
// command runner: what the engine does, minus the engine.
type e2e struct {
	t    *testing.T
	s    *lsf.Scheduler
	work string
}

func newE2E(t *testing.T, env ...string) *e2e {
	t.Helper()
	work := t.TempDir() // before the cluster, so it is removed after the jobs stop
	cluster := fakelsftest.NewCluster(t, env...)
	s, err := lsf.New(scheduler.Options{
		Runner:           cluster.Runner(&runner.Exec{Timeout: 20 * time.Second}),
		SuppressJobEmail: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &e2e{t: t, s: s, work: work}
}

// job renders and writes a script the way the engine does.
func (e *e2e) job(name, command string, arr *scheduler.Array, res scheduler.Resources) *scheduler.Job {
	e.t.Helper()
	d := e.s.Dialect()
	res.WorkDir = e.work
	j := &scheduler.Job{Name: name, Command: command, Array: arr, Resources: res,
		StdoutPath: filepath.Join(e.work, "stdout."+d.LogJobID+".log"),
		StderrPath: filepath.Join(e.work, "stderr."+d.LogJobID+".log"),
		ScriptPath: filepath.Join(e.work, name+".1.sh"),
	}
	if arr != nil {
		j.StdoutPath = filepath.Join(e.work, "stdout."+d.LogArrayJobID+"."+d.LogIndex+".log")
		j.StderrPath = filepath.Join(e.work, "stderr."+d.LogArrayJobID+"."+d.LogIndex+".log")
	}
	dirs, err := e.s.Directives(j)
	if err != nil {
		e.t.Fatal(err)
	}
	j.Script, err = script.Render(script.Spec{Directives: dirs, ExitFileBase: script.ExitFileBase(j.ScriptPath),
		Dialect: d, Array: arr != nil, Command: command})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(j.ScriptPath, j.Script, 0o755); err != nil {
		e.t.Fatal(err)
	}
	return j
}

func (e *e2e) submit(j *scheduler.Job) string {
	e.t.Helper()
	id, err := e.s.Submit(context.Background(), j)
	if err != nil {
		e.t.Fatalf("Submit: %v", err)
	}
	return id
}

// waitFor polls until cond holds for the observations of job id.
func (e *e2e) waitFor(id string, what string, cond func([]scheduler.Observation) bool) []scheduler.Observation {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		all, err := e.s.Poll(context.Background(), scheduler.Query{Prefix: "e2e-"})
		if err != nil {
			e.t.Fatalf("Poll: %v", err)
		}
		var mine []scheduler.Observation
		for _, o := range all {
			if o.ID == id {
				mine = append(mine, o)
			}
		}
		if cond(mine) {
			return mine
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("job %s: never %s; last poll: %+v", id, what, mine)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func terminal(n int) func([]scheduler.Observation) bool {
	return func(obs []scheduler.Observation) bool {
		if len(obs) != n {
			return false
		}
		for _, o := range obs {
			if !o.Status.Terminal() {
				return false
			}
		}
		return true
	}
}

func running(obs []scheduler.Observation) bool {
	return len(obs) == 1 && obs[0].Status == scheduler.Running
}

func TestEndToEndFakeLSF(t *testing.T) {
	bin := fakelsftest.Build(t)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	t.Run("exit code", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t)
		j := e.job("e2e-exit", "echo hello; exit 3", nil, scheduler.Resources{CPUs: 2, Memory: scheduler.GB, Walltime: time.Hour, Queue: "short"})
		id := e.submit(j)
		o := e.waitFor(id, "terminal", terminal(1))[0]
		if o.Status != scheduler.Failed || o.Reason != scheduler.ReasonExitCode || !o.HasExit || o.ExitCode != 3 {
			t.Errorf("observation %+v, want failed with exit code 3", o)
		}
		if o.Name != "e2e-exit" || o.Host == "" || o.SubmitTime.IsZero() || o.FinishTime.IsZero() || !strings.HasSuffix(o.MaxMem, "Mbytes") {
			t.Errorf("observation lacks details: %+v", o)
		}
		if b, err := os.ReadFile(filepath.Join(e.work, "stdout."+id+".log")); err != nil || string(b) != "hello\n" {
			t.Errorf("stdout log %q, %v", b, err)
		}
		if ex, ok := script.ReadExitFile(script.ExitFilePath(j.ScriptPath, id, 0, false)); !ok || ex != (script.Exit{Code: 3}) {
			t.Errorf("exit file: %+v, %v", ex, ok)
		}
	})

	t.Run("done with noise", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "FAKELSF_NOISE=1")
		id := e.submit(e.job("e2e-done", "true", nil, scheduler.Resources{}))
		o := e.waitFor(id, "terminal", terminal(1))[0]
		if o.Status != scheduler.Done || !o.HasExit || o.ExitCode != 0 {
			t.Errorf("observation %+v, want done", o)
		}
	})

	t.Run("array with slot limit", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t)
		trace := filepath.Join(e.work, "trace")
		cmd := "echo start >> " + trace + "; sleep 0.2; echo end >> " + trace + "; exit $((LSB_JOBINDEX % 2))"
		j := e.job("e2e-arr", cmd, &scheduler.Array{First: 1, Last: 4, MaxConcurrent: 2}, scheduler.Resources{})
		id := e.submit(j)
		obs := e.waitFor(id, "terminal", terminal(4))
		for i, o := range obs {
			want := scheduler.Done
			if (i+1)%2 == 1 {
				want = scheduler.Failed
			}
			if !o.InArray || o.Index != i+1 || o.Status != want || o.Name != "e2e-arr" {
				t.Errorf("element %d: %+v, want %s", i+1, o, want)
			}
			if ex, ok := script.ReadExitFile(script.ExitFilePath(j.ScriptPath, id, i+1, true)); !ok || ex != (script.Exit{Code: (i + 1) % 2}) {
				t.Errorf("element %d exit file: %+v, %v", i+1, ex, ok)
			}
			if _, err := os.Stat(filepath.Join(e.work, "stdout."+id+"."+string(rune('1'+i))+".log")); err != nil {
				t.Errorf("element %d log: %v", i+1, err)
			}
		}
		b, _ := os.ReadFile(trace)
		n, peak := 0, 0
		for _, w := range strings.Fields(string(b)) {
			if w == "start" {
				n++
			} else {
				n--
			}
			peak = max(peak, n)
		}
		// Fewer than 2 at once is possible on a loaded machine; more never is.
		if peak < 1 || peak > 2 {
			t.Errorf("%d elements ran at once, want at most the slot limit 2", peak)
		}
	})

	cancelCases := []struct {
		name   string
		env    []string
		asDone bool
		want   scheduler.Status
	}{
		{"cancel", nil, false, scheduler.Killed},
		{"cancel as done", nil, true, scheduler.Done},
		// LSF 10.1.0: no -d; the job is killed (the engine records it done).
		{"cancel as done without -d", []string{"FAKELSF_NO_BKILL_D=1"}, true, scheduler.Killed},
	}
	for _, c := range cancelCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, c.env...)
			id := e.submit(e.job("e2e-long", "sleep 30", nil, scheduler.Resources{}))
			e.waitFor(id, "running", running)
			req := scheduler.CancelRequest{Targets: []scheduler.Target{{ID: id}}, AsDone: c.asDone}
			if err := e.s.Cancel(context.Background(), req); err != nil {
				t.Fatalf("Cancel: %v", err)
			}
			o := e.waitFor(id, "terminal", terminal(1))[0]
			if o.Status != c.want {
				t.Errorf("after cancel: %+v, want %s", o, c.want)
			}
			if c.want == scheduler.Killed && o.Reason != scheduler.ReasonCancelled {
				t.Errorf("reason %q, want cancelled", o.Reason)
			}
			// Cancelling again is not an error: the job has already finished.
			if err := e.s.Cancel(context.Background(), req); err != nil {
				t.Errorf("second Cancel: %v", err)
			}
		})
	}

	t.Run("cancel by name", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t)
		a := e.submit(e.job("e2e-cn-a", "sleep 30", nil, scheduler.Resources{}))
		b := e.submit(e.job("e2e-cn-b", "sleep 30", nil, scheduler.Resources{}))
		keep := e.submit(e.job("e2e-keep", "sleep 30", nil, scheduler.Resources{}))
		e.waitFor(b, "running", running)
		if err := e.s.CancelName(context.Background(), "e2e-cn-*", false); err != nil {
			t.Fatalf("CancelName: %v", err)
		}
		for _, id := range []string{a, b} {
			if o := e.waitFor(id, "terminal", terminal(1))[0]; o.Status != scheduler.Killed {
				t.Errorf("job %s: %+v, want killed", id, o)
			}
		}
		if o := e.waitFor(keep, "seen", func(o []scheduler.Observation) bool { return len(o) == 1 })[0]; o.Status.Terminal() {
			t.Errorf("a job outside the pattern was cancelled: %+v", o)
		}
		if err := e.s.CancelName(context.Background(), "e2e-none-*", false); err != nil {
			t.Errorf("CancelName without matches: %v", err)
		}
	})

	t.Run("aged out, found by accounting", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "FAKELSF_CLEAN_PERIOD=0")
		id := e.submit(e.job("e2e-aged", "exit 3", nil, scheduler.Resources{}))
		deadline := time.Now().Add(15 * time.Second)
		for {
			obs, err := e.s.Poll(context.Background(), scheduler.Query{Prefix: "e2e-"})
			if err != nil {
				t.Fatalf("Poll: %v", err)
			}
			acct, err := e.s.Account(context.Background(), []string{id})
			if err != nil {
				t.Fatalf("Account: %v", err)
			}
			if len(acct) == 1 && acct[0].Status.Terminal() {
				o := acct[0]
				if o.Status != scheduler.Failed || o.ExitCode != 3 || !o.HasExit || o.ID != id || o.Name != "e2e-aged" {
					t.Errorf("accounting says %+v, want failed with exit code 3", o)
				}
				for _, p := range obs {
					if p.ID == id && p.Status.Terminal() {
						t.Errorf("bjobs still lists the finished job with CLEAN_PERIOD=0: %+v", p)
					}
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("accounting never showed the end: %+v", acct)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if acct, err := e.s.Account(context.Background(), []string{"99999"}); err != nil || len(acct) != 0 {
			t.Errorf("Account of an unknown id = %+v, %v; want nothing and no error", acct, err)
		}
	})

	t.Run("submit failures", func(t *testing.T) {
		t.Parallel()
		e := newE2E(t, "FAKELSF_FAIL_NEXT_BSUB=1", "FAKELSF_LOSE_NEXT_BSUB=1")
		j := e.job("e2e-retry", "true", nil, scheduler.Resources{})
		// The first bsub fails without creating a job, the second creates
		// one and says nothing: both are transient, and the engine's
		// lookup by name before retrying finds the second.
		for i := range 2 {
			if _, err := e.s.Submit(context.Background(), j); !errors.Is(err, scheduler.ErrTransient) {
				t.Fatalf("bsub %d: err = %v, want transient", i+1, err)
			}
		}
		obs, err := e.s.Poll(context.Background(), scheduler.Query{Prefix: "e2e-retry"})
		if err != nil || len(obs) != 1 {
			t.Fatalf("Poll after a lost submission = %+v, %v; want the one job", obs, err)
		}
		e.submit(j)

		bad := e.job("e2e-badq", "true", nil, scheduler.Resources{Queue: "nosuch"})
		_, err = e.s.Submit(context.Background(), bad)
		var serr *scheduler.SubmitError
		if !errors.As(err, &serr) || errors.Is(err, scheduler.ErrTransient) || !strings.Contains(err.Error(), "nosuch: No such queue. Job not submitted.") {
			t.Errorf("unknown queue: %v, want a permanent SubmitError with LSF's message", err)
		}
	})
}

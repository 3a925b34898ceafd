// Package schedtest is the conformance suite of the scheduler contract:
// what the engine relies on from every scheduler package, checked against
// the real thing (the local executor, LSF through the fake, SLURM and Grid
// Engine started by scripts/). Each scheduler package runs it from a test:
//
//	func TestConformance(t *testing.T) {
//		schedtest.Run(t, schedtest.Target{New: func(t *testing.T) (scheduler.Scheduler, string) { ... }})
//	}
//
// It checks: a submitted job is listed by Poll, with the query's prefix and
// without one, and not under another prefix; it ends with its exit code, as
// the queue, the accounting or the exit file tell (done with no reason,
// failed with reason exit_code); an array is one
// observation per element; cancelling a job that ended is not an error;
// accounting answers only for jobs it knows.
package schedtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/proctest"
	"github.com/go-cluster-api/clusterapi/internal/script"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

// Target is the scheduler under test.
type Target struct {
	// New returns a scheduler for one subtest and a directory its jobs can
	// run in (on a file system the nodes share). It arranges its own
	// cleanup with t.Cleanup.
	New func(t *testing.T) (scheduler.Scheduler, string)
	// Timeout bounds each wait for a job; 0 = 2 minutes.
	Timeout time.Duration
}

// Run runs the suite.
func Run(t *testing.T, tg Target) {
	if tg.Timeout == 0 {
		tg.Timeout = 2 * time.Minute
	}
	t.Run("ends with its exit code", func(t *testing.T) {
		c := tg.start(t)
		j := c.job("exit3", "exit 3", nil)
		id := c.submit(j)
		o := c.final(id, j, 0, false)
		if o.Status != scheduler.Failed || o.Reason != scheduler.ReasonExitCode || !o.HasExit || o.ExitCode != 3 {
			t.Errorf("job %s ended %+v, want failed (exit_code) with exit code 3", id, o)
		}
	})
	t.Run("listed by prefix, not by another", func(t *testing.T) {
		c := tg.start(t)
		j := c.job("listed", "sleep 300", nil)
		id := c.submit(j)
		c.eventually("listed with its prefix", func() bool { return len(c.poll(c.prefix, id)) == 1 })
		if obs := c.poll("", id); len(obs) != 1 {
			t.Errorf("Poll without a prefix lists job %s %d times, want once", id, len(obs))
		}
		if obs := c.poll("zz-someone-else-", id); len(obs) != 0 {
			t.Errorf("Poll under another prefix lists job %s: %+v", id, obs)
		}
		if err := c.s.Cancel(context.Background(), scheduler.CancelRequest{Targets: []scheduler.Target{{ID: id}}}); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		if o := c.final(id, j, 0, false); o.Status != scheduler.Killed && o.Status != scheduler.Failed {
			t.Errorf("cancelled job %s ended %+v, want killed (or failed, where the scheduler says so)", id, o)
		}
	})
	t.Run("array is one observation per element", func(t *testing.T) {
		c := tg.start(t)
		arr := &scheduler.Array{First: 1, Last: 3}
		j := c.job("arr", "exit $((CAPI_ARRAY_INDEX == 2))", arr)
		id := c.submit(j)
		c.eventually("elements listed", func() bool {
			obs := c.poll(c.prefix, id)
			if len(obs) == 0 {
				return false
			}
			for _, o := range obs {
				if !o.InArray || o.Index < 1 || o.Index > 3 {
					t.Fatalf("array %s observed as %+v, want elements 1-3", id, o)
				}
			}
			return true
		})
		for i := 1; i <= 3; i++ {
			o := c.final(id, j, i, true)
			// A done job has no reason, on every scheduler.
			st, reason, exit := scheduler.Done, scheduler.ReasonNone, 0
			if i == 2 {
				st, reason, exit = scheduler.Failed, scheduler.ReasonExitCode, 1
			}
			if o.Status != st || o.Reason != reason || !o.HasExit || o.ExitCode != exit {
				t.Errorf("element %d ended %+v, want %s (reason %q) with exit code %d", i, o, st, reason, exit)
			}
		}
	})
	t.Run("cancel of an ended job is not an error", func(t *testing.T) {
		c := tg.start(t)
		j := c.job("quick", "true", nil)
		id := c.submit(j)
		c.final(id, j, 0, false)
		if err := c.s.Cancel(context.Background(), scheduler.CancelRequest{Targets: []scheduler.Target{{ID: id}}}); err != nil {
			t.Errorf("Cancel of ended job %s: %v, want nil", id, err)
		}
	})
	t.Run("accounting answers only for jobs it knows", func(t *testing.T) {
		c := tg.start(t)
		acc, ok := c.s.(scheduler.Accountant)
		if !ok {
			t.Skipf("%s keeps no accounting (not a scheduler.Accountant)", c.s.Name())
		}
		obs, err := acc.Account(context.Background(), []string{"987654321"})
		if err != nil || len(obs) != 0 {
			t.Errorf("Account of an unknown id = %+v, %v; want nothing and no error", obs, err)
		}
	})
}

// run is one subtest's scheduler, work dir and job-name prefix.
type run struct {
	t       *testing.T
	tg      Target
	s       scheduler.Scheduler
	dir     string
	prefix  string
	scripts int
}

func (tg Target) start(t *testing.T) *run {
	s, dir := tg.New(t)
	return &run{t: t, tg: tg, s: s, dir: dir, prefix: fmt.Sprintf("st%06d-", rand.IntN(1000000))}
}

// job renders and writes a job script the way the engine does.
func (c *run) job(name, command string, arr *scheduler.Array) *scheduler.Job {
	c.t.Helper()
	d := c.s.Dialect()
	c.scripts++
	j := &scheduler.Job{Name: c.prefix + name, Command: command, Array: arr, Resources: scheduler.Resources{WorkDir: c.dir},
		ScriptPath: filepath.Join(c.dir, fmt.Sprintf("%s%s.%d.sh", c.prefix, name, c.scripts)),
		StdoutPath: filepath.Join(c.dir, "stdout."+d.LogJobID+".log"),
		StderrPath: filepath.Join(c.dir, "stderr."+d.LogJobID+".log"),
	}
	if arr != nil {
		j.StdoutPath = filepath.Join(c.dir, "stdout."+d.LogArrayJobID+"."+d.LogIndex+".log")
		j.StderrPath = filepath.Join(c.dir, "stderr."+d.LogArrayJobID+"."+d.LogIndex+".log")
	}
	dirs, err := c.s.Directives(j)
	if err != nil {
		c.t.Fatal(err)
	}
	if j.Script, err = script.Render(script.Spec{Directives: dirs, ExitFileBase: script.ExitFileBase(j.ScriptPath),
		Dialect: d, Array: arr != nil, Command: command}); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(j.ScriptPath, j.Script, 0o700); err != nil {
		c.t.Fatal(err)
	}
	return j
}

func (c *run) submit(j *scheduler.Job) string {
	c.t.Helper()
	id, err := c.s.Submit(context.Background(), j)
	if err != nil {
		c.t.Fatalf("Submit %s: %v", j.Name, err)
	}
	if id == "" {
		c.t.Fatalf("Submit %s returned no id", j.Name)
	}
	return id
}

// poll returns the observations of job id under prefix.
func (c *run) poll(prefix, id string) []scheduler.Observation {
	c.t.Helper()
	all, err := c.s.Poll(context.Background(), scheduler.Query{Prefix: prefix})
	if err != nil {
		c.t.Fatalf("Poll(%q): %v", prefix, err)
	}
	var mine []scheduler.Observation
	for _, o := range all {
		if o.ID == id {
			mine = append(mine, o)
		}
	}
	return mine
}

func (c *run) eventually(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(c.tg.Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("never %s within %s", what, c.tg.Timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// final waits for the end of job id (element index of an array) as the
// engine learns it: from the queue, else from accounting, else from the
// exit file the script writes.
func (c *run) final(id string, j *scheduler.Job, index int, inArray bool) scheduler.Observation {
	c.t.Helper()
	var got scheduler.Observation
	c.eventually(fmt.Sprintf("the end of job %s[%d]", id, index), func() bool {
		seen := false
		for _, o := range c.poll(c.prefix, id) {
			if o.InArray == inArray && (!inArray || o.Index == index) {
				seen = true
				if o.Status.Terminal() {
					got = o
					return true
				}
			}
		}
		if seen {
			return false
		}
		if acc, ok := c.s.(scheduler.Accountant); ok {
			obs, err := acc.Account(context.Background(), []string{id})
			if err != nil {
				c.t.Fatalf("Account(%s): %v", id, err)
			}
			for _, o := range obs {
				if o.ID == id && o.InArray == inArray && (!inArray || o.Index == index) && o.Status.Terminal() {
					got = o
					return true
				}
			}
		}
		if ex, ok := script.ReadExitFile(script.ExitFilePath(j.ScriptPath, id, index, inArray)); ok {
			got = scheduler.Observation{ID: id, Index: index, InArray: inArray, Status: scheduler.Done, ExitCode: ex.Code, HasExit: true}
			if ex.Code != 0 {
				got.Status, got.Reason = scheduler.Failed, scheduler.ReasonExitCode
			}
			return true
		}
		return false
	})
	return got
}

// Dir is a work directory for a test's jobs, removed patiently after the
// test (proctest.TempDir): a cancelled job's scheduler processes may write
// its log and exit file for a few seconds more.
func Dir(t *testing.T) string { return proctest.TempDir(t) }

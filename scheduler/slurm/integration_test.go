//go:build integration

package slurm

// Integration tests against a real SLURM, e.g. the one-node cluster of
// scripts/slurm-up.sh:
//
//	scripts/slurm-up.sh && go test -tags integration ./scheduler/slurm/
//	SLURM_ACCOUNTING=1 SLURM_MIN_JOB_AGE=5 scripts/slurm-up.sh && go test -tags integration ./scheduler/slurm/
//
// They skip when sbatch is not on PATH, unless CAPI_REQUIRE_SLURM=1, which
// turns the skip into a failure (CI sets it so that a broken setup cannot
// pass silently). The time-limit test takes about a minute: SLURM rounds
// limits up to whole minutes.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/runner"
	"github.com/go-cluster-api/clusterapi/internal/script"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

// countingRunner counts the commands a scheduler runs, to check that a
// poll is one command.
type countingRunner struct {
	inner scheduler.Runner
	n     atomic.Int64
}

func (c *countingRunner) Run(ctx context.Context, cmd scheduler.Command) (scheduler.Result, error) {
	c.n.Add(1)
	return c.inner.Run(ctx, cmd)
}

type cluster struct {
	s      *Scheduler
	runner *countingRunner
	prefix string
	// accounting is true when sacct answers; minJobAge is how long
	// finished jobs stay in squeue.
	accounting bool
	minJobAge  time.Duration
}

func requireSlurm(t *testing.T) *cluster {
	t.Helper()
	if _, err := exec.LookPath("sbatch"); err != nil {
		msg := "sbatch is not on PATH; start a test cluster with scripts/slurm-up.sh (as root) to run the SLURM integration tests"
		if os.Getenv("CAPI_REQUIRE_SLURM") == "1" {
			t.Fatal(msg + " (CAPI_REQUIRE_SLURM=1 forbids skipping)")
		}
		t.Skip(msg)
	}
	r := &countingRunner{inner: &runner.Exec{Timeout: 60 * time.Second}}
	s, err := New(scheduler.Options{Runner: r})
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{s: s, runner: r, prefix: fmt.Sprintf("capi-it-%d-", os.Getpid())}
	out, err := exec.Command("scontrol", "show", "config").Output()
	if err != nil {
		t.Fatalf("scontrol show config: %v; is the cluster up (scripts/slurm-up.sh)?", err)
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch strings.TrimSpace(k) {
		case "MinJobAge":
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			c.minJobAge = time.Duration(n) * time.Second
		case "AccountingStorageType":
			c.accounting = strings.TrimSpace(v) != "accounting_storage/none"
		}
	}
	t.Logf("accounting=%v MinJobAge=%s", c.accounting, c.minJobAge)
	return c
}

// submission is a job submitted by a test.
type submission struct {
	id     string
	job    *scheduler.Job
	dir    string
	script string
}

// submit renders the script the way the engine does (directives, exit
// trap), writes it with script.Writer and submits it.
func (c *cluster) submit(t *testing.T, dir, name, command string, res scheduler.Resources, arr *scheduler.Array, extra ...string) submission {
	t.Helper()
	name = c.prefix + name
	res.WorkDir = dir
	job := &scheduler.Job{Name: name, Command: command, Resources: res, Array: arr, ExtraArgs: extra}
	job.StdoutPath = filepath.Join(dir, "stdout.%j.log")
	job.StderrPath = filepath.Join(dir, "stderr.%j.log")
	if arr != nil {
		job.StdoutPath = filepath.Join(dir, "stdout.%A.%a.log")
		job.StderrPath = filepath.Join(dir, "stderr.%A.%a.log")
	}
	lines, err := c.s.Directives(job)
	if err != nil {
		t.Fatal(err)
	}
	safe := script.SanitizeName(name)
	want := filepath.Join(dir, safe+".1.sh") // a fresh directory: the first counter
	body, err := script.Render(script.Spec{
		Directives:   lines,
		ExitFileBase: script.ExitFileBase(want),
		Dialect:      c.s.Dialect(),
		Array:        arr != nil,
		Command:      command,
	})
	if err != nil {
		t.Fatal(err)
	}
	var w script.Writer
	path, err := w.Write(dir, safe, body)
	if err != nil {
		t.Fatal(err)
	}
	if path != want {
		t.Fatalf("script written to %s, expected %s", path, want)
	}
	job.ScriptPath, job.Script = path, body
	id, err := c.s.Submit(context.Background(), job)
	if err != nil {
		t.Fatalf("Submit: %v\nscript:\n%s", err, body)
	}
	t.Logf("submitted %s as job %s", name, id)
	t.Cleanup(func() {
		// A failed test must not leave jobs behind on the cluster.
		_ = c.s.Cancel(context.Background(), scheduler.CancelRequest{Targets: []scheduler.Target{{ID: id}}})
	})
	return submission{id: id, job: job, dir: dir, script: path}
}

// keyOf names a job or element in maps: -1 for a plain job.
func keyOf(o scheduler.Observation) int {
	if o.InArray {
		return o.Index
	}
	return -1
}

// wait polls until the job (every index in indices, or the plain job when
// indices is nil) is terminal. What leaves squeue before it was seen
// terminal is looked up as the engine would: accounting, then the exit
// file. every is called with each poll's observations of this job.
func (c *cluster) wait(t *testing.T, sub submission, indices []int, limit time.Duration, every func([]scheduler.Observation)) map[int]scheduler.Observation {
	t.Helper()
	keys := indices
	if keys == nil {
		keys = []int{-1}
	}
	final := map[int]scheduler.Observation{}
	last := map[int]scheduler.Observation{}
	ctx := context.Background()
	deadline := time.Now().Add(limit)
	for {
		before := c.runner.n.Load()
		obs, err := c.s.Poll(ctx, scheduler.Query{Prefix: sub.job.Name})
		if err != nil {
			// A busy or restarting controller is not the job's fault;
			// the engine keeps polling too.
			t.Logf("Poll: %v", err)
			if time.Now().After(deadline) {
				t.Fatalf("job %s: polls still failing after %s", sub.id, limit)
			}
			time.Sleep(time.Second)
			continue
		}
		if n := c.runner.n.Load() - before; n != 1 {
			t.Errorf("a poll ran %d commands, want 1", n)
		}
		var mine []scheduler.Observation
		seen := map[int]bool{}
		for _, o := range obs {
			if o.ID != sub.id {
				continue
			}
			mine = append(mine, o)
			k := keyOf(o)
			seen[k] = true
			last[k] = o
			if o.Status.Terminal() {
				if _, done := final[k]; !done {
					final[k] = o
				}
			}
		}
		if every != nil {
			every(mine)
		}
		var missing []int
		for _, k := range keys {
			if _, done := final[k]; !done && !seen[k] {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			c.resolveMissing(t, sub, missing, final)
		}
		if len(final) == len(keys) {
			for _, k := range keys {
				t.Logf("job %s element %d: %s, %s", sub.id, k, final[k].Status, final[k].Detail)
			}
			return final
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s not terminal after %s; last seen: %+v; final: %+v", sub.id, limit, last, final)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (c *cluster) resolveMissing(t *testing.T, sub submission, missing []int, final map[int]scheduler.Observation) {
	t.Helper()
	acct, err := c.s.Account(context.Background(), []string{sub.id})
	if err != nil {
		t.Fatalf("Account: %v", err)
	}
	for _, o := range acct {
		if o.ID == sub.id && o.Status.Terminal() {
			if _, done := final[keyOf(o)]; !done {
				final[keyOf(o)] = o
			}
		}
	}
	for _, k := range missing {
		if _, done := final[k]; done {
			continue
		}
		ex, ok := script.ReadExitFile(script.ExitFilePath(sub.script, sub.id, k, k >= 0))
		if !ok {
			continue
		}
		o := scheduler.Observation{ID: sub.id, Index: k, InArray: k >= 0, ExitCode: ex.Code, HasExit: true,
			Status: scheduler.Done, Detail: "from the exit file"}
		switch {
		case ex.Signal != 0: // scancel or the time limit: SIGTERM to the job's shell
			o.Status, o.Reason = scheduler.Killed, scheduler.ReasonCancelled
		case ex.Code != 0:
			o.Status, o.Reason = scheduler.Failed, scheduler.ReasonExitCode
		}
		final[k] = o
	}
}

// waitStatus polls until the plain job shows status st.
func (c *cluster) waitStatus(t *testing.T, sub submission, st scheduler.Status, limit time.Duration) scheduler.Observation {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		obs, err := c.s.Poll(context.Background(), scheduler.Query{Prefix: sub.job.Name})
		if err != nil {
			t.Logf("Poll: %v", err)
		}
		for _, o := range obs {
			if o.ID == sub.id && o.Status == st {
				return o
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s not %s after %s: %+v", sub.id, st, limit, obs)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// oddDir is a work directory whose name needs every kind of quoting.
func oddDir(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), `my "runs" it's $HOME #1`)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func checkExitFile(t *testing.T, sub submission, index int, want int) {
	t.Helper()
	path := script.ExitFilePath(sub.script, sub.id, index, index >= 0)
	ex, ok := script.ReadExitFile(path)
	if !ok || ex.Code != want {
		t.Errorf("exit file %s: %+v, %v; want exit status %d", path, ex, ok, want)
	}
}

func TestIntegrationDone(t *testing.T) {
	t.Parallel()
	c := requireSlurm(t)
	dir := oddDir(t)
	sub := c.submit(t, dir, "done", `echo "hello from $SLURM_JOB_ID in $(pwd)"`,
		scheduler.Resources{CPUs: 1, Memory: 100 * scheduler.MB, Walltime: 10 * time.Minute}, nil)
	got := c.wait(t, sub, nil, 2*time.Minute, nil)[-1]
	if got.Status != scheduler.Done || got.Reason != scheduler.ReasonNone || !got.HasExit || got.ExitCode != 0 {
		t.Errorf("got %+v, want done with exit 0", got)
	}
	checkExitFile(t, sub, -1, 0)
	log, err := os.ReadFile(filepath.Join(dir, "stdout."+sub.id+".log"))
	if err != nil {
		t.Fatalf("stdout log in the quoted work dir: %v", err)
	}
	if want := fmt.Sprintf("hello from %s in %s\n", sub.id, dir); string(log) != want {
		t.Errorf("stdout log = %q, want %q", log, want)
	}
}

func TestIntegrationExit3(t *testing.T) {
	t.Parallel()
	c := requireSlurm(t)
	sub := c.submit(t, t.TempDir(), "exit3", "exit 3", scheduler.Resources{}, nil)
	got := c.wait(t, sub, nil, 2*time.Minute, nil)[-1]
	if got.Status != scheduler.Failed || got.Reason != scheduler.ReasonExitCode || !got.HasExit || got.ExitCode != 3 {
		t.Errorf("got %+v, want failed, exit_code, exit 3", got)
	}
	checkExitFile(t, sub, -1, 3)
}

func TestIntegrationCancelRunning(t *testing.T) {
	t.Parallel()
	c := requireSlurm(t)
	sub := c.submit(t, t.TempDir(), "cancelrun", "sleep 300", scheduler.Resources{}, nil)
	c.waitStatus(t, sub, scheduler.Running, 2*time.Minute)
	if err := c.s.Cancel(context.Background(), scheduler.CancelRequest{Targets: []scheduler.Target{{ID: sub.id}}}); err != nil {
		t.Fatal(err)
	}
	got := c.wait(t, sub, nil, time.Minute, nil)[-1]
	if got.Status != scheduler.Killed || got.Reason != scheduler.ReasonCancelled {
		t.Errorf("got %+v, want killed, cancelled", got)
	}
	// Cancelling again, now that it ended, is not an error.
	if err := c.s.Cancel(context.Background(), scheduler.CancelRequest{Targets: []scheduler.Target{{ID: sub.id}}}); err != nil {
		t.Errorf("second cancel: %v", err)
	}
}

func TestIntegrationCancelPending(t *testing.T) {
	t.Parallel()
	c := requireSlurm(t)
	// --begin keeps it pending; it also checks that extra args reach sbatch.
	sub := c.submit(t, t.TempDir(), "cancelpend", "true", scheduler.Resources{}, nil, "--begin=now+3600")
	p := c.waitStatus(t, sub, scheduler.Pending, time.Minute)
	if !strings.Contains(p.Detail, "BeginTime") {
		t.Errorf("pending detail %q does not say BeginTime", p.Detail)
	}
	if err := c.s.Cancel(context.Background(), scheduler.CancelRequest{Targets: []scheduler.Target{{ID: sub.id}}}); err != nil {
		t.Fatal(err)
	}
	got := c.wait(t, sub, nil, time.Minute, nil)[-1]
	if got.Status != scheduler.Killed || got.Reason != scheduler.ReasonCancelled || got.Host != "" || !got.StartTime.IsZero() {
		t.Errorf("got %+v, want killed, cancelled, never started", got)
	}
}

func TestIntegrationArrayThrottle(t *testing.T) {
	t.Parallel()
	c := requireSlurm(t)
	dir := t.TempDir()
	arr := &scheduler.Array{First: 1, Last: 5, MaxConcurrent: 2}
	sub := c.submit(t, dir, "array", `echo "index $CAPI_ARRAY_INDEX"; sleep 2; [ "$SLURM_ARRAY_TASK_ID" != 4 ] || exit 4`,
		scheduler.Resources{}, arr)
	maxRunning := 0
	got := c.wait(t, sub, []int{1, 2, 3, 4, 5}, 3*time.Minute, func(obs []scheduler.Observation) {
		running := 0
		for _, o := range obs {
			if !o.InArray {
				t.Errorf("array observation without index: %+v", o)
			}
			// An element in COMPLETING (epilog) is "running" for capi but
			// no longer counts against SLURM's throttle.
			if o.Status == scheduler.Running && strings.HasPrefix(o.Detail, "RUNNING") {
				running++
			}
		}
		maxRunning = max(maxRunning, running)
	})
	if maxRunning > 2 {
		t.Errorf("saw %d elements running at once, throttle is 2", maxRunning)
	}
	if maxRunning == 0 {
		t.Error("never saw an element running")
	}
	for i := 1; i <= 5; i++ {
		o := got[i]
		want, code := scheduler.Done, 0
		if i == 4 {
			want, code = scheduler.Failed, 4
		}
		if o.Status != want || !o.HasExit || o.ExitCode != code {
			t.Errorf("element %d: %+v, want %s exit %d", i, o, want, code)
		}
		checkExitFile(t, sub, i, code)
		log, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("stdout.%s.%d.log", sub.id, i)))
		if err != nil || string(log) != fmt.Sprintf("index %d\n", i) {
			t.Errorf("element %d log: %q, %v", i, log, err)
		}
	}
}

func TestIntegrationAccount(t *testing.T) {
	t.Parallel()
	c := requireSlurm(t)
	if !c.accounting {
		obs, err := c.s.Account(context.Background(), []string{"1"})
		if obs != nil || err != nil {
			t.Fatalf("Account without accounting = %v, %v; want nil, nil", obs, err)
		}
		before := c.runner.n.Load()
		if obs, err := c.s.Account(context.Background(), []string{"2"}); obs != nil || err != nil {
			t.Errorf("second Account = %v, %v", obs, err)
		}
		if n := c.runner.n.Load() - before; n != 0 {
			t.Errorf("second Account ran %d commands; the answer should be cached", n)
		}
		return
	}
	sub := c.submit(t, t.TempDir(), "acct", "exit 5", scheduler.Resources{}, nil)
	c.wait(t, sub, nil, 2*time.Minute, nil)
	if c.minJobAge <= 30*time.Second {
		// Wait for the job to leave squeue, so Account is what it is for.
		deadline := time.Now().Add(c.minJobAge + 30*time.Second)
		for {
			obs, err := c.s.Poll(context.Background(), scheduler.Query{Prefix: sub.job.Name})
			if err != nil {
				t.Fatal(err)
			}
			if len(obs) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s still in squeue %s after it ended (MinJobAge %s)", sub.id, c.minJobAge+30*time.Second, c.minJobAge)
			}
			time.Sleep(time.Second)
		}
	} else {
		t.Logf("MinJobAge %s is long: asking sacct while the job is still in squeue (start the cluster with SLURM_MIN_JOB_AGE=5 to test the real case)", c.minJobAge)
	}
	// slurmdbd may lag the job's end by a moment and show a stale state;
	// the engine would just ask again at its next poll.
	var o scheduler.Observation
	for deadline := time.Now().Add(30 * time.Second); ; {
		obs, err := c.s.Account(context.Background(), []string{sub.id})
		if err != nil {
			t.Fatal(err)
		}
		if len(obs) > 1 {
			t.Fatalf("Account = %+v, want one observation", obs)
		}
		if len(obs) == 1 && obs[0].Status.Terminal() {
			o = obs[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Account = %+v 30 s after the job ended, want it terminal", obs)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// Right after the job ended slurmdbd may not know its name yet.
	if o.ID != sub.id || (o.Name != sub.job.Name && o.Name != "") || o.Status != scheduler.Failed || o.Reason != scheduler.ReasonExitCode ||
		!o.HasExit || o.ExitCode != 5 || o.Host == "" || o.StartTime.IsZero() || o.FinishTime.IsZero() {
		t.Errorf("Account = %+v, want failed, exit 5, with host and times", o)
	}
	if obs, err := c.s.Account(context.Background(), []string{"999999"}); err != nil || len(obs) != 0 {
		t.Errorf("Account(unknown id) = %v, %v; want nothing", obs, err)
	}
}

func TestIntegrationTimeout(t *testing.T) {
	t.Parallel()
	c := requireSlurm(t)
	// SLURM rounds the limit up to a minute and kills about 62 s in.
	sub := c.submit(t, t.TempDir(), "timeout", "sleep 300", scheduler.Resources{Walltime: 5 * time.Second}, nil)
	got := c.wait(t, sub, nil, 4*time.Minute, nil)[-1]
	if got.Status != scheduler.Failed || got.Reason != scheduler.ReasonTimeout {
		t.Errorf("got %+v, want failed, timeout", got)
	}
}

func TestIntegrationRefusal(t *testing.T) {
	t.Parallel()
	c := requireSlurm(t)
	dir := t.TempDir()
	job := &scheduler.Job{Name: c.prefix + "refused", Resources: scheduler.Resources{Queue: "nosuch", WorkDir: dir}}
	lines, err := c.s.Directives(job)
	if err != nil {
		t.Fatal(err)
	}
	body, err := script.Render(script.Spec{Directives: lines, Command: "true"})
	if err != nil {
		t.Fatal(err)
	}
	var w script.Writer
	if job.ScriptPath, err = w.Write(dir, "refused", body); err != nil {
		t.Fatal(err)
	}
	_, err = c.s.Submit(context.Background(), job)
	var serr *scheduler.SubmitError
	if !errors.As(err, &serr) || !strings.Contains(serr.Output, "Invalid partition name specified") {
		t.Errorf("Submit to a missing partition: %v; want a SubmitError with SLURM's message", err)
	}
}

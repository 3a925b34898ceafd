package integration

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	capi "github.com/go-cluster-api/clusterapi"
	"github.com/go-cluster-api/clusterapi/internal/proctest"
	"github.com/go-cluster-api/clusterapi/internal/runner"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

// target is one scheduler the suite runs against.
type target struct {
	executor string
	// runner, when set, runs the scheduler's commands (the fake LSF).
	runner scheduler.Runner
	// holdArgs make a submission stay pending until cancelled.
	holdArgs []string
	// config adds site settings (queue, lsf_units, ...).
	config func(*capi.Config)
	// timeout bounds each wait for a job.
	timeout time.Duration
	// ageOut is how long a finished job stays in the live queue (SLURM
	// MinJobAge, LSF CLEAN_PERIOD); tests that need it gone wait this long.
	ageOut time.Duration
	// cancel is the scheduler's own command that cancels job id (bkill,
	// scancel, qdel), run as a user would, with no capi process running.
	cancel func(id string) []string
	// signalsFirst: the scheduler's cancel signals the job before killing
	// it, so the job's shell writes an exit file (not Grid Engine's qdel,
	// which sends SIGKILL at once).
	signalsFirst bool
	// listed, when set, is a command whose output names job id while the
	// live queue still lists it (SLURM purges finished jobs only some time
	// after MinJobAge); tests that need a job gone poll it, not ageOut.
	listed func(id string) []string
}

// waitGone waits until the live queue no longer lists job id.
func (tg target) waitGone(t *testing.T, id string) {
	t.Helper()
	if tg.listed == nil {
		time.Sleep(tg.ageOut)
		return
	}
	run := tg.runner
	if run == nil {
		run = &runner.Exec{Timeout: 30 * time.Second}
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		res, _ := run.Run(context.Background(), scheduler.Command{Argv: tg.listed(id)})
		if !strings.Contains(string(res.Stdout), id) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still in the live queue after 3 minutes\n%s", id, tg.diagnose(id))
		}
		time.Sleep(time.Second)
	}
}

func (tg target) newExecutor(t *testing.T, stateDir string, inMemory bool) *capi.Executor {
	t.Helper()
	cfg := capi.Config{
		Executor:      tg.executor,
		StateDir:      stateDir,
		JobNamePrefix: "capit",
		PollInterval:  500 * time.Millisecond,
		InMemory:      inMemory,
	}
	if tg.config != nil {
		tg.config(&cfg)
	}
	ex, err := capi.New(cfg, &capi.Options{Runner: tg.runner})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ex.Close() })
	return ex
}

// monitored starts a fast monitor for the test's duration.
func monitored(t *testing.T, ex *capi.Executor) *capi.Monitor {
	m := capi.NewMonitor(ex, &capi.MonitorOptions{Interval: 500 * time.Millisecond})
	m.Start()
	t.Cleanup(m.Stop)
	return m
}

// jobDir is a state and work directory for a test's jobs, removed
// patiently after the test (proctest.TempDir).
func jobDir(t *testing.T) string { return proctest.TempDir(t) }

// reopenAndWait is a new process picking up a job: a new executor on the
// same state dir reconnects, finds the job and follows it to its end.
func (tg target) reopenAndWait(t *testing.T, stateDir, id string) capi.Record {
	t.Helper()
	ex := tg.newExecutor(t, stateDir, false)
	if _, err := ex.Reconnect(context.Background()); err != nil {
		t.Fatal(err)
	}
	monitored(t, ex)
	j, err := ex.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tg.wait(t, j)
}

func (tg target) wait(t *testing.T, j *capi.Job) capi.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), tg.timeout)
	defer cancel()
	r, err := j.Wait(ctx)
	if err != nil {
		t.Fatalf("job %s not terminal after %s: %+v\n%s", j.ID(), tg.timeout, r, tg.diagnose(j.ID()))
	}
	return r
}

// waitExitFile waits until job j's script has written its exit file.
func (tg target) waitExitFile(t *testing.T, j *capi.Job) {
	t.Helper()
	script := j.Snapshot().ScriptPath
	tg.waitFor(t, "exit file", j.ID(), func() bool {
		matches, _ := filepath.Glob(strings.TrimSuffix(script, ".sh") + ".*.exit")
		return len(matches) > 0
	})
}

// waitFor polls cond, which is about job id, until it holds or the
// target's timeout passes.
func (tg target) waitFor(t *testing.T, what, id string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(tg.timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s of job %s\n%s", what, id, tg.diagnose(id))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// maxOverlap reads start/end times written by array elements and returns
// the largest number that ran at the same time.
func maxOverlap(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	type edge struct {
		at    int64
		delta int
	}
	var edges []edge
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(b))
		if len(f) != 2 {
			t.Fatalf("element %s recorded %q, want start and end", e.Name(), b)
		}
		start, _ := strconv.ParseInt(f[0], 10, 64)
		end, _ := strconv.ParseInt(f[1], 10, 64)
		edges = append(edges, edge{start, 1}, edge{end, -1})
	}
	sort.Slice(edges, func(a, b int) bool {
		if edges[a].at != edges[b].at {
			return edges[a].at < edges[b].at
		}
		return edges[a].delta < edges[b].delta // an end before a start at the same instant
	})
	cur, most := 0, 0
	for _, e := range edges {
		cur += e.delta
		most = max(most, cur)
	}
	return most
}

func exitOf(r capi.Record) int {
	if r.ExitCode == nil {
		return -1
	}
	return *r.ExitCode
}

// runSuite is the conformance suite every scheduler passes through the
// engine.
func runSuite(t *testing.T, tg target) {
	if tg.timeout == 0 {
		tg.timeout = 2 * time.Minute
	}
	t.Run("success", func(t *testing.T) {
		dir := jobDir(t)
		ex := tg.newExecutor(t, dir, false)
		monitored(t, ex)
		j, err := ex.Submit(context.Background(), capi.JobSpec{Name: "ok", Command: "echo hello from $CAPI_TEST", Env: map[string]string{"CAPI_TEST": "capi"}, Resources: capi.Resources{WorkDir: dir}})
		if err != nil {
			t.Fatal(err)
		}
		r := tg.wait(t, j)
		if r.Status != capi.Done || exitOf(r) != 0 {
			t.Fatalf("status %s exit %d reason %s (%s), want done 0", r.Status, exitOf(r), r.Reason, r.Detail)
		}
		tg.waitFor(t, "stdout log", r.ID, func() bool {
			b, _ := os.ReadFile(r.StdoutPath)
			return strings.Contains(string(b), "hello from capi")
		})
		if r.Name != "capit-ok" {
			t.Errorf("name %q, want the prefix applied", r.Name)
		}
	})
	t.Run("job-shell-reads-no-dotfiles", func(t *testing.T) {
		// A job's shell must not be a login shell, and must not be told to
		// read a startup file (BASH_ENV): a host's dotfiles (root's
		// ~/.bashrc running pyenv init on our machines) then run in every
		// job, and once made each one take a minute.
		dir := jobDir(t)
		ex := tg.newExecutor(t, dir, false)
		monitored(t, ex)
		j, err := ex.Submit(context.Background(), capi.JobSpec{Name: "shell",
			Command:   `if shopt -q login_shell; then echo "login shell: yes"; else echo "login shell: no"; fi; echo "BASH_ENV: ${BASH_ENV-unset}"; echo "ENV: ${ENV-unset}"`,
			Resources: capi.Resources{WorkDir: dir}})
		if err != nil {
			t.Fatal(err)
		}
		r := tg.wait(t, j)
		if r.Status != capi.Done {
			t.Fatalf("status %s exit %d (%s), want done", r.Status, exitOf(r), r.Detail)
		}
		want := "login shell: no\nBASH_ENV: unset\nENV: unset"
		var got string
		tg.waitFor(t, "stdout log", r.ID, func() bool {
			b, _ := os.ReadFile(r.StdoutPath)
			got = strings.TrimSpace(string(b))
			return strings.Count(got, "\n") >= 2
		})
		if !strings.HasSuffix(got, want) {
			t.Errorf("the job's shell says\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("exit-3", func(t *testing.T) {
		dir := jobDir(t)
		ex := tg.newExecutor(t, dir, false)
		monitored(t, ex)
		j, err := ex.Submit(context.Background(), capi.JobSpec{Name: "fail", Command: "exit 3", Resources: capi.Resources{WorkDir: dir}})
		if err != nil {
			t.Fatal(err)
		}
		r := tg.wait(t, j)
		if r.Status != capi.Failed || r.Reason != capi.ReasonExitCode || exitOf(r) != 3 {
			t.Fatalf("status %s reason %s exit %d (%s), want failed exit_code 3", r.Status, r.Reason, exitOf(r), r.Detail)
		}
	})
	t.Run("array-throttled", func(t *testing.T) {
		dir := jobDir(t)
		ex := tg.newExecutor(t, dir, false)
		monitored(t, ex)
		// Each element records when it ran, so the limit is checked on what
		// really ran, not on the engine's (poll-delayed) view.
		spans := filepath.Join(dir, "spans")
		if err := os.Mkdir(spans, 0o755); err != nil {
			t.Fatal(err)
		}
		j, err := ex.SubmitArray(context.Background(),
			capi.JobSpec{Name: "arr", Env: map[string]string{"SPANS": spans},
				Command:   `echo "$(date +%s%N)" > "$SPANS/$CAPI_ARRAY_INDEX"; sleep 1; echo "$(date +%s%N)" >> "$SPANS/$CAPI_ARRAY_INDEX"; exit $((CAPI_ARRAY_INDEX % 3 == 0))`,
				Resources: capi.Resources{WorkDir: dir}},
			capi.Array{First: 1, Last: 6, MaxConcurrent: 2})
		if err != nil {
			t.Fatal(err)
		}
		r := tg.wait(t, j)
		if n := maxOverlap(t, spans); n > 2 {
			t.Errorf("%d elements ran at once, limit 2", n)
		}
		if r.Status != capi.Failed || r.Array.Counts.Done != 4 || r.Array.Counts.Failed != 2 {
			t.Fatalf("array %s counts %+v, want failed with 4 done 2 failed", r.Status, r.Array.Counts)
		}
		if got := r.Array.FailedIndices; len(got) != 2 || got[0] != 3 || got[1] != 6 {
			t.Errorf("failed indices %v, want [3 6]", got)
		}
		for _, el := range r.Array.Elements {
			if want := map[bool]int{true: 1, false: 0}[el.Index%3 == 0]; exitOf(capi.Record{ExitCode: el.ExitCode}) != want {
				t.Errorf("element %d exit %v, want %d", el.Index, el.ExitCode, want)
			}
		}
	})
	t.Run("cancel-running", func(t *testing.T) {
		dir := jobDir(t)
		ex := tg.newExecutor(t, dir, false)
		monitored(t, ex)
		j, err := ex.Submit(context.Background(), capi.JobSpec{Name: "long", Command: "sleep 300", Resources: capi.Resources{WorkDir: dir}})
		if err != nil {
			t.Fatal(err)
		}
		tg.waitFor(t, "job running", j.ID(), func() bool { return j.Snapshot().Status == capi.Running })
		if err := ex.Cancel(context.Background(), j.ID(), nil); err != nil {
			t.Fatal(err)
		}
		r := tg.wait(t, j)
		if r.Status != capi.Killed || r.Reason != capi.ReasonCancelled {
			t.Fatalf("status %s reason %s, want killed cancelled", r.Status, r.Reason)
		}
		if err := ex.Cancel(context.Background(), j.ID(), nil); err != nil {
			t.Errorf("cancelling a finished job: %v, want nil", err)
		}
	})
	if tg.holdArgs != nil {
		t.Run("cancel-pending-as-done", func(t *testing.T) {
			dir := jobDir(t)
			ex := tg.newExecutor(t, dir, false)
			monitored(t, ex)
			j, err := ex.Submit(context.Background(), capi.JobSpec{Name: "held", Command: "true", Resources: capi.Resources{WorkDir: dir, ExtraArgs: tg.holdArgs}})
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second) // let the scheduler list it
			if s := j.Snapshot().Status; s != capi.Pending {
				t.Fatalf("held job is %s, want pending", s)
			}
			if err := ex.Cancel(context.Background(), j.ID(), &capi.CancelOptions{AsDone: true}); err != nil {
				t.Fatal(err)
			}
			r := tg.wait(t, j)
			if r.Status != capi.Done || r.Reason != capi.ReasonCancelled {
				t.Fatalf("status %s reason %s, want done (cancelled as done)", r.Status, r.Reason)
			}
		})
	}
	t.Run("reconnect-from-store", func(t *testing.T) {
		dir := jobDir(t)
		first := tg.newExecutor(t, dir, false)
		j, err := first.Submit(context.Background(), capi.JobSpec{Name: "rc", Command: "sleep 2; exit 4", Metadata: map[string]string{"sample": "S1"}, Resources: capi.Resources{WorkDir: dir, CPUs: 1}})
		if err != nil {
			t.Fatal(err)
		}
		first.Close()
		r := tg.reopenAndWait(t, dir, j.ID())
		if r.Status != capi.Failed || exitOf(r) != 4 {
			t.Fatalf("status %s exit %d (%s), want failed 4", r.Status, exitOf(r), r.Detail)
		}
		if r.Command != "sleep 2; exit 4" || r.Metadata["sample"] != "S1" || r.Resources.CPUs != 1 {
			t.Errorf("restored record lost data: command %q metadata %v resources %+v", r.Command, r.Metadata, r.Resources)
		}
	})
	t.Run("reconnect-by-prefix-without-store", func(t *testing.T) {
		dir := jobDir(t)
		first := tg.newExecutor(t, dir, true)
		j, err := first.SubmitArray(context.Background(), capi.JobSpec{Name: "rcp", Command: "sleep 1", Resources: capi.Resources{WorkDir: dir}}, capi.Array{First: 1, Last: 3})
		if err != nil {
			t.Fatal(err)
		}
		first.Close()
		second := tg.newExecutor(t, dir, true)
		jobs, err := second.Reconnect(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var found *capi.Job
		for _, x := range jobs {
			if x.ID() == j.ID() {
				found = x
			}
		}
		if found == nil {
			t.Fatalf("reconnect did not find job %s among %d jobs", j.ID(), len(jobs))
		}
		monitored(t, second)
		r := tg.wait(t, found)
		if r.Status != capi.Done || r.Array == nil || r.Array.Counts.Done != 3 {
			t.Fatalf("status %s array %+v, want done with 3 elements", r.Status, r.Array)
		}
	})
	t.Run("finished-while-nobody-watched", func(t *testing.T) {
		// The job ends while no process polls; by the time one does, the
		// live queue may have forgotten it (SLURM MinJobAge, LSF
		// CLEAN_PERIOD, Grid Engine at once). Accounting or the exit file
		// must still give the right result.
		dir := jobDir(t)
		first := tg.newExecutor(t, dir, false)
		j, err := first.Submit(context.Background(), capi.JobSpec{Name: "quiet", Command: "exit 5", Resources: capi.Resources{WorkDir: dir}})
		if err != nil {
			t.Fatal(err)
		}
		first.Close()
		tg.waitExitFile(t, j)
		time.Sleep(tg.ageOut)
		r := tg.reopenAndWait(t, dir, j.ID())
		if r.Status != capi.Failed || exitOf(r) != 5 {
			t.Fatalf("status %s exit %d (%s), want failed 5", r.Status, exitOf(r), r.Detail)
		}
	})
	if tg.cancel != nil {
		t.Run("cancelled-by-the-scheduler-while-nobody-watched", func(t *testing.T) {
			tg.cancelledWhileNobodyWatched(t)
		})
	}
	t.Run("bad-queue-is-a-clear-submit-error", func(t *testing.T) {
		if tg.executor == "local" {
			t.Skip("the local executor has no queues")
		}
		dir := jobDir(t)
		ex := tg.newExecutor(t, dir, false)
		_, err := ex.Submit(context.Background(), capi.JobSpec{Name: "badq", Command: "true", Resources: capi.Resources{WorkDir: dir, Queue: "nosuchqueue"}})
		var se *capi.SubmitError
		if !errors.As(err, &se) {
			t.Fatalf("err = %v, want *SubmitError", err)
		}
		if !strings.Contains(err.Error(), "nosuchqueue") && !strings.Contains(strings.ToLower(err.Error()), "queue") && !strings.Contains(strings.ToLower(err.Error()), "partition") {
			t.Errorf("error %q does not carry the scheduler's message about the queue", err)
		}
		// The refusal stays in the history as failed/submit_failed with the
		// scheduler's words, and no job id: nothing was half-submitted.
		list, err := ex.List(context.Background(), capi.ListFilter{Name: "capit-badq"})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].ID != "" || list[0].Status != capi.Failed || list[0].Reason != capi.ReasonSubmitFailed {
			t.Errorf("history of the refused submission: %+v, want one failed/submit_failed record without id", list)
		}
	})
}

// cancelledWhileNobodyWatched: a job cancelled with the scheduler's own
// command while no capi process runs, read by a new process after it left
// the live queue, is killed/cancelled, not the program's own failure:
// accounting says so where there is one, else the exit file records the
// signal the job's shell caught.
func (tg target) cancelledWhileNobodyWatched(t *testing.T) {
	t.Helper()
	dir := jobDir(t)
	first := tg.newExecutor(t, dir, false)
	j, err := first.Submit(context.Background(), capi.JobSpec{Name: "ext-cancel", Command: `touch "started.$CAPI_TEST_TAG"; sleep 300`,
		Env: map[string]string{"CAPI_TEST_TAG": "x"}, Resources: capi.Resources{WorkDir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	first.Close()
	tg.waitFor(t, "the job to start", j.ID(), func() bool {
		_, err := os.Stat(filepath.Join(dir, "started.x"))
		return err == nil
	})
	run := tg.runner
	if run == nil {
		run = &runner.Exec{Timeout: 30 * time.Second}
	}
	argv := tg.cancel(j.ID())
	if _, err := run.Run(context.Background(), scheduler.Command{Argv: argv}); err != nil {
		t.Fatalf("%v: %v", argv, err)
	}
	if tg.signalsFirst {
		tg.waitExitFile(t, j)
	}
	tg.waitGone(t, j.ID())
	r := tg.reopenAndWait(t, dir, j.ID())
	if r.Status != capi.Killed || r.Reason != capi.ReasonCancelled {
		t.Fatalf("after %s: status %s reason %s exit %d (%s), want killed/cancelled", strings.Join(argv, " "), r.Status, r.Reason, exitOf(r), r.Detail)
	}
}

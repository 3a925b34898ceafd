//go:build integration

package sge

// Integration tests against a real Grid Engine: scripts/sge-up.sh, then
// go test -tags integration ./scheduler/sge/. They skip when qsub is not on
// PATH, unless CAPI_REQUIRE_SGE=1, which makes a missing cluster a failure
// (CI sets it so a broken setup cannot pass as skipped).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/runner"
	"github.com/go-cluster-api/clusterapi/internal/script"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

func realScheduler(t *testing.T) *Scheduler {
	t.Helper()
	if _, err := exec.LookPath("qsub"); err != nil {
		msg := "qsub is not on PATH: start Grid Engine with scripts/sge-up.sh (as root) to run these tests"
		if os.Getenv("CAPI_REQUIRE_SGE") == "1" {
			t.Fatal(msg + " (CAPI_REQUIRE_SGE=1 forbids skipping)")
		}
		t.Skip(msg)
	}
	s, err := New(scheduler.Options{Runner: &runner.Exec{Timeout: 60 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("qstat: %s (env %v)", s.cmds.qstat, s.cmds.env)
	return s
}

// itJob is a job submitted by a test, with what the engine would keep.
type itJob struct {
	id     string
	name   string
	job    *scheduler.Job
	script string
}

var runID = func() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}()

// submit does what the engine does: directives, script with the exit trap,
// script file, qsub.
func submit(t *testing.T, s *Scheduler, tc string, command string, r scheduler.Resources, array *scheduler.Array, extraArgs ...string) itJob {
	t.Helper()
	name := "capi-it-" + runID + "-" + tc
	if r.WorkDir == "" {
		r.WorkDir = t.TempDir()
	}
	d := s.Dialect()
	logID := d.LogJobID
	job := &scheduler.Job{Name: name, Command: command, Resources: r, Array: array, ExtraArgs: extraArgs}
	if array != nil {
		job.StdoutPath = filepath.Join(r.WorkDir, "stdout."+d.LogArrayJobID+"."+d.LogIndex+".log")
		job.StderrPath = filepath.Join(r.WorkDir, "stderr."+d.LogArrayJobID+"."+d.LogIndex+".log")
	} else {
		job.StdoutPath = filepath.Join(r.WorkDir, "stdout."+logID+".log")
		job.StderrPath = filepath.Join(r.WorkDir, "stderr."+logID+".log")
	}
	lines, err := s.Directives(job)
	if err != nil {
		t.Fatal(err)
	}
	var w script.Writer
	scriptPath := ""
	content, err := script.Render(script.Spec{
		Directives:   lines,
		ExitFileBase: script.ExitFileBase(filepath.Join(r.WorkDir, name+".1.sh")),
		Dialect:      d,
		Array:        array != nil,
		Command:      command,
	})
	if err != nil {
		t.Fatal(err)
	}
	scriptPath, err = w.Write(r.WorkDir, name, content)
	if err != nil {
		t.Fatal(err)
	}
	job.ScriptPath, job.Script = scriptPath, content
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id, err := s.Submit(ctx, job)
	if err != nil {
		t.Fatalf("submit %s: %v\nscript:\n%s", name, err, content)
	}
	t.Logf("submitted %s as job %s", name, id)
	t.Cleanup(func() {
		// Leave nothing behind in the queue when a test fails early.
		_ = s.Cancel(context.Background(), scheduler.CancelRequest{Targets: []scheduler.Target{{ID: id}}})
	})
	return itJob{id: id, name: name, job: job, script: scriptPath}
}

// watch polls like the engine (live queue, then accounting for what left it)
// until every element is terminal or the deadline passes. It returns the
// final observations by index (0 for a single job) and the largest number
// of elements seen running at once.
func watch(t *testing.T, s *Scheduler, j itJob, within time.Duration) (map[int]scheduler.Observation, int) {
	t.Helper()
	want := []int{0}
	if a := j.job.Array; a != nil {
		want = want[:0]
		for i := a.First; i <= a.Last; i++ {
			want = append(want, i)
		}
	}
	final := map[int]scheduler.Observation{}
	maxRunning := 0
	deadline := time.Now().Add(within)
	ctx := context.Background()
	var last []scheduler.Observation
	for time.Now().Before(deadline) {
		obs, err := s.Poll(ctx, scheduler.Query{Prefix: j.name})
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		last = obs
		live := map[int]bool{}
		running := 0
		for _, o := range obs {
			if o.ID != j.id {
				t.Errorf("poll with prefix %q returned job %s (%s)", j.name, o.ID, o.Name)
				continue
			}
			live[o.Index] = true
			if o.Status == scheduler.Running {
				running++
			}
		}
		maxRunning = max(maxRunning, running)
		gone := false
		for _, i := range want {
			if !live[i] {
				gone = true
			}
		}
		if gone {
			acct, err := s.Account(ctx, []string{j.id})
			if err != nil {
				t.Fatalf("account: %v", err)
			}
			for _, o := range acct {
				if !live[o.Index] && o.Status.Terminal() {
					final[o.Index] = o
				}
			}
		}
		if len(final) == len(want) {
			return final, maxRunning
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("job %s (%s) not finished within %s; last poll: %+v; terminal so far: %+v", j.id, j.name, within, last, final)
	return nil, 0
}

// waitStatus polls until the job (or element 0) shows status st.
func waitStatus(t *testing.T, s *Scheduler, j itJob, st scheduler.Status, within time.Duration) scheduler.Observation {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		obs, err := s.Poll(context.Background(), scheduler.Query{Prefix: j.name})
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		for _, o := range obs {
			if o.ID == j.id && o.Status == st {
				return o
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("job %s never showed status %s within %s", j.id, st, within)
	return scheduler.Observation{}
}

func exitFile(t *testing.T, j itJob, index int) (int, bool) {
	t.Helper()
	ex, ok := script.ReadExitFile(script.ExitFilePath(j.script, j.id, index, j.job.Array != nil))
	return ex.Code, ok
}

func readLog(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("log: %v", err)
	}
	return string(b)
}

func TestIntegrationSuccess(t *testing.T) {
	s := realScheduler(t)
	j := submit(t, s, "ok", `echo "hello from $JOB_ID in $PWD"`, scheduler.Resources{}, nil)
	final, _ := watch(t, s, j, 60*time.Second)
	o := final[0]
	if o.Status != scheduler.Done || !o.HasExit || o.ExitCode != 0 || o.Host == "" || o.FinishTime.IsZero() {
		t.Errorf("final %+v, want done with exit 0, a host and a finish time", o)
	}
	if code, ok := exitFile(t, j, 0); !ok || code != 0 {
		t.Errorf("exit file: %d, %v; want 0", code, ok)
	}
	wd := j.job.Resources.WorkDir
	if got := readLog(t, filepath.Join(wd, "stdout."+j.id+".log")); !strings.Contains(got, "hello from "+j.id+" in "+wd) {
		t.Errorf("stdout log %q does not show the job id and work dir", got)
	}
}

func TestIntegrationExit3(t *testing.T) {
	s := realScheduler(t)
	j := submit(t, s, "exit3", "echo failing >&2; exit 3", scheduler.Resources{}, nil)
	final, _ := watch(t, s, j, 60*time.Second)
	if o := final[0]; o.Status != scheduler.Failed || o.Reason != scheduler.ReasonExitCode || o.ExitCode != 3 {
		t.Errorf("final %+v, want failed, exit_code 3", o)
	}
	if code, ok := exitFile(t, j, 0); !ok || code != 3 {
		t.Errorf("exit file: %d, %v; want 3", code, ok)
	}
	if got := readLog(t, filepath.Join(j.job.Resources.WorkDir, "stderr."+j.id+".log")); !strings.Contains(got, "failing") {
		t.Errorf("stderr log %q", got)
	}
}

func TestIntegrationWalltime(t *testing.T) {
	s := realScheduler(t)
	j := submit(t, s, "hrt", "sleep 120", scheduler.Resources{Walltime: 5 * time.Second}, nil)
	final, _ := watch(t, s, j, 90*time.Second)
	if o := final[0]; o.Status != scheduler.Failed || o.Reason != scheduler.ReasonTimeout {
		t.Errorf("final %+v, want failed, timeout", o)
	}
}

func TestIntegrationCancelRunning(t *testing.T) {
	s := realScheduler(t)
	j := submit(t, s, "cancelrun", "sleep 120", scheduler.Resources{}, nil)
	waitStatus(t, s, j, scheduler.Running, 60*time.Second)
	if err := s.Cancel(context.Background(), scheduler.CancelRequest{Targets: []scheduler.Target{{ID: j.id}}}); err != nil {
		t.Fatal(err)
	}
	final, _ := watch(t, s, j, 60*time.Second)
	if o := final[0]; o.Status != scheduler.Killed || o.Reason != scheduler.ReasonCancelled {
		t.Errorf("final %+v, want killed, cancelled", o)
	}
	// Cancelling again is not an error.
	if err := s.Cancel(context.Background(), scheduler.CancelRequest{Targets: []scheduler.Target{{ID: j.id}}}); err != nil {
		t.Errorf("second cancel: %v", err)
	}
}

func TestIntegrationCancelPending(t *testing.T) {
	s := realScheduler(t)
	// -h (hold) keeps the job pending whatever else the cluster runs.
	j := submit(t, s, "cancelpend", "true", scheduler.Resources{}, nil, "-h")
	o := waitStatus(t, s, j, scheduler.Pending, 30*time.Second)
	if !strings.HasPrefix(o.Detail, "hqw") {
		t.Errorf("held job detail %q, want hqw", o.Detail)
	}
	if err := s.Cancel(context.Background(), scheduler.CancelRequest{Targets: []scheduler.Target{{ID: j.id}}}); err != nil {
		t.Fatal(err)
	}
	// Grid Engine keeps no record of a job deleted while pending: it leaves
	// the queue and accounting never knows it (the engine records the
	// cancel itself).
	deadline := time.Now().Add(30 * time.Second)
	for {
		obs, err := s.Poll(context.Background(), scheduler.Query{Prefix: j.name})
		if err != nil {
			t.Fatal(err)
		}
		if len(obs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cancelled pending job still listed: %+v", obs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	acct, err := s.Account(context.Background(), []string{j.id})
	if err != nil || len(acct) != 0 {
		t.Errorf("accounting of a job deleted while pending: %+v, %v; want nothing", acct, err)
	}
}

func TestIntegrationArray(t *testing.T) {
	s := realScheduler(t)
	const limit = 1
	cmd := `sleep 2; echo "task $SGE_TASK_ID index $CAPI_ARRAY_INDEX"; [ "$SGE_TASK_ID" != 3 ] || exit 7`
	j := submit(t, s, "array", cmd, scheduler.Resources{}, &scheduler.Array{First: 1, Last: 4, MaxConcurrent: limit})
	final, maxRunning := watch(t, s, j, 120*time.Second)
	if maxRunning > limit {
		t.Errorf("saw %d elements running at once, limit %d", maxRunning, limit)
	}
	if maxRunning == 0 {
		t.Log("never caught an element running (polls too slow?)")
	}
	for i := 1; i <= 4; i++ {
		o := final[i]
		wantStatus, wantCode := scheduler.Done, 0
		if i == 3 {
			wantStatus, wantCode = scheduler.Failed, 7
		}
		if !o.InArray || o.Index != i || o.Status != wantStatus || o.ExitCode != wantCode {
			t.Errorf("element %d: %+v, want %s exit %d", i, o, wantStatus, wantCode)
		}
		if code, ok := exitFile(t, j, i); !ok || code != wantCode {
			t.Errorf("element %d exit file: %d, %v; want %d", i, code, ok, wantCode)
		}
		logPath := filepath.Join(j.job.Resources.WorkDir, fmt.Sprintf("stdout.%s.%d.log", j.id, i))
		if got := readLog(t, logPath); !strings.Contains(got, fmt.Sprintf("task %d index %d", i, i)) {
			t.Errorf("element %d log %q", i, got)
		}
	}
}

func TestIntegrationCancelArrayElement(t *testing.T) {
	s := realScheduler(t)
	j := submit(t, s, "arrcancel", "sleep 1", scheduler.Resources{}, &scheduler.Array{First: 1, Last: 3}, "-h")
	waitStatus(t, s, j, scheduler.Pending, 30*time.Second)
	if err := s.Cancel(context.Background(), scheduler.CancelRequest{Targets: []scheduler.Target{{ID: j.id, Index: 2, InArray: true}}}); err != nil {
		t.Fatal(err)
	}
	obs, err := s.Poll(context.Background(), scheduler.Query{Prefix: j.name})
	if err != nil {
		t.Fatal(err)
	}
	var left []int
	for _, o := range obs {
		left = append(left, o.Index)
	}
	if fmt.Sprint(left) != "[1 3]" {
		t.Errorf("elements left after cancelling element 2: %v, want [1 3]", left)
	}
}

func TestIntegrationParallelEnv(t *testing.T) {
	s := realScheduler(t)
	// Two slots and 1 GB in all: h_vmem is per slot (512M), Grid Engine
	// multiplies it back for the job's rlimit.
	j := submit(t, s, "pe", `echo "slots=$NSLOTS vmem=$(ulimit -v)"`, scheduler.Resources{CPUs: 2, Memory: scheduler.GB}, nil)
	final, _ := watch(t, s, j, 90*time.Second)
	if o := final[0]; o.Status != scheduler.Done {
		t.Errorf("final %+v, want done", o)
	}
	got := readLog(t, filepath.Join(j.job.Resources.WorkDir, "stdout."+j.id+".log"))
	if !strings.Contains(got, "slots=2 vmem=1048576") {
		t.Errorf("log %q, want 2 slots and a 1 GiB (1048576 KiB) limit", got)
	}
}

func TestIntegrationAwkwardWorkDir(t *testing.T) {
	s := realScheduler(t)
	// Quotes and '#' cannot be written in a #$ line: the work dir goes
	// through -cwd and the logs through relative paths. "${HOME}" and "$x"
	// are not Grid Engine pseudo variables and stay as they are.
	wd := filepath.Join(t.TempDir(), `o'brien "run" #1 ${HOME} $x\y`)
	if err := os.MkdirAll(wd, 0o755); err != nil {
		t.Fatal(err)
	}
	j := submit(t, s, "awkward", `pwd`, scheduler.Resources{WorkDir: wd}, nil)
	final, _ := watch(t, s, j, 60*time.Second)
	if o := final[0]; o.Status != scheduler.Done {
		t.Errorf("final %+v, want done", o)
	}
	if got := readLog(t, filepath.Join(wd, "stdout."+j.id+".log")); strings.TrimSpace(got) != wd {
		t.Errorf("the job ran in %q, want %q", strings.TrimSpace(got), wd)
	}
	if code, ok := exitFile(t, j, 0); !ok || code != 0 {
		t.Errorf("exit file: %d, %v", code, ok)
	}
}

func TestIntegrationErrorState(t *testing.T) {
	s := realScheduler(t)
	// A work dir that does not exist on the execution host puts the job in
	// Eqw: pending, reason scheduler, with what to do in Detail.
	j := submit(t, s, "eqw", "true", scheduler.Resources{WorkDir: t.TempDir()}, nil)
	if err := os.RemoveAll(j.job.Resources.WorkDir); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		obs, err := s.Poll(context.Background(), scheduler.Query{Prefix: j.name})
		if err != nil {
			t.Fatal(err)
		}
		if len(obs) == 1 && obs[0].Reason == scheduler.ReasonScheduler {
			o := obs[0]
			if o.Status != scheduler.Pending || !strings.HasPrefix(o.Detail, "Eqw") || !strings.Contains(o.Detail, "qmod -cj "+j.id) {
				t.Errorf("error state %+v", o)
			}
			break
		}
		if len(obs) == 0 || time.Now().After(deadline) {
			t.Fatalf("job did not reach Eqw: %+v", obs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestIntegrationSubmitRefused(t *testing.T) {
	s := realScheduler(t)
	wd := t.TempDir()
	job := &scheduler.Job{Name: "capi-it-" + runID + "-refused", Resources: scheduler.Resources{WorkDir: wd}, ScriptPath: filepath.Join(wd, "missing.sh")}
	_, err := s.Submit(context.Background(), job)
	var se *scheduler.SubmitError
	if !errors.As(err, &se) || !strings.Contains(se.Output, "missing.sh") {
		t.Errorf("Submit of a missing script: %v, want a SubmitError with qsub's message", err)
	}
}

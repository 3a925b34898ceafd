package clusterapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// childMain is the child side of the multi-process tests (TestMain runs it
// when CAPI_TEST_CHILD is set): it submits jobs and prints their ids.
func childMain(mode string) int {
	var n int
	fmt.Sscan(os.Getenv("CAPI_TEST_N"), &n)
	ex, err := New(Config{StateDir: os.Getenv("CAPI_TEST_STATE"), LocalSlots: 2}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer ex.Close()
	ctx := context.Background()
	if mode == "accepted-then-died" {
		return acceptThenDie(ex, n)
	}
	for i := range n {
		j, err := ex.Submit(ctx, JobSpec{Name: "same", Command: "true", Resources: Resources{WorkDir: os.Getenv("CAPI_TEST_WORK")},
			Metadata: map[string]string{"child": mode, "i": fmt.Sprint(i)}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(j.ID())
		if mode != "crash" && i%10 == 0 {
			if err := ex.Poll(ctx); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
	}
	return 0
}

// acceptThenDie does what a capi submit killed at the worst moment did:
// each job is recorded as an intent and accepted by the scheduler, and the
// process ends before it records the answer.
func acceptThenDie(ex *Executor, n int) int {
	ctx := context.Background()
	for i := range n {
		p, err := ex.prepare(JobSpec{Name: fmt.Sprintf("lost%d", i), Command: "true", Resources: Resources{WorkDir: os.Getenv("CAPI_TEST_WORK")}}, nil, ex.writer.Reserve)
		if err == nil {
			err = ex.writer.Fill(p.job.ScriptPath, p.content)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		p.rec.SubmitTime = time.Now()
		if p.job.Token, err = ex.beginSubmit(ctx, p); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		id, err := ex.sched.Submit(ctx, &p.job)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(id)
	}
	os.Exit(0) // no Close: nothing more is recorded
	return 0
}

func startChild(t *testing.T, mode, state, work string, n int) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CAPI_TEST_CHILD="+mode, "CAPI_TEST_STATE="+state, "CAPI_TEST_WORK="+work, fmt.Sprintf("CAPI_TEST_N=%d", n))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, bufio.NewScanner(out)
}

// spoolIDs lists the jobs the local executor accepted.
func spoolIDs(t *testing.T, state string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(state, "local", "journal"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for line := range strings.Lines(string(b)) {
		var ev struct{ Ev, ID string }
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("journal line %q: %v", line, err)
		}
		if ev.Ev == "submit" {
			ids = append(ids, ev.ID)
		}
	}
	return ids
}

// A process killed with SIGKILL in the middle of submitting 500 jobs loses
// none: a new process finds every job the scheduler accepted, each exactly
// once, and follows it to its end.
func TestCrashWhileSubmittingLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("submits hundreds of real jobs")
	}
	state, work := t.TempDir(), t.TempDir()
	cmd, lines := startChild(t, "crash", state, work, 500)
	seen := 0
	for lines.Scan() {
		if seen++; seen == 150 {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	ex, err := New(Config{StateDir: state, LocalSlots: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := ex.Reconnect(ctx); err != nil {
		t.Fatal(err)
	}
	mon := NewMonitor(ex, &MonitorOptions{Interval: 100 * time.Millisecond})
	mon.Start()
	defer mon.Stop()
	for _, j := range ex.Jobs() {
		if r, err := j.Wait(ctx); err != nil {
			t.Fatalf("job %s never ended: %+v", j.ID(), r)
		}
	}
	accepted := spoolIDs(t, state)
	if len(accepted) < seen {
		t.Fatalf("spool has %d jobs, the child reported %d", len(accepted), seen)
	}
	recs, err := ex.List(ctx, ListFilter{IncludePurged: true})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]int{}
	for _, r := range recs {
		if r.ID == "" {
			continue // a submission refused or never handed to the scheduler
		}
		byID[r.ID]++
		if r.Status != Done {
			t.Errorf("job %s is %s (%s)", r.ID, r.Status, r.Detail)
		}
		if r.Metadata["child"] != "crash" || r.Command != "true" {
			t.Errorf("job %s lost its record: %+v", r.ID, r)
		}
	}
	for _, id := range accepted {
		if byID[id] != 1 {
			t.Errorf("accepted job %s is in the store %d times, want exactly once", id, byID[id])
		}
	}
	if len(byID) != len(accepted) {
		t.Errorf("store has %d jobs with ids, the scheduler accepted %d", len(byID), len(accepted))
	}
	pending, err := ex.db.PendingSubmits(ctx)
	if err != nil || len(pending) != 0 {
		t.Errorf("unsettled submissions after recovery: %d, %v", len(pending), err)
	}
}

// Two processes submitting and polling at once through the same store and
// spool lose nothing and duplicate nothing.
func TestConcurrentProcessesShareStore(t *testing.T) {
	if testing.Short() {
		t.Skip("submits real jobs from two processes")
	}
	state, work := t.TempDir(), t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, mode := range []string{"a", "b"} {
		cmd, lines := startChild(t, mode, state, work, 50)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lines.Scan() {
			}
			if err := cmd.Wait(); err != nil {
				errs <- fmt.Errorf("child %s: %w", mode, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ex, err := New(Config{StateDir: state, LocalSlots: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	recs, err := ex.List(context.Background(), ListFilter{IncludePurged: true})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	ids := map[string]bool{}
	for _, r := range recs {
		count[r.Metadata["child"]]++
		if ids[r.ID] {
			t.Errorf("job id %s recorded twice", r.ID)
		}
		ids[r.ID] = true
		if !strings.HasPrefix(r.Command, "true") {
			t.Errorf("job %s has command %q", r.ID, r.Command)
		}
	}
	if count["a"] != 50 || count["b"] != 50 || len(recs) != 100 {
		t.Errorf("store lists %d jobs (a=%d b=%d), want 50 from each", len(recs), count["a"], count["b"])
	}
}

// Jobs a killed capi submit left (accepted by the scheduler, outcome never
// recorded) are seen by every command at once, as unknown, and settled by
// the next poll, without a Reconnect and without one lookup each.
func TestInterruptedSubmissionsAreSeenAndSettledByAPoll(t *testing.T) {
	state, work := t.TempDir(), t.TempDir()
	cmd, lines := startChild(t, "accepted-then-died", state, work, 20)
	var accepted []string
	for lines.Scan() {
		accepted = append(accepted, lines.Text())
	}
	if err := cmd.Wait(); err != nil || len(accepted) != 20 {
		t.Fatalf("child: %v, %d jobs accepted", err, len(accepted))
	}

	ex, err := New(Config{StateDir: state, LocalSlots: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	recs, err := ex.List(ctx, ListFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 20 {
		t.Fatalf("a new process lists %d jobs, want the 20 interrupted submissions", len(recs))
	}
	for _, r := range recs {
		if r.Status != Unknown || r.ID != "" || !strings.HasPrefix(r.Name, "lost") {
			t.Errorf("interrupted submission listed as %+v, want unknown without an id", r)
		}
	}

	if err := ex.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if pending, err := ex.db.PendingSubmits(ctx); err != nil || len(pending) != 0 {
		t.Errorf("%d submissions unsettled after a poll (%v)", len(pending), err)
	}
	mon := NewMonitor(ex, &MonitorOptions{Interval: 100 * time.Millisecond})
	mon.Start()
	defer mon.Stop()
	for _, j := range ex.Jobs() {
		if r, err := j.Wait(ctx); err != nil || r.Status != Done {
			t.Fatalf("job %s: %+v, %v", j.ID(), r, err)
		}
	}
	recs, err = ex.List(ctx, ListFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, r := range recs {
		got[r.ID]++
		if r.Status != Done {
			t.Errorf("job %q is %s (%s), want done", r.ID, r.Status, r.Detail)
		}
	}
	for _, id := range accepted {
		if got[id] != 1 {
			t.Errorf("accepted job %s listed %d times, want once", id, got[id])
		}
	}
	if len(recs) != 20 {
		t.Errorf("%d records after settling, want 20", len(recs))
	}
}

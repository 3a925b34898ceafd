package store

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// The helper process: the test binary re-executed with helperEnv set runs
// one of the workloads below against the store named in pathEnv, instead of
// the tests.
const (
	helperEnv = "CAPI_STORE_HELPER"
	pathEnv   = "CAPI_STORE_PATH"
	countEnv  = "CAPI_STORE_N"
	prefixEnv = "CAPI_STORE_PREFIX"
)

func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("only runs as a child process of the concurrency tests")
	}
	n, err := strconv.Atoi(os.Getenv(countEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad", countEnv, err)
		os.Exit(2)
	}
	s, err := Open(context.Background(), os.Getenv(pathEnv), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	switch mode {
	case "work":
		err = workload(s, os.Getenv(prefixEnv), n)
	case "crash":
		err = crashWorkload(s, n)
	default:
		err = fmt.Errorf("unknown helper mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// workload is one client's life: submit n jobs, watch each run and end,
// and read the store in between, as capi status in another shell would.
func workload(s *Store, prefix string, n int) error {
	ctx := context.Background()
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		tok, err := s.BeginSubmit(ctx, Submission{Scheduler: "lsf", Name: id, Command: "true"})
		if err != nil {
			return err
		}
		if err := s.CompleteSubmit(ctx, tok, id); err != nil {
			return err
		}
		key := Key{Scheduler: "lsf", JobID: id}
		if err := s.UpdateJob(ctx, key, JobState{Status: scheduler.Running, ExecHost: prefix}); err != nil {
			return err
		}
		if _, err := s.ApplyPoll(ctx, []Change{{Key: key, Job: &JobState{Status: scheduler.Done, ExitCode: new(int)}}}); err != nil {
			return err
		}
		if i%10 == 0 {
			if _, err := s.List(ctx, Filter{Name: prefix + "-*"}); err != nil {
				return err
			}
		}
	}
	return nil
}

// crashWorkload records n submissions and reports each step on stdout only
// after the store returned, so that what the parent read is a lower bound
// of what was committed.
func crashWorkload(s *Store, n int) error {
	ctx := context.Background()
	for i := range n {
		tok := fmt.Sprintf("tok-%d", i)
		if _, err := s.BeginSubmit(ctx, Submission{Token: tok, Scheduler: "slurm", Name: "job-" + tok}); err != nil {
			return err
		}
		fmt.Printf("B %s\n", tok)
		if err := s.CompleteSubmit(ctx, tok, strconv.Itoa(1000+i)); err != nil {
			return err
		}
		fmt.Printf("C %s %d\n", tok, 1000+i)
	}
	return nil
}

func helperCommand(t *testing.T, mode, path string, n int, prefix string) *exec.Cmd {
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(),
		helperEnv+"="+mode, pathEnv+"="+path, countEnv+"="+strconv.Itoa(n), prefixEnv+"="+prefix)
	return cmd
}

// TestConcurrentWriters: several processes, and several goroutines with
// their own Store in this one, submit and update at the same time. Every
// row must arrive, and nobody may see "database is locked".
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	const (
		procs      = 3
		goroutines = 3
		perClient  = 40
	)
	path := filepath.Join(t.TempDir(), "jobs.db")
	s, err := Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	var wg sync.WaitGroup
	errs := make(chan error, procs+goroutines)
	for p := range procs {
		cmd := helperCommand(t, "work", path, perClient, fmt.Sprintf("proc%d", p))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			if err := cmd.Wait(); err != nil {
				errs <- fmt.Errorf("child %d: %v: %s", p, err, stderr.Bytes())
			}
		})
	}
	for g := range goroutines {
		wg.Go(func() {
			// Goroutine 0 shares the test's Store; the others open their
			// own, which contend like separate processes do.
			gs := s
			if g > 0 {
				var err error
				if gs, err = Open(context.Background(), path, nil); err != nil {
					errs <- err
					return
				}
				defer gs.Close()
			}
			if err := workload(gs, fmt.Sprintf("gor%d", g), perClient); err != nil {
				errs <- fmt.Errorf("goroutine %d: %w", g, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	ctx := context.Background()
	recs, err := s.List(ctx, Filter{IncludePurged: true, Statuses: []scheduler.Status{Submitting, scheduler.Pending, scheduler.Running, scheduler.Done}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (procs + goroutines) * perClient; len(recs) != want {
		t.Fatalf("%d jobs in the store, want %d", len(recs), want)
	}
	for _, r := range recs {
		if r.Status != scheduler.Done || r.ExecHost == "" {
			t.Errorf("job %s: status %s on %q, want done with a host", r.JobID, r.Status, r.ExecHost)
		}
	}
	var events int
	if err := s.r.QueryRow("SELECT count(*) FROM events").Scan(&events); err != nil {
		t.Fatal(err)
	}
	if want := 3 * len(recs); events != want {
		t.Errorf("%d events, want %d (pending, running, done per job)", events, want)
	}
}

// TestCrashDuringSubmissions kills a process that is recording submissions
// as fast as it can. Every submission it reported complete must be in the
// store exactly once, with its id; every other one it began must be a
// pending intent (or, for the one in flight, complete).
func TestCrashDuringSubmissions(t *testing.T) {
	t.Parallel()
	const (
		total  = 500
		killAt = 200
	)
	path := filepath.Join(t.TempDir(), "jobs.db")
	cmd := helperCommand(t, "crash", path, total, "")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	begun := map[string]bool{}
	completed := map[string]string{}
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 2 && f[0] == "B":
			begun[f[1]] = true
		case len(f) == 3 && f[0] == "C":
			completed[f[1]] = f[2]
			if len(completed) == killAt && !killed {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		}
	}
	err = cmd.Wait()
	if status, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !status.Signaled() {
		t.Fatalf("child was not killed: %v; stderr: %s", err, stderr.Bytes())
	}
	t.Logf("killed after reading %d begun, %d completed submissions", len(begun), len(completed))

	ctx := context.Background()
	s, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var check string
	if err := s.r.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}

	for tok, id := range completed {
		r, err := s.GetToken(ctx, tok)
		if err != nil {
			t.Errorf("completed submission %s: %v", tok, err)
			continue
		}
		if r.JobID != id || r.Status != scheduler.Pending {
			t.Errorf("completed submission %s: job %q, %s; want job %s, pending", tok, r.JobID, r.Status, id)
		}
	}
	all, err := s.List(ctx, Filter{IncludePurged: true, Statuses: []scheduler.Status{Submitting, scheduler.Pending}})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	extra := 0 // rows beyond what the child reported: at most the one in flight
	for _, r := range all {
		switch {
		case r.JobID != "":
			ids[r.JobID]++
			if _, ok := completed[r.Token]; !ok {
				extra++
			}
			if !begun[r.Token] {
				extra++
			}
		case r.Status == Submitting:
			if !begun[r.Token] {
				extra++
			}
		default:
			t.Errorf("row %s in unexpected state %s", r.Token, r.Status)
		}
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("job %s recorded %d times", id, n)
		}
	}
	if extra > 1 {
		t.Errorf("%d steps committed beyond what the child reported; at most the one in flight can be", extra)
	}
	for tok := range begun {
		if _, err := s.GetToken(ctx, tok); err != nil {
			t.Errorf("begun submission %s is lost: %v", tok, err)
		}
	}
	pending, err := s.PendingSubmits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending)+len(ids) != len(all) {
		t.Errorf("%d pending + %d complete != %d rows", len(pending), len(ids), len(all))
	}
}

// TestConcurrentFirstOpen: many processes open the same new file at the
// same instant (a burst of `capi submit` in a fresh state dir). Each must
// find a job store, none may mistake a half-migrated file for someone
// else's or fail to switch it to WAL.
func TestConcurrentFirstOpen(t *testing.T) {
	t.Parallel()
	for round := range 6 {
		path := filepath.Join(t.TempDir(), "jobs.db")
		const procs = 40
		cmds := make([]*exec.Cmd, procs)
		outs := make([]*strings.Builder, procs)
		for i := range cmds {
			cmds[i] = helperCommand(t, "work", path, 1, fmt.Sprintf("r%dp%d", round, i))
			outs[i] = &strings.Builder{}
			cmds[i].Stderr = outs[i]
			if err := cmds[i].Start(); err != nil {
				t.Fatal(err)
			}
		}
		for i, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Errorf("round %d process %d: %v: %s", round, i, err, outs[i])
			}
		}
	}
}

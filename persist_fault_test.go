package clusterapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-cluster-api/clusterapi/internal/store"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

// A store write that fails at any step must not lose a state: the failed
// changes, array elements included, are written by the next flush, and a
// process that opens the store after Close sees exactly the states the
// closing process last saw.
func TestStoreWriteFailuresLoseNothing(t *testing.T) {
	t.Parallel()
	// Each case fails the n-th store write of the sequence below once.
	for failAt := 1; failAt <= 6; failAt++ {
		t.Run(fmt.Sprintf("write %d fails", failAt), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			f := newFake()
			e := openWithStore(t, f, dir)
			writes := 0
			e.w.setFault(func() error {
				writes++
				if writes == failAt {
					return errors.New("injected: reading current states: context canceled")
				}
				return nil
			})
			arr, err := e.SubmitArray(context.Background(), spec(dir, "arr", "true"), Array{First: 1, Last: 300})
			if err != nil {
				t.Fatal(err)
			}
			single := mustSubmit(t, e, spec(dir, "one", "true"))
			poll := func() { e.Poll(context.Background()) } // a failed write is logged, not returned

			for i := 1; i <= 300; i++ {
				f.setStatus(arr.ID(), i, Running, 0)
			}
			f.setStatus(single.ID(), 0, Running, 0)
			poll()
			for i := 1; i <= 290; i++ {
				f.setStatus(arr.ID(), i, Done, 0)
			}
			poll()
			for i := 291; i <= 300; i++ {
				f.setStatus(arr.ID(), i, Failed, i%7)
			}
			f.setStatus(single.ID(), 0, Done, 0)
			poll()
			poll()

			want := map[string]Record{arr.ID(): arr.Snapshot(), single.ID(): single.Snapshot()}
			if want[arr.ID()].Status != Failed || want[single.ID()].Status != Done {
				t.Fatalf("the closing process saw %s and %s, want failed and done", want[arr.ID()].Status, want[single.ID()].Status)
			}
			if err := e.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if writes < failAt {
				t.Skipf("only %d writes in this sequence", writes)
			}

			again := openWithStore(t, f, dir)
			defer again.Close()
			for id, w := range want {
				j, err := again.Get(context.Background(), id)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(w, j.Snapshot()); diff != "" {
					t.Errorf("job %s restored from the store differs from what the closing process saw (-closing +restored):\n%s", id, diff)
				}
			}
		})
	}
}

// Close reports that it could not write the last states.
func TestCloseReportsAFailedLastWrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := newFake()
	e := openWithStore(t, f, dir)
	j := mustSubmit(t, e, spec(dir, "one", "true"))
	e.w.setFault(func() error { return errors.New("injected: disk full") })
	f.setStatus(j.ID(), 0, Done, 0)
	e.Poll(context.Background())
	if err := e.Close(); err == nil {
		t.Error("Close = nil although the last states were never written")
	}
}

// Two processes on one state dir: B cancels a held job that A waits on.
// The scheduler forgets a job cancelled while pending (Grid Engine's qdel:
// no queue entry, no accounting, no exit file), so A learns the end from
// the store on its next poll, and never declares the job vanished over
// B's record.
func TestAnotherProcessCancelIsLearnt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := newFake()
	cfg := Config{StateDir: dir, ZombieTimeout: time.Nanosecond}
	a, err := New(cfg, &Options{Scheduler: f})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	held := mustSubmit(t, a, spec(dir, "held", "true"))
	arr, err := a.SubmitArray(context.Background(), spec(dir, "arr", "true"), Array{First: 1, Last: 3})
	if err != nil {
		t.Fatal(err)
	}
	mustPoll(t, a)

	b, err := New(cfg, &Options{Scheduler: f})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Cancel(context.Background(), held.ID(), nil); err != nil {
		t.Fatal(err)
	}
	two := 2
	if err := b.Cancel(context.Background(), arr.ID(), &CancelOptions{Index: &two}); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil { // B's records are in the store
		t.Fatal(err)
	}
	f.drop(held.ID())
	f.set(arr.ID(),
		scheduler.Observation{Name: "arr", InArray: true, Index: 1, Status: Running},
		scheduler.Observation{Name: "arr", InArray: true, Index: 3, Status: Running})

	// Zombie time is a nanosecond: without the store, this poll would
	// declare both vanished.
	time.Sleep(time.Millisecond)
	mustPoll(t, a)
	mustPoll(t, a)
	if r := held.Snapshot(); r.Status != Killed || r.Reason != ReasonCancelled {
		t.Errorf("A sees the job B cancelled as %s/%s (%s), want killed/cancelled", r.Status, r.Reason, r.Detail)
	}
	select {
	case <-held.Done():
	default:
		t.Error("A still waits for a job B cancelled")
	}
	r := arr.Snapshot()
	if el := r.Array.Elements[1]; el.Status != Killed || el.Reason != ReasonCancelled {
		t.Errorf("element 2, cancelled by B: %s/%s, want killed/cancelled", el.Status, el.Reason)
	}
	if el := r.Array.Elements[0]; el.Status != Running {
		t.Errorf("element 1, running in the queue: %s, want running", el.Status)
	}

	// And the store keeps B's record.
	c := openWithStore(t, f, dir)
	defer c.Close()
	recs, err := c.List(context.Background(), ListFilter{Name: "held"})
	if err != nil || len(recs) != 1 || recs[0].Status != Killed || recs[0].Reason != ReasonCancelled {
		t.Errorf("store after both processes: %+v, %v; want killed/cancelled", recs, err)
	}
}

// forgetful is a scheduler that lists only capi's jobs and forgets
// finished ones, but knows which submission became which job: the local
// executor after compacting its journal.
type forgetful struct {
	*fakeSched
	mu     sync.Mutex
	tokens map[string]string
}

func (f *forgetful) CapiOnly() {}

func (f *forgetful) SubmittedAs(ctx context.Context, tokens []string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for _, t := range tokens {
		if id, ok := f.tokens[t]; ok {
			out[t] = id
		}
	}
	return out, nil
}

// A submission interrupted after the scheduler accepted it, whose job the
// scheduler has since forgotten, is adopted through the scheduler's index
// of submissions, not failed as lost (it was, when the local executor's
// journal was compacted before any process settled the intent).
func TestInterruptedSubmissionOfAForgottenJobIsAdopted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := &forgetful{fakeSched: newFake(), tokens: map[string]string{}}
	e := openWithStore(t, f, dir)
	defer e.Close()
	ctx := context.Background()
	p, err := e.prepare(spec(dir, "forgotten", "true"), nil, e.writer.Reserve)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.writer.Fill(p.job.ScriptPath, p.content); err != nil {
		t.Fatal(err)
	}
	// Submitted two hours ago by a process that died before it recorded
	// the answer (an intent that old is not taken for one in progress).
	p.rec.SubmitTime = time.Now().Add(-2 * time.Hour)
	if p.job.Token, err = e.beginSubmit(ctx, p); err != nil {
		t.Fatal(err)
	}
	id, err := f.Submit(ctx, &p.job) // accepted; the answer is never recorded
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.tokens[p.job.Token] = id
	f.mu.Unlock()
	f.drop(id) // it ended long ago, and the scheduler forgot it

	if err := e.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if pending, err := e.db.PendingSubmits(ctx); err != nil || len(pending) != 0 {
		t.Fatalf("%d submissions unsettled after a poll (%v)", len(pending), err)
	}
	sr, err := e.db.Get(ctx, store.Key{Scheduler: "fake", JobID: id})
	if err != nil {
		t.Fatalf("the forgotten job is not in the store under its id %s: %v", id, err)
	}
	if sr.Reason == ReasonSubmitFailed {
		t.Errorf("the submission was failed as lost (%s), want adopted as job %s", sr.Detail, id)
	}
	if _, tracked := e.Job(id); !tracked {
		t.Errorf("job %s is not followed after its adoption", id)
	}
}

// A store holding every element of an array final under the array's own
// row still pending (what a failed write between the two could leave
// before an engine step went into one transaction) is healed on restore:
// the array ends, its waiters are released, and its row is rewritten. A
// final row is never rolled back by its elements.
func TestTornArrayInTheStoreIsHealed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	db, err := store.Open(ctx, storePath(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := db.BeginSubmit(ctx, store.Submission{Scheduler: "fake", Name: "torn", Array: &scheduler.Array{First: 1, Last: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CompleteSubmit(ctx, tok, "7"); err != nil {
		t.Fatal(err)
	}
	zero := 0
	var els []store.ElementState
	for i := 1; i <= 3; i++ {
		els = append(els, store.ElementState{Index: i, JobState: store.JobState{Status: Done, Source: store.SourceScheduler, ExitCode: &zero, FinishTime: time.Now()}})
	}
	if _, err := db.ApplyPoll(ctx, []store.Change{{Key: store.Key{Scheduler: "fake", JobID: "7"}, Elements: els}}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	e := openWithStore(t, newFake(), dir)
	j, err := e.Get(ctx, "7")
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if r, err := j.Wait(wctx); err != nil || r.Status != Done || r.Array.Counts.Done != 3 {
		t.Fatalf("restored array: %s %+v (%v), want done with 3 done elements", r.Status, r.Array.Counts, err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = store.Open(ctx, storePath(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if sr, err := db.Get(ctx, store.Key{Scheduler: "fake", JobID: "7"}); err != nil || sr.Status != Done {
		t.Errorf("the array's row after the restore: %s (%v), want done", sr.Status, err)
	}
}

// A poll whose caller gives up while it runs (a Monitor stopped as its
// command ends) warns of nothing: the store reads and writes it could not
// do are done by the next poll. capi array --wait printed "warning: job
// store: reading interrupted submissions: ... context canceled" on Ctrl-C.
func TestAbandonedPollWarnsOfNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := newFake()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &recordingHandler{}
	e, err := New(Config{StateDir: dir}, &Options{Scheduler: f, Logger: slog.New(h)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	j := mustSubmit(t, e, spec(dir, "one", "true"))
	f.set(j.ID(), scheduler.Observation{Name: j.Snapshot().Name, Status: Running})
	f.pollErr = func(int) error {
		cancel() // the status command answers; its caller has gone meanwhile
		return nil
	}
	e.Poll(ctx)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.warnings) > 0 {
		t.Errorf("an abandoned poll warned: %q", h.warnings)
	}
}

package local

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// Compaction drops the jobs that ended before the horizon and nothing
// else: a running job, a waiting one and one that ended after the horizon
// read back as they were, with their elements; ids go on after the
// dropped ones; another instance that reads the spool follows the new
// journal and is still told of its jobs' ends.
func TestCompactionDropsOnlyOldEndedJobs(t *testing.T) {
	t.Parallel()
	e := newSpool(t)
	state := e.state
	ctx := context.Background()
	s := openSched(t, state, 2)
	submit := e.submitOn
	old := submit(s, "old", "true", nil)
	oldArr := submit(s, "old-array", "exit 3", &scheduler.Array{First: 1, Last: 3})
	pollUntilTerminal(t, s, []string{old, oldArr + ".1", oldArr + ".2", oldArr + ".3"})
	horizon := time.Now()
	recent := submit(s, "recent", "exit 4", nil)
	pollUntilTerminal(t, s, []string{recent})
	watcher := openSched(t, state, 2)
	rec := newRecorder()
	watcher.Subscribe(rec.observe)
	// It runs until the compaction is over, so that its end is told from
	// the new journal.
	gate := filepath.Join(e.wd, "compacted")
	running := submit(watcher, "running", "while [ ! -e "+gate+" ]; do sleep 0.05; done", nil)
	waitFor(t, "the watched job to start", func() bool { return elemOf(watcher, running, "job").started })
	waiting := submit(watcher, "waiting", "true", &scheduler.Array{First: 0, Last: 1})
	before, _ := os.Stat(s.sp.journalPath())

	s.mu.Lock()
	err := s.compactLocked(horizon)
	s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if _, n := rec.get(running); n != 0 {
		t.Fatal("the watched job ended before the compaction")
	}
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(s.sp.journalPath())
	if after.Size() >= before.Size() {
		t.Errorf("journal of %d bytes after compaction, %d before", after.Size(), before.Size())
	}
	fresh := openSched(t, state, 2)
	fresh.mu.Lock()
	_, hasOld := fresh.book.jobs[old]
	_, hasOldArr := fresh.book.jobs[oldArr]
	fresh.mu.Unlock()
	if hasOld || hasOldArr {
		t.Errorf("jobs that ended before the horizon are still in the journal (%v, %v)", hasOld, hasOldArr)
	}
	if e := elemOf(fresh, recent, "job"); !e.ended || e.end.Exit != 4 {
		t.Errorf("job that ended after the horizon: %+v, want its end (exit 4) kept", e)
	}
	got := pollUntilTerminal(t, watcher, []string{running, waiting + ".0", waiting + ".1"})
	if o := got[running]; o.Status != scheduler.Done || o.StartTime.IsZero() {
		t.Errorf("running job across the compaction: %+v", o)
	}
	waitFor(t, "the watcher told of its job's end, read from the new journal", func() bool { _, n := rec.get(running); return n == 1 })
	last, _ := strconv.Atoi(waiting)
	next := submit(fresh, "next", "true", nil)
	if n, _ := strconv.Atoi(next); n != last+1 {
		t.Errorf("a job after the compaction got id %d, want %d", n, last+1)
	}
	// The first instance's jobs were all dropped, and its environment with
	// them: its next job records it again.
	again := submit(s, "again", "true", nil)
	s.mu.Lock()
	s.catchUpLocked()
	env := s.book.jobs[again].job.env
	s.mu.Unlock()
	if env == nil {
		t.Error("a job submitted after its environment was compacted away has none")
	}
	pollUntilTerminal(t, s, []string{next, again})
	// Which submission became which job outlives the compaction: an
	// interrupted submission of a dropped job is still adopted.
	ids, err := fresh.SubmittedAs(ctx, []string{"token-old", "token-recent", "token-unknown"})
	if err != nil {
		t.Fatal(err)
	}
	if ids["token-old"] != old || ids["token-recent"] != recent || len(ids) != 2 {
		t.Errorf("SubmittedAs = %v, want token-old → %s (dropped), token-recent → %s (kept), nothing else", ids, old, recent)
	}
	if got, err := s.Poll(ctx, scheduler.Query{}); err != nil || len(got) == 0 {
		t.Errorf("the compacting instance polls %d observations (%v)", len(got), err)
	}
}

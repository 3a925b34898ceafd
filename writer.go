package clusterapi

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/store"
)

// flushDelay batches the changes of a burst (a poll's, many submissions'
// or many local completions') into one store transaction.
const flushDelay = 100 * time.Millisecond

// writer is the one owner of the writes of job states to the store. The
// engine hands it each change as it happens, as the store keeps it (a job's
// row, an element, an accepted submission's job id); the writer keeps the
// latest of each until a write commits it, and writes them in batches from
// its own goroutine, soon after a change, or at once when asked (flush). A
// batch that fails is put back under what came since: a state is dropped
// only once it is committed. A nil writer (in_memory) takes changes and
// writes nothing.
type writer struct {
	db  *store.Store
	log *slog.Logger
	key func(id string) store.Key
	// engine is the engine's lock, held while a batch is taken: what one
	// engine step changed (an array's elements and the end they make) goes
	// into one transaction, so that the store never holds an array whose
	// elements all ended under a row that has not.
	engine sync.Locker

	mu    sync.Mutex
	jobs  map[string]*pendingJob // by job id
	done  []store.Completion
	fault func() error // tests only: fails writes before they start

	writing sync.Mutex // one write at a time, so that writes stay in order
	kick    chan struct{}
	stop    chan struct{}
	stopped chan struct{}
}

// pendingJob is what of one job is still to be written.
type pendingJob struct {
	job   *store.JobState
	elems map[int]store.ElementState // by index
}

func newWriter(db *store.Store, log *slog.Logger, key func(id string) store.Key, engine sync.Locker) *writer {
	w := &writer{db: db, log: log, key: key, engine: engine, jobs: make(map[string]*pendingJob),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	go w.loop()
	return w
}

func (w *writer) pendingLocked(id string) *pendingJob {
	p := w.jobs[id]
	if p == nil {
		p = &pendingJob{}
		w.jobs[id] = p
	}
	return p
}

// job queues the state of job id's own row.
func (w *writer) job(id string, st store.JobState) {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.pendingLocked(id).job = &st
	w.mu.Unlock()
	w.soon()
}

// element queues the state of one element of job id.
func (w *writer) element(id string, es store.ElementState) {
	if w == nil {
		return
	}
	w.mu.Lock()
	p := w.pendingLocked(id)
	if p.elems == nil {
		p.elems = make(map[int]store.ElementState)
	}
	p.elems[es.Index] = es
	w.mu.Unlock()
	w.soon()
}

// completed queues the job id the scheduler gave a submission. Until it is
// written, and forever if the process dies first, the store holds the open
// intent, which every poll settles from the scheduler's record of the job.
func (w *writer) completed(c store.Completion) {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.done = append(w.done, c)
	w.mu.Unlock()
	w.soon()
}

// pending reports whether something of job id is still to be written.
func (w *writer) pending(id string) bool {
	if w == nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.jobs[id] != nil
}

// forget drops what is queued for job id: the store holds it already (a job
// restored from there).
func (w *writer) forget(id string) {
	if w == nil {
		return
	}
	w.mu.Lock()
	delete(w.jobs, id)
	w.mu.Unlock()
}

// setFault makes every write fail with what fn returns before it starts,
// while fn returns an error (tests).
func (w *writer) setFault(fn func() error) {
	w.mu.Lock()
	w.fault = fn
	w.mu.Unlock()
}

// soon asks the writer's goroutine to write within flushDelay.
func (w *writer) soon() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *writer) loop() {
	defer close(w.stopped)
	for {
		select {
		case <-w.stop:
			return
		case <-w.kick:
		}
		select {
		case <-w.stop:
			return
		case <-time.After(flushDelay):
		}
		if err := w.flush(context.Background()); err != nil {
			w.log.Warn("could not record job states; will retry", "err", err)
		}
	}
}

// flush writes everything queued in one transaction. On failure it is all
// queued again (what came meanwhile is newer and wins), and the error says
// the store lags behind.
func (w *writer) flush(ctx context.Context) error {
	if w == nil {
		return nil
	}
	w.writing.Lock()
	defer w.writing.Unlock()
	w.engine.Lock()
	w.mu.Lock()
	jobs, done, fault := w.jobs, w.done, w.fault
	w.jobs, w.done = make(map[string]*pendingJob), nil
	w.mu.Unlock()
	w.engine.Unlock()
	if len(jobs) == 0 && len(done) == 0 {
		return nil
	}
	changes := make([]store.Change, 0, len(jobs))
	for id, p := range jobs {
		c := store.Change{Key: w.key(id), Job: p.job}
		for _, es := range p.elems {
			c.Elements = append(c.Elements, es)
		}
		changes = append(changes, c)
	}
	var err error
	if fault != nil {
		err = fault()
	}
	var unknown []store.Key
	var conflicts []error
	if err == nil {
		unknown, conflicts, err = w.db.Apply(ctx, done, changes)
	}
	for _, c := range conflicts {
		w.log.Error("job store: recording a submission's job id", "err", c)
	}
	if err != nil {
		w.requeue(jobs, done)
		return fmt.Errorf("job store: %w", err)
	}
	if len(unknown) > 0 {
		w.log.Debug("job store does not know some tracked jobs (submitted without a store)", "count", len(unknown))
	}
	return nil
}

// requeue puts back a batch that was not written, under the changes queued
// since, which are newer.
func (w *writer) requeue(jobs map[string]*pendingJob, done []store.Completion) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = append(done, w.done...)
	for id, old := range jobs {
		cur := w.jobs[id]
		if cur == nil {
			w.jobs[id] = old
			continue
		}
		if cur.job == nil {
			cur.job = old.job
		}
		for i, es := range old.elems {
			if _, newer := cur.elems[i]; !newer {
				if cur.elems == nil {
					cur.elems = make(map[int]store.ElementState)
				}
				cur.elems[i] = es
			}
		}
	}
}

// close stops the writer's goroutine and writes what is left, within ctx.
func (w *writer) close(ctx context.Context) error {
	close(w.stop)
	<-w.stopped
	return w.flush(ctx)
}

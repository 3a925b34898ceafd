package clusterapi

import (
	"log/slog"
	"sync"
)

// dispatcher runs callbacks one at a time on a goroutine it owns, so that a
// slow or panicking callback can neither block the poll loop nor take the
// engine down. The queue is unbounded: the poll loop must never wait on user
// code.
type dispatcher struct {
	log      *slog.Logger
	mu       sync.Mutex
	cond     *sync.Cond
	queue    []task
	closed   bool
	finished chan struct{}
	// afterRun is called (without mu) after each task, to let the engine
	// count callbacks that have completed.
	afterRun func(j *Job)
}

type task struct {
	job *Job
	fn  func(Record)
	rec Record
}

func newDispatcher(log *slog.Logger, afterRun func(*Job)) *dispatcher {
	d := &dispatcher{log: log, finished: make(chan struct{}), afterRun: afterRun}
	d.cond = sync.NewCond(&d.mu)
	go d.loop()
	return d
}

// enqueueFor queues fn(rec) for job j.
func (d *dispatcher) enqueueFor(j *Job, fn func(Record), rec Record) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		d.log.Warn("callback dropped: executor closed", "job", rec.ID)
		return
	}
	d.queue = append(d.queue, task{job: j, fn: fn, rec: rec})
	d.cond.Signal()
}

func (d *dispatcher) loop() {
	defer close(d.finished)
	for {
		d.mu.Lock()
		for len(d.queue) == 0 && !d.closed {
			d.cond.Wait()
		}
		if len(d.queue) == 0 {
			d.mu.Unlock()
			return
		}
		t := d.queue[0]
		d.queue[0] = task{}
		d.queue = d.queue[1:]
		d.mu.Unlock()
		d.run(t)
		if t.job != nil && d.afterRun != nil {
			d.afterRun(t.job)
		}
	}
}

func (d *dispatcher) run(t task) {
	defer func() {
		if r := recover(); r != nil {
			d.log.Error("callback panicked", "job", t.rec.ID, "panic", r)
		}
	}()
	t.fn(t.rec)
}

// close runs what is queued, then stops the goroutine and waits for it.
func (d *dispatcher) close() {
	d.mu.Lock()
	d.closed = true
	d.cond.Signal()
	d.mu.Unlock()
	<-d.finished
}

package clusterapi

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Monitor polls an Executor every poll_interval until stopped. A failed poll
// (the scheduler's status command failing or timing out) is logged and the
// interval doubles, up to MaxBackoff, until a poll succeeds again; failed
// polls never count towards zombie detection.
type Monitor struct {
	e          *Executor
	interval   time.Duration
	maxBackoff time.Duration

	mu      sync.Mutex
	cancel  context.CancelFunc
	stopped chan struct{}
	wake    chan struct{}
}

// MonitorOptions refine a Monitor; nil means defaults.
type MonitorOptions struct {
	// Interval between polls; 0 = the executor's poll_interval.
	Interval time.Duration
	// MaxBackoff caps the interval after failures; 0 = 16 × Interval, at
	// most 5 minutes.
	MaxBackoff time.Duration
}

// NewMonitor creates a monitor for e. Start it, and Stop it when done.
func NewMonitor(e *Executor, opts *MonitorOptions) *Monitor {
	if opts == nil {
		opts = &MonitorOptions{}
	}
	m := &Monitor{e: e, interval: opts.Interval, maxBackoff: opts.MaxBackoff, wake: make(chan struct{}, 1)}
	if m.interval <= 0 {
		m.interval = e.cfg.PollInterval
	}
	if m.maxBackoff <= 0 {
		m.maxBackoff = min(16*m.interval, 5*time.Minute)
	}
	return m
}

// Start begins polling in a goroutine the monitor owns. Starting a running
// monitor does nothing.
func (m *Monitor) Start() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.stopped = make(chan struct{})
	go m.loop(ctx, m.stopped)
}

// Stop ends polling and returns after the polling goroutine has exited.
func (m *Monitor) Stop() {
	m.mu.Lock()
	cancel, stopped := m.cancel, m.stopped
	m.cancel = nil
	m.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-stopped
}

// PollNow asks for a poll as soon as possible instead of at the next tick.
func (m *Monitor) PollNow() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *Monitor) loop(ctx context.Context, stopped chan struct{}) {
	defer close(stopped)
	// The interval counts towards the shared one while this monitor runs.
	m.e.mu.Lock()
	m.e.pollEvery = m.interval
	m.e.mu.Unlock()
	defer func() {
		m.e.mu.Lock()
		m.e.pollEvery = 0
		m.e.mu.Unlock()
	}()
	delay := m.interval
	failures := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-m.wake:
			// The Reset below replaces the pending tick: since Go 1.23 a
			// timer delivers no stale tick after Reset.
		}
		err := m.e.Poll(ctx)
		switch {
		case err == nil:
			if failures > 0 {
				m.e.log.Info("scheduler answering again", "failed_polls", failures)
			}
			failures, delay = 0, m.e.sharedInterval(m.interval)
		case errors.Is(err, context.Canceled) && ctx.Err() != nil:
			return
		default:
			failures++
			delay = min(delay*2, m.maxBackoff)
			// Log the first failure and then only as the backoff grows, so
			// an outage does not flood the log.
			if failures == 1 || delay < m.maxBackoff || failures%10 == 0 {
				m.e.log.Warn("poll failed; jobs keep their last known state", "err", err, "failures", failures, "next_poll_in", delay)
			}
		}
		timer.Reset(delay)
	}
}

// Wait blocks until every job is terminal or ctx ends. It returns the
// records in the order given.
func (m *Monitor) Wait(ctx context.Context, jobs ...*Job) ([]Record, error) {
	out := make([]Record, len(jobs))
	for i, j := range jobs {
		r, err := j.Wait(ctx)
		out[i] = r
		if err != nil {
			for k := i + 1; k < len(jobs); k++ {
				out[k] = jobs[k].Snapshot()
			}
			return out, err
		}
	}
	return out, nil
}

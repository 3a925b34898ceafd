package clusterapi

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

func TestMonitorBackoff(t *testing.T) {
	t.Parallel()
	const s = time.Second
	cases := []struct {
		name       string
		maxBackoff time.Duration
		failing    map[int]bool // poll calls (0-based) that fail
		run        time.Duration
		wantGaps   []time.Duration
	}{
		{
			name:     "steady",
			run:      45 * s,
			wantGaps: []time.Duration{10 * s, 10 * s, 10 * s, 10 * s},
		},
		{
			name:       "doubles on failures and resets after success",
			maxBackoff: time.Hour,
			failing:    map[int]bool{1: true, 2: true, 3: true},
			run:        195 * s,
			// poll 0 ok; 1, 2, 3 fail (next in 20, 40, 80 s); 4 ok (next in 10 s).
			wantGaps: []time.Duration{10 * s, 20 * s, 40 * s, 80 * s, 10 * s, 10 * s, 10 * s, 10 * s},
		},
		{
			name:       "capped at MaxBackoff",
			maxBackoff: 30 * s,
			failing:    map[int]bool{0: true, 1: true, 2: true, 3: true},
			run:        135 * s,
			wantGaps:   []time.Duration{20 * s, 30 * s, 30 * s, 30 * s, 10 * s, 10 * s},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			synctest.Test(t, func(t *testing.T) {
				f := newFake()
				f.pollErr = func(n int) error {
					if c.failing[n] {
						return &scheduler.TimeoutError{Argv: []string{"bjobs"}, Timeout: 100 * s}
					}
					return nil
				}
				e := newTestExecutor(t, f, Config{StateDir: dir, PollInterval: 10 * s})
				defer e.Close()
				m := NewMonitor(e, &MonitorOptions{MaxBackoff: c.maxBackoff})
				m.Start()
				m.Start() // no second loop
				time.Sleep(c.run)
				m.Stop()
				times := f.polls()
				var gaps []time.Duration
				for i := 1; i < len(times); i++ {
					gaps = append(gaps, times[i].Sub(times[i-1]))
				}
				if diff := cmp.Diff(c.wantGaps, gaps); diff != "" {
					t.Errorf("intervals between polls (-want +got):\n%s", diff)
				}
				// Stopped: no more polls.
				n := len(f.polls())
				time.Sleep(time.Hour)
				if m := len(f.polls()); m != n {
					t.Errorf("%d polls after Stop", m-n)
				}
			})
		})
	}
}

func TestMonitorDrivesJobsToTheEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		e := newTestExecutor(t, f, Config{StateDir: dir, PollInterval: 5 * time.Second})
		defer e.Close()
		m := NewMonitor(e, nil)
		m.Start()
		defer m.Stop()
		var cnt counter
		a := mustSubmit(t, e, spec(dir, "a", "true"))
		b := mustSubmit(t, e, spec(dir, "b", "true"))
		a.OnSuccess(cnt.fn("a"))
		b.OnFailure(cnt.fn("b"))
		go func() {
			time.Sleep(time.Minute)
			f.setStatus(a.ID(), 0, Done, 0)
			time.Sleep(time.Minute)
			f.setStatus(b.ID(), 0, Failed, 1)
		}()
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		recs, err := m.Wait(ctx, a, b)
		if err != nil {
			t.Fatal(err)
		}
		if recs[0].Status != Done || recs[1].Status != Failed {
			t.Errorf("statuses = %s, %s", recs[0].Status, recs[1].Status)
		}
		synctest.Wait()
		if cnt.get("a") != 1 || cnt.get("b") != 1 {
			t.Errorf("callbacks: %v", &cnt)
		}

		// Wait gives up with the context, returning the current records.
		c := mustSubmit(t, e, spec(dir, "c", "true"))
		ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel2()
		recs, err = m.Wait(ctx2, c)
		if !errors.Is(err, context.DeadlineExceeded) || recs[0].Status != Pending {
			t.Errorf("Wait on a job that never ends = %v, %v", recs[0].Status, err)
		}
	})
}

func TestMonitorPollNow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		e := newTestExecutor(t, f, Config{StateDir: dir, PollInterval: time.Hour})
		defer e.Close()
		m := NewMonitor(e, nil)
		m.Start()
		defer m.Stop()
		synctest.Wait()
		if n := len(f.polls()); n != 1 {
			t.Fatalf("%d polls at start, want 1", n)
		}
		m.PollNow()
		synctest.Wait()
		if n := len(f.polls()); n != 2 {
			t.Errorf("%d polls after PollNow, want 2", n)
		}
	})
}

func TestMonitorStopLeavesNoGoroutine(t *testing.T) {
	// Not parallel: goleak looks at every goroutine of the process.
	f := newFake()
	e := newTestExecutor(t, f, Config{PollInterval: time.Millisecond})
	m := NewMonitor(e, nil)
	for range 3 {
		m.Start()
		m.PollNow()
		m.Stop()
	}
	m.Stop() // stopping a stopped monitor is fine
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, goleak.IgnoreCurrent())
}

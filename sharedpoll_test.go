package clusterapi

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

// pollers drives K executors sharing one state dir as K processes with
// monitors would, one after another in one goroutine (deterministic under
// synctest): each polls when its interval is up.
type pollers struct {
	t    *testing.T
	exs  []*Executor
	next []time.Time
	own  time.Duration
	dead map[int]bool
}

func newPollers(t *testing.T, f *fakeSched, dir string, k int, own time.Duration, cfg func(i int) Config) *pollers {
	p := &pollers{t: t, own: own, dead: map[int]bool{}}
	for i := range k {
		c := cfg(i)
		c.StateDir, c.PollInterval = dir, own
		e, err := New(c, &Options{Scheduler: f})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		e.mu.Lock()
		e.pollEvery = own // as its Monitor would
		e.mu.Unlock()
		p.exs = append(p.exs, e)
		p.next = append(p.next, time.Now())
	}
	return p
}

// run advances the clock to d from now in 100 ms steps, polling each live
// executor when due.
func (p *pollers) run(d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		for i, e := range p.exs {
			if p.dead[i] || time.Now().Before(p.next[i]) {
				continue
			}
			if err := e.Poll(context.Background()); err != nil {
				p.t.Fatalf("executor %d: Poll: %v", i, err)
			}
			p.next[i] = time.Now().Add(e.sharedInterval(p.own))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// statusCommands counts the fake scheduler's polls in [from, to).
func statusCommands(f *fakeSched, from, to time.Time) int {
	n := 0
	for _, at := range f.polls() {
		if !at.Before(from) && at.Before(to) {
			n++
		}
	}
	return n
}

// K processes waiting on the same jobs run one status command per
// interval between them, flat in K, and every one of them sees every job
// end, whatever its job_name_prefix.
func TestSharedPollingIsFlatInK(t *testing.T) {
	t.Parallel()
	for _, k := range []int{1, 5, 20} {
		t.Run(fmt.Sprintf("K=%d", k), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			synctest.Test(t, func(t *testing.T) {
				f := newFake()
				p := newPollers(t, f, dir, k, 2*time.Second, func(i int) Config {
					// The last process uses another prefix: the holder must
					// not make its jobs vanish.
					if i == k-1 && k > 1 {
						return Config{JobNamePrefix: "other", ZombieTimeout: 10 * time.Second}
					}
					return Config{JobNamePrefix: "p", ZombieTimeout: 10 * time.Second}
				})
				var jobs [][]*Job
				for _, e := range p.exs {
					var mine []*Job
					for n := range 3 {
						mine = append(mine, mustSubmit(t, e, spec(dir, fmt.Sprintf("j%d", n), "sleep 1")))
					}
					jobs = append(jobs, mine)
				}
				for _, mine := range jobs {
					for _, j := range mine {
						f.setStatus(j.ID(), 0, Running, 0)
					}
				}
				start := time.Now()
				p.run(30 * time.Second)
				for _, mine := range jobs {
					for _, j := range mine {
						f.setStatus(j.ID(), 0, Done, 0)
					}
				}
				p.run(30 * time.Second)
				if n := statusCommands(f, start, time.Now()); n < 27 || n > 32 {
					t.Errorf("K=%d processes with a 2 s interval ran %d status commands in 60 s, want about 30", k, n)
				}
				for i, mine := range jobs {
					for _, j := range mine {
						if r := j.Snapshot(); r.Status != Done {
							t.Errorf("process %d sees job %s (%s) as %s (%s), want done", i, j.ID(), r.Name, r.Status, r.Detail)
						}
					}
				}
			})
		})
	}
}

// A lease holder that dies (SIGKILL: it never gives the lease back) is
// replaced within two intervals.
func TestSharedPollingHolderDies(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		p := newPollers(t, f, dir, 3, 2*time.Second, func(int) Config { return Config{JobNamePrefix: "p"} })
		j := mustSubmit(t, p.exs[1], spec(dir, "j", "sleep 1"))
		f.setStatus(j.ID(), 0, Running, 0)
		p.run(10 * time.Second)
		st, err := p.exs[1].PollState(context.Background())
		if err != nil || !st.Shared || st.Holder == "" || st.Pollers != 3 || st.Interval != 2*time.Second {
			t.Fatalf("poll state %+v, %v; want a holder among 3 pollers, interval 2s", st, err)
		}
		holder := -1
		for i, e := range p.exs {
			if e.process == st.Holder {
				holder = i
			}
		}
		if holder < 0 {
			t.Fatalf("no executor holds the lease %q", st.Holder)
		}
		p.dead[holder] = true
		died := time.Now()
		p.run(20 * time.Second)
		var gap time.Duration
		last := died
		for _, at := range f.polls() {
			if at.After(died) {
				gap = max(gap, at.Sub(last))
				last = at
			}
		}
		if gap > 4*time.Second {
			t.Errorf("after the holder died the next status command came %v later, want within two intervals (4 s)", gap)
		}
		f.setStatus(j.ID(), 0, Done, 0)
		p.run(6 * time.Second)
		if r := j.Snapshot(); r.Status != Done {
			t.Errorf("job %s is %s after the holder died, want done", j.ID(), r.Status)
		}
	})
}

// min_poll_interval: 60 with five processes polling every 2 s gives at
// most one status command a minute.
func TestMinPollInterval(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		p := newPollers(t, f, dir, 5, 2*time.Second, func(int) Config {
			return Config{JobNamePrefix: "p", MinPollInterval: time.Minute}
		})
		j := mustSubmit(t, p.exs[0], spec(dir, "j", "sleep 1"))
		f.setStatus(j.ID(), 0, Running, 0)
		start := time.Now()
		p.run(5 * time.Minute)
		if n := statusCommands(f, start, time.Now()); n > 5 || n < 4 {
			t.Errorf("%d status commands in 5 minutes with min_poll_interval 60 s, want at most one a minute (4-5)", n)
		}
		polls := f.polls()
		for i := 1; i < len(polls); i++ {
			if gap := polls[i].Sub(polls[i-1]); gap < time.Minute {
				t.Errorf("two status commands %v apart, below min_poll_interval", gap)
			}
		}
		if got := p.exs[0].Config().PollInterval; got != time.Minute {
			t.Errorf("poll_interval 2 s under min_poll_interval 60 s is %v, want raised to 1m", got)
		}
	})
}

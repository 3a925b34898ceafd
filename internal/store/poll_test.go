package store

import (
	"context"
	"testing"
	"time"
)

// The poll lease: one status command at a time, a holder in the middle of
// one keeps the lease until its command may time out, a dead holder is
// replaced at once, and min_poll_interval spaces status commands whoever
// runs them.
func TestClaimPoll(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := openTest(t)
	lease := func(iv time.Duration) time.Duration { return iv + iv/2 }
	dead := map[string]bool{}
	claim := func(proc string, minGap time.Duration) PollDecision {
		t.Helper()
		d, err := s.ClaimPoll(ctx, PollClaim{Scheduler: "lsf", Process: proc, Interval: 100 * time.Millisecond, MinGap: minGap,
			CommandTimeout: time.Second, Alive: func(h string) bool { return !dead[h] }}, lease)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	advance := func(d time.Duration) { clk.n.Add(int64(d / time.Millisecond)) }

	if d := claim("a", 0); !d.Run || d.Holder != "a" || d.Interval != 100*time.Millisecond {
		t.Fatalf("first claim %+v, want a runs, interval 100ms", d)
	}
	if d := claim("b", 0); d.Run || d.Holder != "a" {
		t.Fatalf("b's claim while a holds the lease: %+v, want a read", d)
	}
	advance(500 * time.Millisecond) // past the lease, within a's command timeout
	if d := claim("b", 0); d.Run {
		t.Fatalf("b took the lease while a's status command still runs: %+v", d)
	}
	if err := s.FinishPoll(ctx, "lsf", "a", nil); err != nil {
		t.Fatal(err)
	}
	advance(200 * time.Millisecond)
	if d := claim("b", 0); !d.Run || d.Holder != "b" {
		t.Fatalf("b after a's lease expired between two commands: %+v, want b runs", d)
	}
	dead["b"] = true
	if d := claim("c", 0); !d.Run || d.Holder != "c" {
		t.Fatalf("c while the holder b is dead: %+v, want c runs at once", d)
	}
	if err := s.FinishPoll(ctx, "lsf", "c", nil); err != nil {
		t.Fatal(err)
	}
	advance(time.Second)
	if d := claim("a", time.Minute); d.Run || d.Interval != time.Minute {
		t.Fatalf("a within min_poll_interval of c's command: %+v, want a read, interval 1m", d)
	}
	advance(time.Minute)
	if d := claim("a", time.Minute); !d.Run {
		t.Fatalf("a a minute later: %+v, want a runs", d)
	}
	st, err := s.PollStatus(ctx, "lsf")
	if err != nil || st.Holder != "a" || st.Pollers == 0 {
		t.Errorf("PollStatus = %+v, %v; want a holding the lease", st, err)
	}
	if err := s.LeavePoll(ctx, "lsf", "a"); err != nil {
		t.Fatal(err)
	}
	if d := claim("b2", 0); !d.Run {
		t.Errorf("after a left the poll: %+v, want b2 runs at once", d)
	}
}

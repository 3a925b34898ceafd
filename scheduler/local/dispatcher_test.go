package local

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// HandOff decides under the journal lock: with nothing waiting the holder
// gives the role up at once, so that a later submitter takes it; with jobs
// of another process waiting the holder returns its role to hand to a
// child; and an instance that handed off never takes the role back.
func TestHandOff(t *testing.T) {
	t.Parallel()
	e := newSpool(t)
	state := e.state
	a := openSched(t, state, 1)
	e.submitOn(a, "a", "sleep 0.3", nil)
	b := openSched(t, state, 1)
	waiting := e.submitOn(b, "b", "true", nil)
	a.mu.Lock()
	lock, err := a.handOffLocked()
	a.mu.Unlock()
	if err != nil || lock == nil {
		t.Fatalf("the holder's hand-off with another process's job waiting: %v, %v; want its role", lock, err)
	}
	if f, ok, _ := lockDispatcher(a.sp); ok {
		f.Close()
		t.Error("the role was free while being handed off")
	}
	lock.Close()
	a.mu.Lock()
	a.role.Close()
	a.role, a.retired = nil, true
	a.mu.Unlock()
	// b takes the role (it has work waiting), starts its job, and with
	// nothing left waiting its hand-off lets the role go.
	pollUntilTerminal(t, b, []string{waiting})
	b.mu.Lock()
	lock, err = b.handOffLocked()
	held := b.role != nil
	b.mu.Unlock()
	if err != nil || lock != nil || held {
		t.Errorf("hand-off with nothing waiting: %v, %v, still held %v; want the role given up", lock, err, held)
	}
	if f, ok, _ := lockDispatcher(b.sp); !ok {
		t.Error("the role is still held after a hand-off with nothing waiting")
	} else {
		f.Close()
	}
	a.mu.Lock()
	retook := a.holdRoleLocked()
	a.mu.Unlock()
	if retook {
		t.Error("an instance that handed off took the role again")
	}
}

// An environment too large for a process to be started with is refused
// with a clear error, not written into the journal.
func TestHugeEnvironmentRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	e.s.environ = func() []string { return []string{"HUGE=" + strings.Repeat("x", maxEnv)} }
	_, err := submitTo(context.Background(), e.s, e.w, e.wd, "huge", "true", nil)
	var se *scheduler.SubmitError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "environment") {
		t.Errorf("Submit with a %d-byte environment: %v, want a SubmitError about the environment", maxEnv, err)
	}
}

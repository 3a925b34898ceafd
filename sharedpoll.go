package clusterapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/store"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

// Shared polling: the processes of a user that share a state dir and a
// grid scheduler run one status command per interval between them. The
// one holding the poll lease (in the job store) polls every unfinished
// job of the store, whatever its job_name_prefix, and writes what it
// learns; the others read the store instead of asking the scheduler. The
// interval is the smallest poll_interval among live pollers, never below
// min_poll_interval. Zombie time, accounting and exit files are the
// holder's: a reader only applies states, never older than its own.
//
// The local executor does not share: it notifies its processes itself.

// processName names this executor for the lease: host, pid and a random
// part (one process may open several executors).
func processName() string {
	host, _ := os.Hostname()
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// pollClaim is this process's claim of the shared poll, polling every
// interval (0: a one-shot command).
func (e *Executor) pollClaim(interval time.Duration) store.PollClaim {
	return store.PollClaim{Scheduler: e.sched.Name(), Process: e.process, Interval: interval,
		MinGap: e.cfg.MinPollInterval, CommandTimeout: e.cfg.CommandTimeout, Alive: holderAlive}
}

// holderAlive reports whether the process a lease holder names lives: a
// process of this host that is gone is dead (a SIGKILLed holder is replaced
// at once); of another host, it cannot tell.
func holderAlive(holder string) bool {
	host, rest, ok := strings.Cut(holder, ":")
	pid, _, ok2 := strings.Cut(rest, ":")
	me, _ := os.Hostname()
	n, err := strconv.Atoi(pid)
	if !ok || !ok2 || err != nil || host != me {
		return true
	}
	return processAlive(n)
}

// sharesPolls reports whether this executor takes part in shared polling.
func (e *Executor) sharesPolls() bool {
	if e.db == nil {
		return false
	}
	_, notified := e.sched.(scheduler.Notifier)
	return !notified
}

// leaseFor is how long a poll lease lasts: the holder renews it at every
// poll, one interval apart; a holder that died is replaced within about
// one and a half intervals.
func leaseFor(interval time.Duration) time.Duration { return interval + interval/2 }

// covering is the query of the lease holder: this executor's own
// (job_name_prefix) when every job it follows carries that prefix, else
// all of the user's jobs, so that a process with another prefix never
// sees its jobs vanish.
func (e *Executor) covering() scheduler.Query {
	q := e.query()
	if q.Prefix == "" {
		return q
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, j := range e.jobs {
		if !j.st.status.Terminal() && !strings.HasPrefix(j.st.rec.Name, q.Prefix) {
			q.Prefix = ""
			break
		}
	}
	return q
}

// readShared is a reader's poll: it applies what the store holds of the
// jobs this process follows, when the store has it newer than what the
// process has.
func (e *Executor) readShared(ctx context.Context) error {
	e.mu.Lock()
	ids := e.unfinishedLocked()
	e.mu.Unlock()
	return e.learn(ctx, ids, time.Now(), 0, true)
}

// sharedInterval is how often this process should call Poll given its own
// interval: the shared interval while it holds the lease (another process
// may want polls more often), its own otherwise.
func (e *Executor) sharedInterval(own time.Duration) time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.shared.Run && e.shared.Interval > 0 {
		return min(own, e.shared.Interval)
	}
	return own
}

// PollState says how this executor shares its polls (see doctor).
type PollState struct {
	// Shared is false for the local executor and without a job store.
	Shared bool
	// Holder is the process that holds the poll lease ("" if none).
	Holder string
	// LastStart and LastFinish are the last status command's (anyone's);
	// LastError is its error, "" if it answered.
	LastStart, LastFinish time.Time
	LastError             string
	// Interval is the effective shared interval: the smallest
	// poll_interval among live pollers, never below min_poll_interval.
	Interval time.Duration
	// Pollers is how many live processes poll.
	Pollers int
}

// PollState reports the shared poll as the job store holds it.
func (e *Executor) PollState(ctx context.Context) (PollState, error) {
	if err := e.usable(ctx); err != nil || !e.sharesPolls() {
		return PollState{}, err
	}
	st, err := e.db.PollStatus(ctx, e.sched.Name())
	if err != nil {
		return PollState{}, err
	}
	return PollState{Shared: true, Holder: st.Holder, LastStart: st.LastStart, LastFinish: st.LastFinish, LastError: st.LastError,
		Interval: max(st.Interval, e.cfg.MinPollInterval), Pollers: st.Pollers}, nil
}

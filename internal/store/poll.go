package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Shared polling: processes that share a state dir and a scheduler run one
// status command per interval between them. The process holding the poll
// lease runs it and writes what it learnt; the others read the store.

// PollClaim is a process's request to poll (see ClaimPoll).
type PollClaim struct {
	Scheduler string
	// Process names the caller uniquely ("host:pid:random").
	Process string
	// Interval is the caller's poll_interval; 0 for a one-shot command,
	// which does not count towards the shared interval.
	Interval time.Duration
	// MinGap is the site's min_poll_interval: the least time between two
	// status commands, whoever runs them.
	MinGap time.Duration
	// CommandTimeout is how long a holder's status command may run: its
	// lease does not expire under it before that.
	CommandTimeout time.Duration
	// Alive reports whether the process a holder names still lives (false
	// only when it knows: a process of this host that is gone); nil = yes.
	Alive func(holder string) bool
}

// PollDecision says whether the caller runs the status command now.
type PollDecision struct {
	// Run: the caller holds the lease and runs the status command, then
	// calls FinishPoll. Otherwise it reads the states from the store.
	Run bool
	// Holder is the process holding the lease (the caller when Run).
	Holder string
	// Interval is the shared interval: the smallest poll interval among
	// live pollers, never below MinGap (0 when none is known).
	Interval time.Duration
	// LastStart and LastFinish are the last status command's, whoever ran it.
	LastStart, LastFinish time.Time
}

// PollStatus is what doctor shows about shared polling.
type PollStatus struct {
	Holder                string
	Expires               time.Time
	LastStart, LastFinish time.Time
	LastOK                bool
	LastError             string
	// Interval is the smallest poll interval among live pollers.
	Interval time.Duration
	Pollers  int
}

// liveFactor: a poller that has not polled for this many of its intervals
// is gone (its interval no longer counts).
const liveFactor = 3

// ClaimPoll decides, in one write transaction, whether c's process runs the
// status command now. It does when the lease is free, its own, held by a
// dead process, or expired between two status commands,
// and the last status command (anyone's) started at least MinGap ago; it
// then holds the lease for leaseFor(interval) and the round counts as
// started. A process that polls with an interval is recorded as a live
// poller.
func (s *Store) ClaimPoll(ctx context.Context, c PollClaim, leaseFor func(interval time.Duration) time.Duration) (PollDecision, error) {
	var d PollDecision
	now := s.now()
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		if c.Interval > 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO pollers (scheduler, process, interval, seen) VALUES (?, ?, ?, ?)
				ON CONFLICT (scheduler, process) DO UPDATE SET interval = excluded.interval, seen = excluded.seen`,
				c.Scheduler, c.Process, int64(c.Interval), now.UnixNano()); err != nil {
				return err
			}
		}
		var interval sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MIN(interval) FROM pollers WHERE scheduler = ? AND seen + ? * interval >= ?`,
			c.Scheduler, liveFactor, now.UnixNano()).Scan(&interval); err != nil {
			return err
		}
		d.Interval = max(time.Duration(interval.Int64), c.MinGap)
		var holder string
		var expires, started, finished int64
		err := tx.QueryRowContext(ctx, `SELECT holder, expires, started, finished FROM poll_lease WHERE scheduler = ?`, c.Scheduler).
			Scan(&holder, &expires, &started, &finished)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		d.Holder, d.LastStart, d.LastFinish = holder, fromNano(started), fromNano(finished)
		// A lease is free when it is ours, when its holder died, or when it
		// expired and its holder is not in the middle of a status command
		// (which may take up to CommandTimeout: taking the lease over then
		// would run two at once).
		running := finished == 0 && started > 0 && now.Sub(time.Unix(0, started)) < c.CommandTimeout
		free := errors.Is(err, sql.ErrNoRows) || holder == c.Process || (c.Alive != nil && !c.Alive(holder)) ||
			(expires < now.UnixNano() && !running)
		if !free || (started > 0 && now.Sub(time.Unix(0, started)) < c.MinGap) {
			return nil
		}
		d.Run, d.Holder = true, c.Process
		lease := now.Add(leaseFor(max(d.Interval, c.Interval))).UnixNano()
		_, err = tx.ExecContext(ctx, `INSERT INTO poll_lease (scheduler, holder, expires, started, finished, ok, error) VALUES (?, ?, ?, ?, 0, 0, '')
			ON CONFLICT (scheduler) DO UPDATE SET holder = excluded.holder, expires = excluded.expires, started = excluded.started,
				finished = 0, ok = 0, error = ''`, c.Scheduler, c.Process, lease, now.UnixNano())
		return err
	})
	if err != nil {
		return PollDecision{}, fmt.Errorf("job store: claiming the poll: %w", err)
	}
	return d, nil
}

// FinishPoll records the end of the status command the lease holder ran
// (pollErr nil: it answered). A process that lost the lease meanwhile
// records nothing.
func (s *Store) FinishPoll(ctx context.Context, sched, process string, pollErr error) error {
	now := s.now()
	ok, msg := 1, ""
	if pollErr != nil {
		ok, msg = 0, pollErr.Error()
	}
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE poll_lease SET finished = ?, ok = ?, error = ? WHERE scheduler = ? AND holder = ?`,
			now.UnixNano(), ok, msg, sched, process)
		return err
	})
	if err != nil {
		return fmt.Errorf("job store: recording the poll: %w", err)
	}
	return nil
}

// LeavePoll gives up the lease (if the process holds it, so that another
// takes over at once) and its place among the pollers: a process that
// closes.
func (s *Store) LeavePoll(ctx context.Context, sched, process string) error {
	now := s.now().UnixNano()
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		// A status command it left unfinished is over: it runs no more.
		if _, err := tx.ExecContext(ctx, `UPDATE poll_lease SET expires = 0, finished = CASE WHEN finished = 0 THEN ? ELSE finished END
			WHERE scheduler = ? AND holder = ?`, now, sched, process); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM pollers WHERE scheduler = ? AND process = ?`, sched, process)
		return err
	})
	if err != nil {
		return fmt.Errorf("job store: leaving the poll: %w", err)
	}
	return nil
}

// PollStatus reports the lease, the last status command and the live
// pollers of sched.
func (s *Store) PollStatus(ctx context.Context, sched string) (PollStatus, error) {
	var st PollStatus
	now := s.now().UnixNano()
	var expires, started, finished int64
	var ok int
	err := s.r.QueryRowContext(ctx, `SELECT holder, expires, started, finished, ok, error FROM poll_lease WHERE scheduler = ?`, sched).
		Scan(&st.Holder, &expires, &started, &finished, &ok, &st.LastError)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("job store: reading the poll lease: %w", s.wrap(err))
	}
	st.Expires, st.LastStart, st.LastFinish, st.LastOK = fromNano(expires), fromNano(started), fromNano(finished), ok == 1
	var interval sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT MIN(interval), COUNT(*) FROM pollers WHERE scheduler = ? AND seen + ? * interval >= ?`,
		sched, liveFactor, now).Scan(&interval, &st.Pollers); err != nil {
		return st, fmt.Errorf("job store: reading the pollers: %w", s.wrap(err))
	}
	st.Interval = time.Duration(interval.Int64)
	return st, nil
}

func fromNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

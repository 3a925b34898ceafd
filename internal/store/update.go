package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// UpdateJob records a job's state in one transaction. It writes only what
// differs from the stored row and appends an event only when the status,
// reason or exit code changed, so calling it on every poll is cheap. An
// unknown key is an error wrapping ErrNotFound.
func (s *Store) UpdateJob(ctx context.Context, key Key, st JobState) error {
	return s.applyOne(ctx, Change{Key: key, Job: &st})
}

// UpdateElements records the states of array elements of one job in one
// transaction, with the same rules as UpdateJob. Elements not seen before
// are added.
func (s *Store) UpdateElements(ctx context.Context, key Key, elems []ElementState) error {
	return s.applyOne(ctx, Change{Key: key, Elements: elems})
}

func (s *Store) applyOne(ctx context.Context, c Change) error {
	unknown, err := s.ApplyPoll(ctx, []Change{c})
	if err != nil {
		return err
	}
	if len(unknown) > 0 {
		return fmt.Errorf("job store: job %s: %w (it was never recorded, or its id was reused by a newer job)", c.Key, ErrNotFound)
	}
	return nil
}

// ApplyPoll records many jobs' changes in ONE transaction: one lock, one
// commit, whatever the number of jobs, which is what makes a poll of 10k
// jobs affordable. Rows are written only where something differs; events
// are appended only where the status, reason or exit code changed.
//
// Changes for keys the store does not know are skipped and returned in
// unknown (the rest is still applied): one stray job must not lose a whole
// poll. A change without a status is an error and nothing is written.
func (s *Store) ApplyPoll(ctx context.Context, changes []Change) (unknown []Key, err error) {
	for _, c := range changes {
		if c.Job != nil && c.Job.Status == "" {
			return nil, fmt.Errorf("job store: state of job %s has no status; nothing of this poll was recorded", c.Key)
		}
		for _, e := range c.Elements {
			if e.Status == "" {
				return nil, fmt.Errorf("job store: element %d of job %s has no status; nothing of this poll was recorded", e.Index, c.Key)
			}
		}
	}
	if len(changes) == 0 {
		return nil, nil
	}
	now := s.now().UnixNano()
	err = s.write(ctx, false, func(tx *sql.Tx) error {
		unknown = unknown[:0]
		a, err := prepareApplier(ctx, tx, now)
		if err != nil {
			return err
		}
		defer a.close()
		for i := range changes {
			found, err := a.apply(ctx, &changes[i])
			if err != nil {
				return fmt.Errorf("job store: recording job %s: %w", changes[i].Key, err)
			}
			if !found {
				unknown = append(unknown, changes[i].Key)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return unknown, nil
}

// applier holds the statements of one ApplyPoll transaction, prepared once
// and run for every change.
type applier struct {
	now                                       int64
	selJob, updJob, touchJob, selElem, upsert *sql.Stmt
	insEvent                                  *sql.Stmt
}

func prepareApplier(ctx context.Context, tx *sql.Tx, now int64) (*applier, error) {
	a := &applier{now: now}
	stmts := []struct {
		dst **sql.Stmt
		sql string
	}{
		{&a.selJob, `SELECT id, status, reason, detail, exit_code, exec_host, max_mem, start_time, finish_time
			FROM jobs WHERE scheduler = ? AND job_id = ? AND superseded = 0`},
		{&a.updJob, `UPDATE jobs SET status = ?, reason = ?, detail = ?, exit_code = ?, exec_host = ?, max_mem = ?,
			start_time = ?, finish_time = ?, updated_at = ? WHERE id = ?`},
		{&a.touchJob, `UPDATE jobs SET updated_at = ? WHERE id = ?`},
		{&a.selElem, `SELECT status, reason, detail, exit_code, host, start_time, finish_time
			FROM elements WHERE job = ? AND idx = ?`},
		{&a.upsert, `INSERT INTO elements (job, idx, status, reason, detail, exit_code, host, start_time, finish_time, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (job, idx) DO UPDATE SET status = excluded.status, reason = excluded.reason,
				detail = excluded.detail, exit_code = excluded.exit_code, host = excluded.host,
				start_time = excluded.start_time, finish_time = excluded.finish_time, updated_at = excluded.updated_at`},
		{&a.insEvent, `INSERT INTO events (job, idx, time, status, reason, detail, exit_code) VALUES (?, ?, ?, ?, ?, ?, ?)`},
	}
	for _, st := range stmts {
		p, err := tx.PrepareContext(ctx, st.sql)
		if err != nil {
			a.close()
			return nil, err
		}
		*st.dst = p
	}
	return a, nil
}

func (a *applier) close() {
	for _, st := range []*sql.Stmt{a.selJob, a.updJob, a.touchJob, a.selElem, a.upsert, a.insEvent} {
		if st != nil {
			st.Close()
		}
	}
}

// state is the comparable form of a job or element state as stored.
type state struct {
	status, reason, detail, host, maxMem string
	exit, start, finish                  sql.NullInt64
}

// merge applies the JobState rules: status, reason, detail and exit code
// replace; host, max memory and times fill in only when known.
func (old state) merge(st scheduler.Status, reason scheduler.Reason, detail string, exit *int, host, maxMem string, start, finish time.Time) state {
	n := old
	n.status, n.reason, n.detail = string(st), string(reason), detail
	n.exit = sql.NullInt64{}
	if exit != nil {
		n.exit = sql.NullInt64{Int64: int64(*exit), Valid: true}
	}
	if host != "" {
		n.host = host
	}
	if maxMem != "" {
		n.maxMem = maxMem
	}
	if !start.IsZero() {
		n.start = sql.NullInt64{Int64: start.UnixNano(), Valid: true}
	}
	if !finish.IsZero() {
		n.finish = sql.NullInt64{Int64: finish.UnixNano(), Valid: true}
	}
	return n
}

// eventful reports whether going from old to n is a state change worth an
// event. A new pending reason from the scheduler (detail only) is not: it
// can change every poll.
func (old state) eventful(n state) bool {
	return old.status != n.status || old.reason != n.reason || old.exit != n.exit
}

func nullable(n sql.NullInt64) any {
	if !n.Valid {
		return nil
	}
	return n.Int64
}

func (a *applier) apply(ctx context.Context, c *Change) (found bool, err error) {
	var id int64
	var old state
	err = a.selJob.QueryRowContext(ctx, c.Key.Scheduler, c.Key.JobID).
		Scan(&id, &old.status, &old.reason, &old.detail, &old.exit, &old.host, &old.maxMem, &old.start, &old.finish)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	touched := false
	if j := c.Job; j != nil {
		n := old.merge(j.Status, j.Reason, j.Detail, j.ExitCode, j.ExecHost, j.MaxMem, j.StartTime, j.FinishTime)
		if n != old {
			if _, err := a.updJob.ExecContext(ctx, n.status, n.reason, n.detail, nullable(n.exit), n.host, n.maxMem,
				nullable(n.start), nullable(n.finish), a.now, id); err != nil {
				return true, err
			}
			touched = true
			if old.eventful(n) {
				if _, err := a.insEvent.ExecContext(ctx, id, nil, a.now, n.status, n.reason, n.detail, nullable(n.exit)); err != nil {
					return true, err
				}
			}
		}
	}
	elemsChanged := false
	for i := range c.Elements {
		changed, err := a.applyElement(ctx, id, &c.Elements[i])
		if err != nil {
			return true, fmt.Errorf("element %d: %w", c.Elements[i].Index, err)
		}
		elemsChanged = elemsChanged || changed
	}
	// UpdatedAt covers the elements too, so "what changed since" needs to
	// look at the job rows only.
	if elemsChanged && !touched {
		if _, err := a.touchJob.ExecContext(ctx, a.now, id); err != nil {
			return true, err
		}
	}
	return true, nil
}

func (a *applier) applyElement(ctx context.Context, job int64, e *ElementState) (bool, error) {
	var old state
	err := a.selElem.QueryRowContext(ctx, job, e.Index).
		Scan(&old.status, &old.reason, &old.detail, &old.exit, &old.host, &old.start, &old.finish)
	isNew := errors.Is(err, sql.ErrNoRows)
	if err != nil && !isNew {
		return false, err
	}
	n := old.merge(e.Status, e.Reason, e.Detail, e.ExitCode, e.Host, "", e.StartTime, e.FinishTime)
	if !isNew && n == old {
		return false, nil
	}
	if _, err := a.upsert.ExecContext(ctx, job, e.Index, n.status, n.reason, n.detail, nullable(n.exit), n.host,
		nullable(n.start), nullable(n.finish), a.now); err != nil {
		return false, err
	}
	if isNew || old.eventful(n) {
		if _, err := a.insEvent.ExecContext(ctx, job, e.Index, a.now, n.status, n.reason, n.detail, nullable(n.exit)); err != nil {
			return false, err
		}
	}
	return true, nil
}

// MarkPurged hides jobs from List (unless Filter.IncludePurged) while
// keeping them as history. Keys the store does not know are ignored:
// purging is idempotent.
func (s *Store) MarkPurged(ctx context.Context, keys []Key) error {
	if len(keys) == 0 {
		return nil
	}
	now := s.now().UnixNano()
	return s.write(ctx, false, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx,
			`UPDATE jobs SET purged = 1, updated_at = ? WHERE scheduler = ? AND job_id = ? AND superseded = 0 AND purged = 0`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, k := range keys {
			if _, err := st.ExecContext(ctx, now, k.Scheduler, k.JobID); err != nil {
				return fmt.Errorf("job store: purging job %s: %w", k, err)
			}
		}
		return nil
	})
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
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
	unknown, _, err = s.Apply(ctx, nil, changes)
	return unknown, err
}

// Apply records completed submissions (as CompleteSubmit does) and then
// changes (as ApplyPoll does) in one transaction: the engine's writer
// batches a burst of submissions' outcomes with the states that followed
// them into one commit. Unlike CompleteSubmit it does not fsync: a
// completion lost to a power cut leaves its intent open, and the next poll
// settles that from the scheduler's own record of the job. A completion
// that conflicts with what the store holds is left out and returned in
// conflicts, with the reason; the rest is still applied.
func (s *Store) Apply(ctx context.Context, done []Completion, changes []Change) (unknown []Key, conflicts []error, err error) {
	for _, c := range done {
		if c.JobID == "" {
			return nil, nil, fmt.Errorf("job store: completion of submission %s has no job id; nothing was recorded", c.Token)
		}
	}
	for _, c := range changes {
		if c.Job != nil && c.Job.Status == "" {
			return nil, nil, fmt.Errorf("job store: state of job %s has no status; nothing of this poll was recorded", c.Key)
		}
		for _, e := range c.Elements {
			if e.Status == "" {
				return nil, nil, fmt.Errorf("job store: element %d of job %s has no status; nothing of this poll was recorded", e.Index, c.Key)
			}
		}
	}
	if len(changes) == 0 && len(done) == 0 {
		return nil, nil, nil
	}
	now := s.now().UnixNano()
	err = s.write(ctx, false, func(tx *sql.Tx) error {
		unknown, conflicts = unknown[:0], conflicts[:0]
		for _, c := range done {
			if err := completeTx(ctx, tx, c, now); errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
				conflicts = append(conflicts, err)
			} else if err != nil {
				return fmt.Errorf("job store: recording submission %s as job %s: %w", c.Token, c.JobID, err)
			}
		}
		if len(changes) == 0 {
			return nil
		}
		a, err := prepareApplier(ctx, tx, now)
		if err != nil {
			return err
		}
		defer a.close()
		ids, err := a.loadJobs(ctx, tx, changes)
		if err != nil {
			return fmt.Errorf("job store: reading current states: %w", err)
		}
		for i := range changes {
			if ids[i] == 0 {
				unknown = append(unknown, changes[i].Key)
				continue
			}
			if err := a.apply(ctx, tx, ids[i], &changes[i]); err != nil {
				return fmt.Errorf("job store: recording job %s: %w", changes[i].Key, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, s.wrap(err)
	}
	return unknown, conflicts, nil
}

// lookupChunk bounds the JSON array of ids bound to one lookup query.
const lookupChunk = 4096

// applier holds what one ApplyPoll transaction needs: statements prepared
// once, and the current state of every job (and element) it touches, read
// in bulk and kept up to date as changes are applied, so that a job named
// twice in one poll is compared with its latest state.
type applier struct {
	now                      int64
	updJob, touchJob, upsert *sql.Stmt
	insEvent                 *sql.Stmt

	jobs  map[int64]*state
	elems map[int64]map[int]*state // loaded per job on first use
}

func prepareApplier(ctx context.Context, tx *sql.Tx, now int64) (*applier, error) {
	a := &applier{now: now, jobs: map[int64]*state{}, elems: map[int64]map[int]*state{}}
	stmts := []struct {
		dst **sql.Stmt
		sql string
	}{
		{&a.updJob, `UPDATE jobs SET status = ?, source = ?, reason = ?, detail = ?, exit_code = ?, exec_host = ?, max_mem = ?,
			start_time = ?, finish_time = ?, updated_at = ? WHERE id = ?`},
		{&a.touchJob, `UPDATE jobs SET updated_at = ? WHERE id = ?`},
		{&a.upsert, `INSERT INTO elements (job, idx, status, source, reason, detail, exit_code, host, max_mem, start_time, finish_time, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (job, idx) DO UPDATE SET status = excluded.status, source = excluded.source, reason = excluded.reason,
				detail = excluded.detail, exit_code = excluded.exit_code, host = excluded.host, max_mem = excluded.max_mem,
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
	for _, st := range []*sql.Stmt{a.updJob, a.touchJob, a.upsert, a.insEvent} {
		if st != nil {
			st.Close()
		}
	}
}

// loadJobs reads the current state of every job named in changes and
// returns their row ids by change (0: unknown). One query per scheduler and
// chunk instead of one per job: per-statement overhead, not SQLite's work,
// dominates a lookup by key.
func (a *applier) loadJobs(ctx context.Context, tx *sql.Tx, changes []Change) ([]int64, error) {
	ids := make([]int64, len(changes))
	bySched := map[string][]int{}
	for i, c := range changes {
		bySched[c.Key.Scheduler] = append(bySched[c.Key.Scheduler], i)
	}
	for sched, idx := range bySched {
		for len(idx) > 0 {
			chunk := idx[:min(len(idx), lookupChunk)]
			idx = idx[len(chunk):]
			jobIDs := make([]string, len(chunk))
			for k, i := range chunk {
				jobIDs[k] = changes[i].Key.JobID
			}
			arg, err := json.Marshal(jobIDs)
			if err != nil {
				return nil, err
			}
			// k.key is the position in the array, which maps back to the
			// change. CROSS JOIN keeps json_each as the outer loop, so that every
			// id is one lookup in the jobs_key index rather than a scan of jobs.
			rows, err := tx.QueryContext(ctx, `
SELECT k.key, j.id, j.status, j.source, j.reason, j.detail, j.exit_code, j.exec_host, j.max_mem, j.start_time, j.finish_time
FROM json_each(?) k CROSS JOIN jobs j ON j.scheduler = ? AND j.job_id = k.value AND j.superseded = 0`, string(arg), sched)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var (
					pos int
					id  int64
					st  state
				)
				if err := rows.Scan(&pos, &id, &st.status, &st.source, &st.reason, &st.detail, &st.exit, &st.host, &st.maxMem, &st.start, &st.finish); err != nil {
					rows.Close()
					return nil, err
				}
				ids[chunk[pos]] = id
				a.jobs[id] = &st
			}
			if err := rows.Close(); err != nil {
				return nil, err
			}
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
	}
	return ids, nil
}

// state is the comparable form of a job or element state as stored.
type state struct {
	status, reason, detail, host, maxMem string
	source                               Source
	exit, start, finish                  sql.NullInt64
}

// merge applies the JobState rules: status, source, reason, detail and exit
// code replace, when the source may replace the stored state (Replaces);
// host, max memory and times fill in only when known.
func (old state) merge(st scheduler.Status, src Source, reason scheduler.Reason, detail string, exit *int, host, maxMem string, start, finish time.Time) state {
	if !Replaces(old.source, scheduler.Status(old.status), src, st, reason) {
		return old
	}
	n := old
	n.status, n.source, n.reason, n.detail = string(st), src, string(reason), detail
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

func (a *applier) apply(ctx context.Context, tx *sql.Tx, id int64, c *Change) error {
	touched := false
	if j := c.Job; j != nil {
		old := a.jobs[id]
		n := old.merge(j.Status, j.Source, j.Reason, j.Detail, j.ExitCode, j.ExecHost, j.MaxMem, j.StartTime, j.FinishTime)
		if n != *old {
			if _, err := a.updJob.ExecContext(ctx, n.status, n.source, n.reason, n.detail, nullable(n.exit), n.host, n.maxMem,
				nullable(n.start), nullable(n.finish), a.now, id); err != nil {
				return err
			}
			touched = true
			if old.eventful(n) {
				if _, err := a.insEvent.ExecContext(ctx, id, nil, a.now, n.status, n.reason, n.detail, nullable(n.exit)); err != nil {
					return err
				}
			}
			*old = n
		}
	}
	if len(c.Elements) == 0 {
		return nil
	}
	elems, err := a.loadElements(ctx, tx, id)
	if err != nil {
		return err
	}
	elemsChanged := false
	for i := range c.Elements {
		changed, err := a.applyElement(ctx, id, elems, &c.Elements[i])
		if err != nil {
			return fmt.Errorf("element %d: %w", c.Elements[i].Index, err)
		}
		elemsChanged = elemsChanged || changed
	}
	// UpdatedAt covers the elements too, so "what changed since" needs to
	// look at the job rows only.
	if elemsChanged && !touched {
		if _, err := a.touchJob.ExecContext(ctx, a.now, id); err != nil {
			return err
		}
	}
	return nil
}

// loadElements reads all stored elements of a job at once: an array poll
// usually reports many of them.
func (a *applier) loadElements(ctx context.Context, tx *sql.Tx, job int64) (map[int]*state, error) {
	if m, ok := a.elems[job]; ok {
		return m, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT idx, status, source, reason, detail, exit_code, host, max_mem, start_time, finish_time
		FROM elements WHERE job = ?`, job)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[int]*state{}
	for rows.Next() {
		var (
			idx int
			st  state
		)
		if err := rows.Scan(&idx, &st.status, &st.source, &st.reason, &st.detail, &st.exit, &st.host, &st.maxMem, &st.start, &st.finish); err != nil {
			return nil, err
		}
		m[idx] = &st
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	a.elems[job] = m
	return m, nil
}

func (a *applier) applyElement(ctx context.Context, job int64, elems map[int]*state, e *ElementState) (bool, error) {
	old, ok := elems[e.Index]
	if !ok {
		old = &state{}
	}
	n := old.merge(e.Status, e.Source, e.Reason, e.Detail, e.ExitCode, e.ExecHost, e.MaxMem, e.StartTime, e.FinishTime)
	if ok && n == *old {
		return false, nil
	}
	if _, err := a.upsert.ExecContext(ctx, job, e.Index, n.status, n.source, n.reason, n.detail, nullable(n.exit), n.host, n.maxMem,
		nullable(n.start), nullable(n.finish), a.now); err != nil {
		return false, err
	}
	if !ok || old.eventful(n) {
		if _, err := a.insEvent.ExecContext(ctx, job, e.Index, a.now, n.status, n.reason, n.detail, nullable(n.exit)); err != nil {
			return false, err
		}
	}
	*old = n
	elems[e.Index] = old
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

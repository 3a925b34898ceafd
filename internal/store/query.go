package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

const recordColumns = `id, token, scheduler, job_id, name, command, resources, metadata,
	array_first, array_last, array_max, script_path, stdout_path, stderr_path, work_dir,
	status, source, reason, detail, exit_code, exec_host, max_mem,
	submit_time, start_time, finish_time, updated_at, purged, superseded, owner_host, owner_pid`

type scanner interface{ Scan(dest ...any) error }

// scanRecord reads one row of recordColumns. It returns the row id too,
// which the elements query needs.
func scanRecord(sc scanner) (int64, Record, error) {
	var (
		r                              Record
		id                             int64
		jobID, meta                    sql.NullString
		res, status, reason            string
		first, last, maxc              sql.NullInt64
		exit, start, finish, submitted sql.NullInt64
		updated                        int64
	)
	err := sc.Scan(&id, &r.Token, &r.Scheduler, &jobID, &r.Name, &r.Command, &res, &meta,
		&first, &last, &maxc, &r.ScriptPath, &r.StdoutPath, &r.StderrPath, &r.WorkDir,
		&status, &r.Source, &reason, &r.Detail, &exit, &r.ExecHost, &r.MaxMem,
		&submitted, &start, &finish, &updated, &r.Purged, &r.Superseded, &r.OwnerHost, &r.OwnerPID)
	if err != nil {
		return 0, r, err
	}
	r.JobID = jobID.String
	r.Status, r.Reason = scheduler.Status(status), scheduler.Reason(reason)
	r.ExitCode = fromNullInt(exit)
	r.SubmitTime, r.StartTime, r.FinishTime = fromNanos(submitted), fromNanos(start), fromNanos(finish)
	r.UpdatedAt = fromNanos(sql.NullInt64{Int64: updated, Valid: true})
	if first.Valid && last.Valid {
		r.Array = &scheduler.Array{First: int(first.Int64), Last: int(last.Int64), MaxConcurrent: int(maxc.Int64)}
	}
	// Both columns are written only from json.Marshal; a decode failure
	// means the row was damaged outside capi.
	if err := json.Unmarshal([]byte(res), &r.Resources); err != nil {
		return 0, r, fmt.Errorf("resources of job %q (token %s) are damaged: %w", r.Name, r.Token, err)
	}
	if meta.Valid {
		if err := json.Unmarshal([]byte(meta.String), &r.Metadata); err != nil {
			return 0, r, fmt.Errorf("metadata of job %q (token %s) is damaged: %w", r.Name, r.Token, err)
		}
	}
	return id, r, nil
}

// Get returns the current record of a job, with its array elements. An
// unknown key is an error wrapping ErrNotFound.
func (s *Store) Get(ctx context.Context, key Key) (Record, error) {
	return s.getOne(ctx, `scheduler = ? AND job_id = ? AND superseded = 0`, key.String(), key.Scheduler, key.JobID)
}

// GetToken returns the record of a submission by its token, whatever its
// state: the way to see a submission that never got a job id.
func (s *Store) GetToken(ctx context.Context, token string) (Record, error) {
	return s.getOne(ctx, `token = ?`, "with token "+token, token)
}

func (s *Store) getOne(ctx context.Context, where, what string, args ...any) (Record, error) {
	// One read transaction, so the job row and its elements are one
	// snapshot even while a poll is being written.
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Record{}, s.wrap(err)
	}
	defer tx.Rollback() // read-only: nothing to undo
	id, r, err := scanRecord(tx.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM jobs WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, fmt.Errorf("job store: job %s: %w", what, ErrNotFound)
	}
	if err != nil {
		return Record{}, fmt.Errorf("job store: reading job %s: %w", what, s.wrap(err))
	}
	if r.Elements, err = elements(ctx, tx, id); err != nil {
		return Record{}, fmt.Errorf("job store: reading elements of job %s: %w", what, s.wrap(err))
	}
	return r, nil
}

// Known returns which of ids the store holds a current record of for
// scheduler, purged ones included: one query, however many ids.
func (s *Store) Known(ctx context.Context, scheduler string, ids []string) (map[string]bool, error) {
	known := make(map[string]bool)
	for chunk := range slices.Chunk(ids, 500) {
		args := make([]any, 0, len(chunk)+1)
		args = append(args, scheduler)
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := s.r.QueryContext(ctx, `SELECT job_id FROM jobs WHERE scheduler = ? AND superseded = 0 AND job_id IN (?`+
			strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("job store: looking up job ids: %w", s.wrap(err))
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("job store: looking up job ids: %w", s.wrap(err))
			}
			known[id] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("job store: looking up job ids: %w", s.wrap(err))
		}
	}
	return known, nil
}

// Current is what the store holds of a job now: its state, when the
// store last changed it (elements included), and its array elements.
type Current struct {
	Job       JobState
	UpdatedAt time.Time
	Elements  []ElementState
}

// States returns what the store holds now of those of ids that are jobs of
// schedName and changed after seen(id): how a process learns what others
// recorded (final states, and everything when another process runs the
// shared poll). One query per 500 ids, plus one per changed array.
func (s *Store) States(ctx context.Context, schedName string, ids []string, seen func(id string) time.Time) (map[string]Current, error) {
	out := make(map[string]Current, len(ids))
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("job store: reading job states: %w", s.wrap(err))
	}
	defer tx.Rollback() // read-only: nothing to undo
	for chunk := range slices.Chunk(ids, lookupChunk) {
		arg, err := json.Marshal(chunk)
		if err != nil {
			return nil, err
		}
		rows, err := tx.QueryContext(ctx, `
SELECT j.id, j.job_id, j.array_first IS NOT NULL, j.status, j.source, j.reason, j.detail, j.exit_code, j.exec_host, j.max_mem, j.start_time, j.finish_time, j.updated_at
FROM json_each(?) k CROSS JOIN jobs j ON j.scheduler = ? AND j.job_id = k.value AND j.superseded = 0`, string(arg), schedName)
		if err != nil {
			return nil, fmt.Errorf("job store: reading job states: %w", s.wrap(err))
		}
		arrays := map[int64]string{}
		for rows.Next() {
			var (
				row                 int64
				jobID               string
				isArray             bool
				c                   Current
				status, reason      string
				exit, start, finish sql.NullInt64
				updated             int64
			)
			if err := rows.Scan(&row, &jobID, &isArray, &status, &c.Job.Source, &reason, &c.Job.Detail, &exit, &c.Job.ExecHost, &c.Job.MaxMem, &start, &finish, &updated); err != nil {
				rows.Close()
				return nil, fmt.Errorf("job store: reading job states: %w", s.wrap(err))
			}
			c.Job.Status, c.Job.Reason = scheduler.Status(status), scheduler.Reason(reason)
			c.Job.ExitCode, c.Job.StartTime, c.Job.FinishTime = fromNullInt(exit), fromNanos(start), fromNanos(finish)
			c.UpdatedAt = time.Unix(0, updated)
			if !c.UpdatedAt.After(seen(jobID)) {
				continue // nothing new: its elements need not be read
			}
			if isArray {
				arrays[row] = jobID
			}
			out[jobID] = c
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("job store: reading job states: %w", s.wrap(err))
		}
		for row, jobID := range arrays {
			els, err := elements(ctx, tx, row)
			if err != nil {
				return nil, fmt.Errorf("job store: reading elements of job %s: %w", jobID, s.wrap(err))
			}
			c := out[jobID]
			c.Elements = els
			out[jobID] = c
		}
	}
	return out, nil
}

type rowQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func elements(ctx context.Context, q rowQuerier, job int64) ([]ElementState, error) {
	rows, err := q.QueryContext(ctx, `SELECT idx, status, source, reason, detail, exit_code, host, max_mem, start_time, finish_time
		FROM elements WHERE job = ? ORDER BY idx`, job)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ElementState
	for rows.Next() {
		var (
			e                   ElementState
			status, reason      string
			exit, start, finish sql.NullInt64
		)
		if err := rows.Scan(&e.Index, &status, &e.Source, &reason, &e.Detail, &exit, &e.ExecHost, &e.MaxMem, &start, &finish); err != nil {
			return nil, err
		}
		e.Status, e.Reason = scheduler.Status(status), scheduler.Reason(reason)
		e.ExitCode = fromNullInt(exit)
		e.StartTime, e.FinishTime = fromNanos(start), fromNanos(finish)
		out = append(out, e)
	}
	return out, rows.Err()
}

// List returns the jobs that match f, ordered by submit time (oldest
// first). Submission intents are left out unless f.Statuses asks for
// Submitting; purged and superseded jobs unless f.IncludePurged.
func (s *Store) List(ctx context.Context, f Filter) ([]Record, error) {
	var (
		where []string
		args  []any
	)
	if f.Scheduler != "" {
		where = append(where, "scheduler = ?")
		args = append(args, f.Scheduler)
	}
	if len(f.Statuses) > 0 {
		where = append(where, "status IN (?"+strings.Repeat(", ?", len(f.Statuses)-1)+")")
		for _, st := range f.Statuses {
			args = append(args, string(st))
		}
	} else {
		where = append(where, "status != ?")
		args = append(args, string(Submitting))
	}
	if f.Name != "" {
		where = append(where, "name GLOB ?")
		args = append(args, globPattern(f.Name))
	}
	if !f.Since.IsZero() {
		where = append(where, "submit_time >= ?")
		args = append(args, f.Since.UnixNano())
	}
	if !f.IncludePurged {
		where = append(where, "purged = 0 AND superseded = 0")
	}
	q := `SELECT ` + recordColumns + ` FROM jobs WHERE ` + strings.Join(where, " AND ")
	if f.Limit > 0 {
		// The newest Limit jobs, like tail: what "capi status" wants.
		q += ` ORDER BY submit_time DESC, id DESC LIMIT ?`
		args = append(args, f.Limit)
	} else {
		q += ` ORDER BY submit_time, id`
	}

	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, s.wrap(err)
	}
	defer tx.Rollback() // read-only: nothing to undo
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("job store: listing jobs: %w", s.wrap(err))
	}
	var (
		out []Record
		ids []int64
	)
	for rows.Next() {
		id, r, err := scanRecord(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("job store: listing jobs: %w", s.wrap(err))
		}
		out = append(out, r)
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("job store: listing jobs: %w", s.wrap(err))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("job store: listing jobs: %w", s.wrap(err))
	}
	if f.Limit > 0 {
		slices.Reverse(out)
		slices.Reverse(ids)
	}
	if f.WithElements {
		for i := range out {
			if out[i].Array == nil {
				continue
			}
			if out[i].Elements, err = elements(ctx, tx, ids[i]); err != nil {
				return nil, fmt.Errorf("job store: reading elements of job %s: %w", out[i].Key(), s.wrap(err))
			}
		}
	}
	return out, nil
}

// globPattern turns capi's pattern ('*' only) into an SQLite GLOB, whose
// '?' and '[' would otherwise be wildcards too. GLOB rather than LIKE
// because LIKE ignores case and job names are case-sensitive.
func globPattern(p string) string {
	var b strings.Builder
	for _, r := range p {
		switch r {
		case '?':
			b.WriteString("[?]")
		case '[':
			b.WriteString("[[]")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Events returns a job's state history, oldest first: the job's own
// changes (Index nil) and its elements'.
func (s *Store) Events(ctx context.Context, key Key) ([]Event, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT e.idx, e.time, e.status, e.reason, e.detail, e.exit_code
		FROM events e JOIN jobs j ON j.id = e.job
		WHERE j.scheduler = ? AND j.job_id = ? AND j.superseded = 0 ORDER BY e.id`, key.Scheduler, key.JobID)
	if err != nil {
		return nil, fmt.Errorf("job store: events of job %s: %w", key, s.wrap(err))
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var (
			ev             Event
			idx, exit      sql.NullInt64
			at             int64
			status, reason string
		)
		if err := rows.Scan(&idx, &at, &status, &reason, &ev.Detail, &exit); err != nil {
			return nil, fmt.Errorf("job store: events of job %s: %w", key, s.wrap(err))
		}
		ev.Index, ev.ExitCode = fromNullInt(idx), fromNullInt(exit)
		ev.Time = fromNanos(sql.NullInt64{Int64: at, Valid: true})
		ev.Status, ev.Reason = scheduler.Status(status), scheduler.Reason(reason)
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("job store: events of job %s: %w", key, s.wrap(err))
	}
	return out, nil
}

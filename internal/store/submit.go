package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// BeginSubmit records the intent to submit a job, before the scheduler is
// asked, and returns its token. Until CompleteSubmit or FailSubmit, the row
// has status Submitting and only PendingSubmits (and GetToken) see it.
//
// Recording first is what makes a crash at any instant lose nothing: if the
// process dies after the scheduler accepted the job but before
// CompleteSubmit, the intent survives with the job's unique name, and a new
// process can find the job by that name and adopt it.
func (s *Store) BeginSubmit(ctx context.Context, sub Submission) (string, error) {
	if sub.Scheduler == "" || sub.Name == "" {
		return "", fmt.Errorf("job store: submission needs a scheduler and a name (got scheduler %q, name %q)", sub.Scheduler, sub.Name)
	}
	res, err := json.Marshal(sub.Resources)
	if err != nil {
		return "", fmt.Errorf("job store: resources of job %q: %w", sub.Name, err)
	}
	var meta any
	if len(sub.Metadata) > 0 {
		b, err := json.Marshal(sub.Metadata)
		if err != nil {
			return "", fmt.Errorf("job store: metadata of job %q: %w", sub.Name, err)
		}
		meta = string(b)
	}
	var first, last, maxc any
	if a := sub.Array; a != nil {
		if a.Last < a.First || a.MaxConcurrent < 0 {
			return "", fmt.Errorf("job store: job %q has an invalid array %d-%d%%%d", sub.Name, a.First, a.Last, a.MaxConcurrent)
		}
		first, last, maxc = a.First, a.Last, a.MaxConcurrent
	}
	token := sub.Token
	if token == "" {
		token = newToken()
	}
	now := s.now()
	submitted := sub.SubmitTime
	if submitted.IsZero() {
		submitted = now
	}

	err = s.write(ctx, !sub.OnThisMachine, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
INSERT INTO jobs (token, scheduler, name, command, resources, metadata,
	array_first, array_last, array_max, script_path, stdout_path, stderr_path, work_dir,
	status, reason, detail, exec_host, max_mem, submit_time, updated_at, owner_host, owner_pid)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', '', '', ?, ?, ?, ?)`,
			token, sub.Scheduler, sub.Name, sub.Command, string(res), meta,
			first, last, maxc, sub.ScriptPath, sub.StdoutPath, sub.StderrPath, sub.WorkDir,
			string(Submitting), submitted.UnixNano(), now.UnixNano(), s.host, s.pid)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("job store: recording submission of job %q: %w", sub.Name, err)
	}
	return token, nil
}

// CompleteSubmit records the id the scheduler gave the submission: the job
// becomes visible, pending. Calling it again with the same id is a no-op,
// so a retry after an uncertain commit is safe. A different id, or a
// submission already recorded as failed, is an ErrConflict.
//
// If an older record holds the same key, the scheduler has reused the id
// (the old job is long gone): the old record is marked superseded and kept
// as history.
func (s *Store) CompleteSubmit(ctx context.Context, token, jobID string) error {
	if jobID == "" {
		return fmt.Errorf("job store: CompleteSubmit(%s) needs the job id the scheduler returned", token)
	}
	now := s.now().UnixNano()
	return s.write(ctx, true, func(tx *sql.Tx) error {
		return completeTx(ctx, tx, Completion{Token: token, JobID: jobID}, now)
	})
}

// Completion is a submission the scheduler accepted as job JobID.
type Completion struct {
	Token, JobID string
}

// completeTx records c in tx (see CompleteSubmit).
func completeTx(ctx context.Context, tx *sql.Tx, c Completion, now int64) error {
	row, err := intent(ctx, tx, c.Token)
	if err != nil {
		return err
	}
	switch {
	case row.status == string(Submitting):
	case row.jobID.Valid && row.jobID.String == c.JobID:
		return nil
	case row.jobID.Valid:
		return fmt.Errorf("%w: submission %s was already completed as job %s, not %s", ErrConflict, c.Token, row.jobID.String, c.JobID)
	default:
		return fmt.Errorf("%w: submission %s was recorded as %s (%s); it cannot be completed as job %s",
			ErrConflict, c.Token, row.status, row.detail, c.JobID)
	}
	if _, err := tx.ExecContext(ctx,
		`UPDATE jobs SET superseded = 1, updated_at = ? WHERE scheduler = ? AND job_id = ? AND superseded = 0`,
		now, row.scheduler, c.JobID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx,
		`UPDATE jobs SET job_id = ?, status = ?, updated_at = ? WHERE id = ?`,
		c.JobID, string(scheduler.Pending), now, row.id); err != nil {
		return err
	}
	return appendEvent(ctx, tx, row.id, nil, now, scheduler.Pending, scheduler.ReasonNone, "", nil)
}

// FailSubmit records that the scheduler permanently refused the submission
// (or that recovery found no such job): status failed, reason
// submit_failed, msg as detail. Failing an already failed submission is a
// no-op; failing a completed one is an ErrConflict, because a job exists.
func (s *Store) FailSubmit(ctx context.Context, token, msg string) error {
	now := s.now().UnixNano()
	return s.write(ctx, true, func(tx *sql.Tx) error {
		row, err := intent(ctx, tx, token)
		if err != nil {
			return err
		}
		switch {
		case row.status == string(Submitting):
		case !row.jobID.Valid && row.status == string(scheduler.Failed):
			return nil
		default:
			return fmt.Errorf("%w: submission %s was already completed as job %s; cancel the job instead",
				ErrConflict, token, row.jobID.String)
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE jobs SET status = ?, reason = ?, detail = ?, finish_time = ?, updated_at = ? WHERE id = ?`,
			string(scheduler.Failed), string(scheduler.ReasonSubmitFailed), msg, now, now, row.id); err != nil {
			return err
		}
		return appendEvent(ctx, tx, row.id, nil, now, scheduler.Failed, scheduler.ReasonSubmitFailed, msg, nil)
	})
}

// PendingSubmits lists the submissions that were begun but neither
// completed nor failed, oldest first. Some may belong to processes that are
// still submitting them: compare OwnerHost and OwnerPID (or the age,
// SubmitTime) before adopting or failing one.
func (s *Store) PendingSubmits(ctx context.Context) ([]Record, error) {
	return s.List(ctx, Filter{Statuses: []scheduler.Status{Submitting}, IncludePurged: true})
}

type intentRow struct {
	id        int64
	scheduler string
	jobID     sql.NullString
	status    string
	detail    string
}

func intent(ctx context.Context, tx *sql.Tx, token string) (intentRow, error) {
	var r intentRow
	err := tx.QueryRowContext(ctx, `SELECT id, scheduler, job_id, status, detail FROM jobs WHERE token = ?`, token).
		Scan(&r.id, &r.scheduler, &r.jobID, &r.status, &r.detail)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("job store: no submission with token %q: %w", token, ErrNotFound)
	}
	return r, err
}

func appendEvent(ctx context.Context, tx *sql.Tx, job int64, idx *int, at int64, st scheduler.Status, reason scheduler.Reason, detail string, exit *int) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO events (job, idx, time, status, reason, detail, exit_code) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		job, toNullInt(idx), at, string(st), string(reason), detail, toNullInt(exit))
	return err
}

package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// migrations[i] brings a database from schema version i to i+1; the schema
// version is PRAGMA user_version. Never edit a migration that has shipped:
// add one. A fresh database runs them all.
var migrations = []string{
	// 1: jobs, array elements and the event log.
	`
CREATE TABLE jobs (
	id          INTEGER PRIMARY KEY,
	token       TEXT    NOT NULL UNIQUE,
	scheduler   TEXT    NOT NULL,
	job_id      TEXT,             -- NULL until the scheduler confirmed the job
	name        TEXT    NOT NULL,
	command     TEXT    NOT NULL,
	resources   TEXT    NOT NULL, -- JSON of scheduler.Resources
	metadata    TEXT,             -- JSON object, NULL when empty
	array_first INTEGER,
	array_last  INTEGER,
	array_max   INTEGER,
	script_path TEXT    NOT NULL,
	stdout_path TEXT    NOT NULL,
	stderr_path TEXT    NOT NULL,
	work_dir    TEXT    NOT NULL,
	status      TEXT    NOT NULL,
	reason      TEXT    NOT NULL,
	detail      TEXT    NOT NULL,
	exit_code   INTEGER,
	exec_host   TEXT    NOT NULL,
	max_mem     TEXT    NOT NULL,
	submit_time INTEGER NOT NULL, -- unix nanoseconds, UTC
	start_time  INTEGER,
	finish_time INTEGER,
	updated_at  INTEGER NOT NULL,
	purged      INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX jobs_key ON jobs(scheduler, job_id);
CREATE INDEX jobs_submit ON jobs(submit_time);
CREATE INDEX jobs_status ON jobs(status);

CREATE TABLE elements (
	job         INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
	idx         INTEGER NOT NULL,
	status      TEXT    NOT NULL,
	reason      TEXT    NOT NULL,
	detail      TEXT    NOT NULL,
	exit_code   INTEGER,
	host        TEXT    NOT NULL,
	start_time  INTEGER,
	finish_time INTEGER,
	updated_at  INTEGER NOT NULL,
	PRIMARY KEY (job, idx)
) WITHOUT ROWID;

CREATE TABLE events (
	id        INTEGER PRIMARY KEY,
	job       INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
	idx       INTEGER,            -- NULL: the job itself
	time      INTEGER NOT NULL,
	status    TEXT    NOT NULL,
	reason    TEXT    NOT NULL,
	detail    TEXT    NOT NULL,
	exit_code INTEGER
);
CREATE INDEX events_job ON events(job, id);
`,
	// 2: the owner of a submission intent, so that recovery can skip
	// intents of live processes; and superseded records, because schedulers
	// reuse job ids (LSF wraps at MAX_JOBID) while history is kept forever,
	// so a key is unique only among current records.
	`
ALTER TABLE jobs ADD COLUMN owner_host TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN owner_pid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN superseded INTEGER NOT NULL DEFAULT 0;
DROP INDEX jobs_key;
CREATE UNIQUE INDEX jobs_key ON jobs(scheduler, job_id) WHERE superseded = 0;
`,
	// 3: peak memory per array element, as the scheduler reports it for
	// each element (the job row has it for plain jobs).
	`
ALTER TABLE elements ADD COLUMN max_mem TEXT NOT NULL DEFAULT '';
`,
	// 4: where each state came from (see Source), so that a final state is
	// replaced only by a stronger source. Final states written before
	// counted as the scheduler's, except the engine's own "vanished".
	`
ALTER TABLE jobs ADD COLUMN source INTEGER NOT NULL DEFAULT 0;
ALTER TABLE elements ADD COLUMN source INTEGER NOT NULL DEFAULT 0;
UPDATE jobs SET source = CASE WHEN reason = 'vanished' THEN 1 ELSE 4 END WHERE status IN ('done', 'failed', 'killed');
UPDATE elements SET source = CASE WHEN reason = 'vanished' THEN 1 ELSE 4 END WHERE status IN ('done', 'failed', 'killed');
`,
	// 5: shared polling. One poll lease per scheduler (which process runs
	// the status command), the last poll round, and the processes that
	// poll with their poll_interval (the shared interval is the smallest
	// among live ones).
	`
CREATE TABLE poll_lease (
	scheduler  TEXT PRIMARY KEY,
	holder     TEXT    NOT NULL,
	expires    INTEGER NOT NULL,  -- unix nanoseconds
	started    INTEGER NOT NULL,  -- the holder's last status command: start
	finished   INTEGER NOT NULL,  -- and end (0 while it runs)
	ok         INTEGER NOT NULL,
	error      TEXT    NOT NULL
);
CREATE TABLE pollers (
	scheduler TEXT    NOT NULL,
	process   TEXT    NOT NULL,
	interval  INTEGER NOT NULL,   -- nanoseconds
	seen      INTEGER NOT NULL,   -- unix nanoseconds of its last poll
	PRIMARY KEY (scheduler, process)
) WITHOUT ROWID;
`,
}

// SchemaVersion is the schema this code writes.
var SchemaVersion = len(migrations)

// migrate checks the file and brings its schema up to date. It reads before
// it writes anything, so that a newer or foreign database is left exactly
// as it was.
func (s *Store) migrate(ctx context.Context) error {
	// Everything that inspects or changes the schema happens under the
	// cross-process write lock: another capi process opening the same new
	// file migrates it meanwhile, and reading its tables and its version
	// in two steps outside the lock could see the tables of a migration
	// that committed in between and mistake the file for someone else's.
	unlock, err := s.lockWriter(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	version, err := s.version(ctx, s.r)
	if err != nil {
		return err
	}
	if err := s.checkVersion(version); err != nil {
		return err
	}
	if version == 0 {
		// user_version 0 is also what any other SQLite database says; a
		// file with tables but no version is not ours to migrate.
		var n int
		if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
			return s.wrap(err)
		}
		if n > 0 {
			return fmt.Errorf("%w: %s holds tables but no capi schema version; use another state_dir or move the file aside",
				ErrNotDatabase, s.path)
		}
	}

	// WAL lets readers (capi status in another shell) run while the
	// service writes. The mode is stored in the file; setting it when it
	// is already set is a no-op. It cannot change inside a transaction.
	mode, err := s.enableWAL(ctx)
	if err != nil {
		return err
	}
	if mode != "wal" {
		// SQLite refuses WAL where it cannot share memory between
		// processes; the store would work but block readers.
		return fmt.Errorf("job store %s: journal mode is %q, not wal; put state_dir on a local file system", s.path, mode)
	}
	if version == SchemaVersion {
		return nil
	}
	return s.writeLocked(ctx, true, func(tx *sql.Tx) error {
		for i := version; i < SchemaVersion; i++ {
			if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
				return fmt.Errorf("job store %s: migrating schema %d to %d: %w", s.path, i, i+1, s.wrap(err))
			}
		}
		// PRAGMA takes no parameters; the value is our own integer.
		_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version=%d", SchemaVersion))
		return err
	})
}

// enableWAL switches the file to WAL mode; the caller holds the write lock.
// The switch needs the database to itself, and SQLite answers SQLITE_BUSY at
// once (its busy handler does not run for it) while a reader of another
// process briefly holds the file, so it retries for a while.
func (s *Store) enableWAL(ctx context.Context) (string, error) {
	deadline := time.Now().Add(busyTimeout)
	for {
		var mode string
		err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode)
		if err == nil {
			return mode, nil
		}
		if !strings.Contains(err.Error(), "SQLITE_BUSY") || time.Now().After(deadline) {
			return "", fmt.Errorf("job store %s: cannot enable WAL mode: %w", s.path, s.wrap(err))
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) version(ctx context.Context, q querier) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		if w := s.wrap(err); w != err {
			return 0, w
		}
		return 0, fmt.Errorf("job store %s: cannot read it: %w", s.path, err)
	}
	return v, nil
}

func (s *Store) checkVersion(v int) error {
	if v > SchemaVersion {
		return fmt.Errorf("%w: %s was written by a newer capi (schema %d, this capi knows up to %d); upgrade capi or use another state_dir",
			ErrNewerSchema, s.path, v, SchemaVersion)
	}
	if v < 0 {
		return fmt.Errorf("%w: %s has schema version %d; use another state_dir or move the file aside", ErrNotDatabase, s.path, v)
	}
	return nil
}

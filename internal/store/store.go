package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// busyTimeout is how long a writer waits for another process's write
// transaction before giving up. Our transactions last milliseconds, so
// five seconds is only reached when something is badly wrong.
const busyTimeout = 5 * time.Second

// Options tunes a Store. A nil *Options means the defaults.
type Options struct {
	// Now is the clock for UpdatedAt, event times and default submit
	// times; nil means time.Now. Tests set it.
	Now func() time.Time
}

// Store is the durable job store. It is safe for concurrent use by many
// goroutines, and several processes may open the same file at once.
type Store struct {
	path string
	// w holds the single write connection of this process: goroutines
	// queue on database/sql's pool (cheap, fair) instead of in SQLite's
	// busy handler, which sleeps in steps of up to 100 ms. Writers of
	// other processes still meet in the busy handler.
	w *sql.DB
	// r serves reads, which in WAL mode never wait for writers.
	r   *sql.DB
	now func() time.Time

	host string
	pid  int
}

// Open opens the job store at path, creating it (and its directory) if
// needed and migrating an older schema. It never modifies a database whose
// schema is newer than this code knows, nor a file that is not a job store:
// both are errors naming the path.
func Open(ctx context.Context, path string, opts *Options) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("job store %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("job store: cannot create its directory: %w (set state_dir to a writable directory)", err)
	}
	// The store holds the commands, metadata and paths of every job the
	// user ran: readable by the owner only. SQLite gives its -wal and -shm
	// files the database file's mode, so creating it first is enough.
	if f, err := os.OpenFile(abs, os.O_RDONLY|os.O_CREATE, 0o600); err == nil {
		f.Close()
	}
	s := &Store{path: abs, now: time.Now, pid: os.Getpid()}
	if opts != nil && opts.Now != nil {
		s.now = opts.Now
	}
	s.host, _ = os.Hostname()

	if s.w, err = sql.Open("sqlite", dsn(abs, false)); err != nil {
		return nil, fmt.Errorf("job store %s: %w", abs, err)
	}
	s.w.SetMaxOpenConns(1)
	// An idle connection holds no lock in WAL mode, and keeping it avoids
	// re-running the per-connection pragmas for every write.
	s.w.SetConnMaxIdleTime(0)
	if s.r, err = sql.Open("sqlite", dsn(abs, true)); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("job store %s: %w", abs, err)
	}
	s.r.SetMaxOpenConns(4)

	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// dsn builds the connection string. The path goes into a file: URI,
// percent-encoded, so that spaces, '?' and '#' in a state directory cannot
// be taken for parameters.
//
// The pragmas are per connection, so they are in the DSN, which the driver
// applies to every connection it opens:
//   - busy_timeout: concurrent writers wait rather than fail with
//     "database is locked".
//   - foreign_keys: SQLite leaves them off by default.
//   - synchronous=NORMAL: in WAL mode a commit is then not fsynced, so a
//     crash of the process loses nothing committed but a power loss or
//     kernel crash may lose the last transactions. Poll updates can afford
//     that (the next poll observes the same state again); submissions
//     cannot, so their transactions switch to FULL (see Store.write).
//   - _txlock=immediate: write transactions take the write lock at BEGIN.
//     A deferred transaction that reads and then writes can fail at once
//     with SQLITE_BUSY (no waiting) when another process wrote in between.
//
// journal_mode=WAL is not here: it is stored in the file, and Open sets it
// only after checking that the file is a job store it may modify.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		// Belt and braces: the read pool must never write, even by a bug.
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	return u.String()
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes the store. Records already returned stay valid.
func (s *Store) Close() error {
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	return errors.Join(errs...)
}

// write runs fn in one write transaction. durable makes the commit survive
// a power loss (synchronous=FULL fsyncs the WAL, which also makes every
// earlier NORMAL commit in it durable).
func (s *Store) write(ctx context.Context, durable bool, fn func(tx *sql.Tx) error) error {
	unlock, err := s.lockWriter(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	return s.writeLocked(ctx, durable, fn)
}

// writeLocked is write for a caller that already holds the write lock.
func (s *Store) writeLocked(ctx context.Context, durable bool, fn func(tx *sql.Tx) error) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return s.wrap(err)
	}
	defer conn.Close()
	if durable {
		if _, err := conn.ExecContext(ctx, "PRAGMA synchronous=FULL"); err != nil {
			return s.wrap(err)
		}
		// Restored even when ctx is cancelled, so the next poll update on
		// this connection is not fsynced needlessly.
		defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA synchronous=NORMAL") // only costs speed
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback() // the fn error is the one to report
		return s.wrap(err)
	}
	return s.wrap(tx.Commit())
}

// wrap names the database in SQLite errors that mean the file is damaged,
// because "database disk image is malformed" alone does not tell the user
// which file to look at.
func (s *Store) wrap(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			return fmt.Errorf("%w: %s: %v; move the file aside (capi then starts a new store) or restore it from a backup",
				ErrNotDatabase, s.path, err)
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("job store %s: %w (another process held it for more than %s; is a capi process stuck?)",
				s.path, err, busyTimeout)
		}
	}
	return err
}

// newToken returns a random submission token. 128 bits make a collision
// between processes practically impossible without any coordination.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// Times are stored as INTEGER nanoseconds since the Unix epoch (always UTC,
// compact, ordered, compared without parsing); NULL is "unknown". That
// covers the years 1678 to 2262.
func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

func toNullInt(p *int) any {
	if p == nil {
		return nil
	}
	return int64(*p)
}

func fromNullInt(n sql.NullInt64) *int {
	if !n.Valid {
		return nil
	}
	v := int(n.Int64)
	return &v
}

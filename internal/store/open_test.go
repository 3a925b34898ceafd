package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
	"github.com/google/go-cmp/cmp"
)

// schemaV1 is the first schema exactly as version 1 created it, written out
// here rather than taken from migrations so that a later edit of the
// migration list cannot make this test pass by accident.
const schemaV1 = `
CREATE TABLE jobs (
	id INTEGER PRIMARY KEY, token TEXT NOT NULL UNIQUE, scheduler TEXT NOT NULL, job_id TEXT,
	name TEXT NOT NULL, command TEXT NOT NULL, resources TEXT NOT NULL, metadata TEXT,
	array_first INTEGER, array_last INTEGER, array_max INTEGER,
	script_path TEXT NOT NULL, stdout_path TEXT NOT NULL, stderr_path TEXT NOT NULL, work_dir TEXT NOT NULL,
	status TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL, exit_code INTEGER,
	exec_host TEXT NOT NULL, max_mem TEXT NOT NULL,
	submit_time INTEGER NOT NULL, start_time INTEGER, finish_time INTEGER, updated_at INTEGER NOT NULL,
	purged INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX jobs_key ON jobs(scheduler, job_id);
CREATE INDEX jobs_submit ON jobs(submit_time);
CREATE INDEX jobs_status ON jobs(status);
CREATE TABLE elements (
	job INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, idx INTEGER NOT NULL,
	status TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL, exit_code INTEGER, host TEXT NOT NULL,
	start_time INTEGER, finish_time INTEGER, updated_at INTEGER NOT NULL,
	PRIMARY KEY (job, idx)
) WITHOUT ROWID;
CREATE TABLE events (
	id INTEGER PRIMARY KEY, job INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, idx INTEGER,
	time INTEGER NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL, detail TEXT NOT NULL, exit_code INTEGER
);
CREATE INDEX events_job ON events(job, id);
PRAGMA user_version = 1;
`

// rawExec runs SQL on path without the store, as another program (or an
// older capi) would.
func rawExec(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestMigrateFromV1(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "jobs.db")
	submitted := t0.UnixNano()
	rawExec(t, path, schemaV1,
		fmt.Sprintf(`INSERT INTO jobs VALUES (1, 'tok', 'lsf', '42', 'old-job', 'echo hi', '{"cpus":2,"memory":1073741824}',
			'{"k":"v"}', 1, 3, NULL, '/w/s.sh', '/w/o', '/w/e', '/w', 'done', 'exit_code', '', 0, 'n1', '1 Gbytes',
			%d, %d, %d, %d, 0)`, submitted, submitted+1, submitted+2, submitted+3),
		fmt.Sprintf(`INSERT INTO elements VALUES (1, 2, 'done', 'exit_code', '', 0, 'n2', NULL, %d, %d)`, submitted+2, submitted+3),
		fmt.Sprintf(`INSERT INTO events VALUES (1, 1, NULL, %d, 'done', 'exit_code', '', 0)`, submitted+2),
	)

	s, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	key := Key{Scheduler: "lsf", JobID: "42"}
	got, err := s.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	want := Record{
		Scheduler: "lsf", JobID: "42", Token: "tok", Name: "old-job", Command: "echo hi",
		Resources: scheduler.Resources{CPUs: 2, Memory: scheduler.GB}, Metadata: map[string]string{"k": "v"},
		Array:      &scheduler.Array{First: 1, Last: 3},
		ScriptPath: "/w/s.sh", StdoutPath: "/w/o", StderrPath: "/w/e", WorkDir: "/w",
		// Final states of older versions count as the scheduler's.
		JobState: JobState{Status: scheduler.Done, Source: SourceScheduler, Reason: scheduler.ReasonExitCode, ExitCode: intp(0),
			ExecHost: "n1", MaxMem: "1 Gbytes", StartTime: t0.Add(1), FinishTime: t0.Add(2)},
		SubmitTime: t0, UpdatedAt: t0.Add(3),
		Elements: []ElementState{{Index: 2, JobState: JobState{Status: scheduler.Done, Source: SourceScheduler, Reason: scheduler.ReasonExitCode,
			ExitCode: intp(0), ExecHost: "n2", FinishTime: t0.Add(2)}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("v1 record after migration (-want +got):\n%s", diff)
	}
	if events, err := s.Events(ctx, key); err != nil || len(events) != 1 {
		t.Errorf("Events = %+v, %v; want the one v1 event", events, err)
	}
	var v int
	if err := s.r.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != SchemaVersion {
		t.Errorf("user_version = %d, %v; want %d", v, err, SchemaVersion)
	}
	// Version 2's partial key index is in place: reusing the id supersedes.
	submit(t, s, Submission{Scheduler: "lsf", Name: "new-job"}, "42")
	if got, err := s.Get(ctx, key); err != nil || got.Name != "new-job" {
		t.Errorf("Get after id reuse = %q, %v; want new-job", got.Name, err)
	}

	// Opening again is a no-op.
	s2, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string)
		wantErr error
		wantMsg []string
	}{
		{
			name: "newer schema",
			prepare: func(t *testing.T, path string) {
				s, err := Open(context.Background(), path, nil)
				if err != nil {
					t.Fatal(err)
				}
				submit(t, s, Submission{Scheduler: "lsf", Name: "x"}, "1")
				s.Close()
				rawExec(t, path, fmt.Sprintf("PRAGMA user_version = %d", SchemaVersion+1))
			},
			wantErr: ErrNewerSchema,
			wantMsg: []string{"written by a newer capi", fmt.Sprintf("schema %d", SchemaVersion+1), "upgrade capi or use another state_dir"},
		},
		{
			name: "garbage",
			prepare: func(t *testing.T, path string) {
				writeFile(t, path, bytes.Repeat([]byte("this is not a database\n"), 500))
			},
			wantErr: ErrNotDatabase,
			wantMsg: []string{"not a database", "move the file aside"},
		},
		{
			name: "damaged header",
			prepare: func(t *testing.T, path string) {
				s, err := Open(context.Background(), path, nil)
				if err != nil {
					t.Fatal(err)
				}
				submit(t, s, Submission{Scheduler: "lsf", Name: "x"}, "1")
				s.Close()
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				copy(b, "SQLite format 9\x00")
				writeFile(t, path, b)
			},
			wantErr: ErrNotDatabase,
			wantMsg: []string{"not a database"},
		},
		{
			name: "another program's database",
			prepare: func(t *testing.T, path string) {
				rawExec(t, path, "CREATE TABLE photos (id INTEGER PRIMARY KEY)")
			},
			wantErr: ErrNotDatabase,
			wantMsg: []string{"no capi schema version"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "jobs.db")
			tt.prepare(t, path)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}

			s, err := Open(context.Background(), path, nil)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			for _, m := range append(tt.wantMsg, path) {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not say %q", err, m)
				}
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Error("Open modified a file it refused")
			}
		})
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentOpenOfNewFile: processes starting at the same moment race to
// create and migrate the file; exactly one migrates, none fails.
func TestConcurrentOpenOfNewFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "jobs.db")
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() {
			s, err := Open(context.Background(), path, &Options{Now: func() time.Time { return t0 }})
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// seedJobs inserts n completed submissions in one transaction. Going
// through BeginSubmit would cost two fsyncs per job and dominate the setup.
func seedJobs(b *testing.B, s *Store, n int) []Key {
	b.Helper()
	ctx := context.Background()
	keys := make([]Key, n)
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO jobs (token, scheduler, job_id, name, command, resources,
			script_path, stdout_path, stderr_path, work_dir, status, reason, detail, exec_host, max_mem, submit_time, updated_at)
			VALUES (?, 'lsf', ?, ?, 'true', '{}', '', '', '', '', 'pending', '', '', '', '', ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for i := range n {
			id := strconv.Itoa(100000 + i)
			if _, err := st.ExecContext(ctx, "t"+id, id, "job-"+id, t0.UnixNano(), t0.UnixNano()); err != nil {
				return err
			}
			keys[i] = Key{Scheduler: "lsf", JobID: id}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return keys
}

// BenchmarkApplyPoll measures one poll of 10k jobs: every job changing
// state (rows and events written), and none changing (the engine's
// defensive repeat).
func BenchmarkApplyPoll(b *testing.B) {
	const n = 10_000
	for _, bc := range []struct {
		name    string
		changes bool
	}{{"all-change", true}, {"no-change", false}} {
		b.Run(fmt.Sprintf("%s/jobs=%d", bc.name, n), func(b *testing.B) {
			s, _ := openTest(b)
			keys := seedJobs(b, s, n)
			polls := [2][]Change{make([]Change, n), make([]Change, n)}
			for i, k := range keys {
				polls[0][i] = Change{Key: k, Job: &JobState{Status: scheduler.Running, ExecHost: "node1", StartTime: t0}}
				polls[1][i] = Change{Key: k, Job: &JobState{Status: scheduler.Done, ExitCode: new(int), FinishTime: t0}}
			}
			ctx := context.Background()
			if _, err := s.ApplyPoll(ctx, polls[1]); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				p := polls[1]
				if bc.changes {
					p = polls[i%2]
				}
				if _, err := s.ApplyPoll(ctx, p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/job")
		})
	}
}

// TestLookupUsesIndex guards ApplyPoll's bulk lookup: if SQLite ever
// planned it as a scan of jobs per id, a 10k-job poll would take seconds
// (it did, before CROSS JOIN fixed the loop order).
func TestLookupUsesIndex(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	rows, err := s.r.Query(`EXPLAIN QUERY PLAN SELECT j.id FROM json_each(?) k CROSS JOIN jobs j
		ON j.scheduler = ? AND j.job_id = k.value AND j.superseded = 0`, `["1"]`, "lsf")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(plan, "; ")
	if !strings.Contains(joined, "SEARCH j USING") || !strings.Contains(joined, "INDEX jobs_key") {
		t.Errorf("lookup does not use the jobs_key index: %s", joined)
	}
}

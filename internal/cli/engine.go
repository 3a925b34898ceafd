package cli

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"time"

	capi "github.com/go-cluster-api/clusterapi"
	"github.com/go-cluster-api/clusterapi/internal/store"
)

// listFilter selects jobs for status, history and watch.
type listFilter struct {
	statuses      []capi.Status
	name          string // '*' glob on the full job name
	since         time.Time
	includePurged bool
	limit         int
}

// session is an executor opened by a command that looks at jobs submitted
// elsewhere (by another capi process or a service sharing the state dir).
// A session runs at most one status command and follows the store's
// unfinished jobs with one read (polled records that).
type session struct {
	g           *globals
	ex          *capi.Executor
	reconnected bool
	polled      bool
}

func (g *globals) openSession() (*session, error) {
	ex, err := g.newExecutor()
	if err != nil {
		return nil, err
	}
	return &session{g: g, ex: ex}, nil
}

func (s *session) Close() error { return s.g.closeExecutor(s.ex) }

// closeExecutor is how every command closes its executor: it leaves a
// dispatcher behind if the local executor's jobs wait (leaveDispatcher),
// then closes.
func (g *globals) closeExecutor(ex *capi.Executor) error {
	g.leaveDispatcher(ex)
	return ex.Close()
}

// reconnect asks the scheduler, once per session, for the jobs it knows
// under the prefix and tracks them with their current state: Reconnect's
// one status command is also this session's poll.
func (s *session) reconnect(ctx context.Context) error {
	if s.reconnected {
		return nil
	}
	s.reconnected = true
	if _, err := s.ex.Reconnect(ctx); err != nil {
		return err
	}
	s.polled = true
	return nil
}

// poll brings every unfinished job of the store up to date, once per
// session: one store read (Follow) and one status command, which also
// settles submissions a killed capi left. A failed poll leaves the last
// known states, with a warning.
func (s *session) poll(ctx context.Context, g *globals) {
	if s.polled {
		return
	}
	s.polled = true
	if _, err := s.ex.Follow(ctx); err != nil {
		g.logger().Warn("could not read the job store; showing the last known state", "err", err)
	}
	if err := s.ex.Poll(ctx); err != nil {
		g.logger().Warn("could not ask the scheduler; showing the last known state", "err", err)
	}
}

// list returns the jobs matching f from the job store (and, after
// reconnect, those the scheduler knows under the prefix), oldest first.
func (s *session) list(ctx context.Context, f listFilter) ([]capi.Record, error) {
	recs, err := s.ex.List(ctx, capi.ListFilter{Statuses: f.statuses, Name: f.name, Since: f.since, IncludePurged: f.includePurged, Limit: f.limit})
	if err != nil {
		return nil, err
	}
	if s.reconnected {
		// Jobs found through the scheduler that the store does not hold
		// (submitted by a program running without a store).
		seen := make(map[string]bool, len(recs))
		for _, r := range recs {
			seen[r.ID] = true
		}
		for _, j := range s.ex.Jobs() {
			if r := j.Snapshot(); !seen[r.ID] && matches(r, f) {
				recs = append(recs, r)
			}
		}
		slices.SortStableFunc(recs, func(a, b capi.Record) int { return a.SubmitTime.Compare(b.SubmitTime) })
	}
	return recs, nil
}

// fresh brings unfinished records up to date: whoever wrote them may have
// stopped polling, so the scheduler is asked once (one status command for
// all of them, see poll). A record without an id is a submission a killed
// capi left; the poll settles it, and it is shown as the job it became.
func (s *session) fresh(ctx context.Context, g *globals, recs []capi.Record) []capi.Record {
	if !slices.ContainsFunc(recs, func(r capi.Record) bool { return !r.Terminal() }) {
		return recs
	}
	s.poll(ctx, g)
	for i, r := range recs {
		if r.Terminal() {
			continue
		}
		if r.ID == "" {
			if j := s.settled(r); j != nil {
				recs[i] = j.Snapshot()
			}
			continue
		}
		if j, ok := s.ex.Job(r.ID); ok {
			recs[i] = j.Snapshot()
		}
	}
	return recs
}

// settled finds the job an interrupted submission became: the tracked job
// of the same name submitted at the same moment.
func (s *session) settled(r capi.Record) *capi.Job {
	for _, j := range s.ex.Jobs() {
		if x := j.Snapshot(); x.Name == r.Name && x.SubmitTime.Equal(r.SubmitTime) {
			return j
		}
	}
	return nil
}

func matches(r capi.Record, f listFilter) bool {
	if len(f.statuses) > 0 && !slices.Contains(f.statuses, r.Status) {
		return false
	}
	if f.name != "" && !capi.MatchName(f.name, r.Name) {
		return false
	}
	if !f.since.IsZero() && r.SubmitTime.Before(f.since) {
		return false
	}
	return true
}

// get returns a job by id: tracked already, restored from the job store,
// or found again through the scheduler. An unknown id is a usage error.
func (s *session) get(ctx context.Context, id string) (*capi.Job, error) {
	j, err := s.ex.Get(ctx, id)
	if err == nil {
		return j, nil
	}
	if !errors.Is(err, capi.ErrNotFound) {
		return nil, codeErr(err)
	}
	// Not in the store: perhaps submitted without one; ask the scheduler.
	if rerr := s.reconnect(ctx); rerr != nil && !errors.Is(rerr, capi.ErrNoPrefix) {
		return nil, codeErr(rerr)
	}
	if j, ok := s.ex.Job(id); ok {
		return j, nil
	}
	if other := s.elsewhere(ctx, id); other != "" {
		return nil, usageErr("job %s was submitted with --executor %s, not %s (add --executor %s)", id, other, s.ex.Name(), other)
	}
	return nil, &exitError{code: ExitUsage, err: err}
}

// elsewhere returns the executor that job id was submitted with, when the
// job store knows it under another executor than this session's: job
// numbers repeat across schedulers, and "not known on local" does not say
// that "capi status 36" lacked --executor sge. The engine's lookups keep to
// their own scheduler, so the store is read directly, read-only.
func (s *session) elsewhere(ctx context.Context, id string) string {
	path := filepath.Join(s.ex.Config().StateDir, "jobs.db")
	if _, err := os.Stat(path); err != nil {
		return ""
	}
	db, err := store.Open(ctx, path, nil)
	if err != nil {
		return ""
	}
	defer db.Close()
	for _, name := range capi.ExecutorNames() {
		if name == s.ex.Name() {
			continue
		}
		if _, err := db.Get(ctx, store.Key{Scheduler: name, JobID: id}); err == nil {
			return name
		}
	}
	return ""
}

// getAll resolves every id, failing on the first unknown one.
func (s *session) getAll(ctx context.Context, ids []string) ([]*capi.Job, error) {
	jobs := make([]*capi.Job, 0, len(ids))
	for _, id := range ids {
		j, err := s.get(ctx, id)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// monitor starts polling for jobs this process did not submit; stop it
// with the returned func.
func (s *session) monitor(g *globals) func() {
	m := capi.NewMonitor(s.ex, &capi.MonitorOptions{Interval: g.pollEvery(s.ex)})
	m.Start()
	return m.Stop
}

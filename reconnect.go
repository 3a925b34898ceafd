package clusterapi

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// ErrNoPrefix is returned by Reconnect on a grid scheduler when no
// job_name_prefix is configured and there is no job store: without either,
// capi cannot tell its jobs from the user's others.
var ErrNoPrefix = fmt.Errorf("reconnect needs job_name_prefix to find this application's jobs: %w", ErrClusterAPI)

// Reconnect rediscovers jobs submitted earlier (by this or another process)
// and tracks them again. With the job store, it first settles submissions
// interrupted by a crash and restores full records (command, resources,
// metadata, arrays); then it asks the scheduler for jobs the store does not
// know: those whose names carry job_name_prefix, or every job in the local
// executor's spool. That one status command also serves as a poll of
// every tracked job (Poll need not follow), and settles submissions
// interrupted by a crash. It returns the jobs it started tracking.
func (e *Executor) Reconnect(ctx context.Context) ([]*Job, error) {
	if err := e.usable(ctx); err != nil {
		return nil, err
	}
	restored, err := e.follow(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("reconnect: %w", err)
	}
	if _, ok := e.sched.(scheduler.CapiOnly); !ok && e.query().Prefix == "" {
		if e.db != nil {
			// Without a prefix the scheduler cannot tell our jobs from the
			// user's others; the store already knows ours.
			return restored, nil
		}
		return nil, ErrNoPrefix
	}
	found, err := e.poll(ctx, true)
	restored = append(restored, found...)
	if err != nil {
		return restored, fmt.Errorf("reconnect: %w", err)
	}
	return restored, nil
}

// adoptListed tracks the jobs of obs named with prefix own that no process
// tracks or recorded, and that did not end longer ago than
// completed_retention, and returns them.
func (e *Executor) adoptListed(ctx context.Context, obs []scheduler.Observation, own string) ([]*Job, error) {
	type listed struct {
		rec        Record
		obs        []scheduler.Observation
		minI, maxI int
	}
	byID := map[string]*listed{}
	var order []string
	for _, o := range obs {
		if !strings.HasPrefix(o.Name, own) {
			continue // listed for another process of the shared poll
		}
		f := byID[o.ID]
		if f == nil {
			f = &listed{rec: Record{ID: o.ID, Name: o.Name, Executor: e.sched.Name(), SubmitTime: o.SubmitTime}, minI: o.Index, maxI: o.Index}
			byID[o.ID] = f
			order = append(order, o.ID)
		}
		if o.InArray {
			f.minI, f.maxI = min(f.minI, o.Index), max(f.maxI, o.Index)
			if f.rec.Array == nil {
				f.rec.Array = &ArrayRecord{}
			}
		}
		f.obs = append(f.obs, o)
	}
	// Jobs the store knows were restored, or were purged: a job past
	// completed_retention does not come back as tracked because the
	// scheduler (the local spool) still lists it.
	var known map[string]bool
	if e.db != nil {
		var err error
		if known, err = e.db.Known(ctx, e.sched.Name(), order); err != nil {
			return nil, fmt.Errorf("job store: %w", err)
		}
	}
	var adopted []*Job
	now := time.Now()
	for _, id := range order {
		if _, tracked := e.Job(id); tracked || known[id] {
			continue
		}
		f := byID[id]
		if e.endedLongAgo(f.obs, now) {
			continue
		}
		if f.rec.Array != nil {
			f.rec.Array.First, f.rec.Array.Last = f.minI, f.maxI
		}
		adopted = append(adopted, e.track(f.rec))
	}
	return adopted, nil
}

// endedLongAgo reports whether every observation of a job says it ended
// more than completed_retention ago: the retention rule for jobs found
// through the scheduler alone.
func (e *Executor) endedLongAgo(obs []scheduler.Observation, now time.Time) bool {
	for _, o := range obs {
		if o.FinishTime.IsZero() || !e.pastRetention(o.Status, o.FinishTime, now) {
			return false
		}
	}
	return len(obs) > 0
}

package clusterapi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"syscall"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/store"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

// The engine writes job state to the durable store (unless in_memory)
// through its writer (writer.go), in batches: everything a poll changed in
// one transaction at the end of the poll, and changes that arrive between
// polls (local completions, cancels, submissions' job ids) within
// flushDelay.

// storePath is the job store inside the state dir.
func storePath(stateDir string) string { return filepath.Join(stateDir, "jobs.db") }

// openStore opens the job store unless the configuration says in_memory.
func (e *Executor) openStore() error {
	if e.cfg.InMemory {
		return nil
	}
	db, err := store.Open(context.Background(), storePath(e.cfg.StateDir), nil)
	if err != nil {
		return err
	}
	e.db = db
	e.w = newWriter(db, e.log, func(id string) store.Key { return store.Key{Scheduler: e.sched.Name(), JobID: id} }, &e.mu)
	return nil
}

// closeTimeout bounds how long Close waits to write what is pending.
const closeTimeout = 30 * time.Second

// closeStore stops the flusher, writes what is pending and closes the
// store. A write that fails or takes longer than closeTimeout is an error:
// the caller learns that the store lacks the last states.
func (e *Executor) closeStore() error {
	if e.db == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	err := e.w.close(ctx)
	if err != nil {
		err = fmt.Errorf("closing: the job store lacks the latest job states: %w", err)
	}
	return errors.Join(err, e.db.Close())
}

// beginSubmit records the submission before the scheduler sees it, so that
// a crash at any instant loses no job.
func (e *Executor) beginSubmit(ctx context.Context, p *prepared) (string, error) {
	if e.db == nil {
		return "", nil
	}
	return e.db.BeginSubmit(ctx, store.Submission{
		Scheduler: e.sched.Name(), Name: p.rec.Name, Command: p.rec.Command,
		Resources: p.rec.Resources, Metadata: p.rec.Metadata, Array: p.job.Array,
		ScriptPath: p.rec.ScriptPath, StdoutPath: p.rec.StdoutPath, StderrPath: p.rec.StderrPath,
		WorkDir: p.rec.Resources.WorkDir, SubmitTime: p.rec.SubmitTime,
		OnThisMachine: e.onThisMachine,
	})
}

// endSubmit records the outcome of a submission. An accepted one is
// written by the flusher with the next batch of states (one commit for a
// burst of submissions): until then, and forever if this process dies
// first, the store holds the open intent, which every poll settles from
// the scheduler's record of the job. A transient failure that left it
// unclear whether the scheduler created the job stays an open intent too.
func (e *Executor) endSubmit(ctx context.Context, token, id string, subErr error) error {
	if e.db == nil || token == "" {
		return nil
	}
	if subErr == nil {
		e.w.completed(store.Completion{Token: token, JobID: id})
		return nil
	}
	// The store must record the outcome even if the caller's context ended
	// right after the scheduler answered.
	ctx = context.WithoutCancel(ctx)
	if errors.Is(subErr, scheduler.ErrTransient) || errors.Is(subErr, errAmbiguousSubmit) {
		return nil
	}
	return e.db.FailSubmit(ctx, token, subErr.Error())
}

// settleSubmits settles intents whose process died between asking the
// scheduler and recording the answer, from the observations of a status
// command the caller ran anyway (no extra lookup per intent): the job is
// adopted and tracked if the scheduler shows exactly one untracked job of
// that name (or the intent's token), the intent failed if the command
// covered the name (covers) and showed no such job. The store read costs
// one indexed query. It returns the jobs it adopted.
func (e *Executor) settleSubmits(ctx context.Context, obs []scheduler.Observation, covers func(name string) bool) (adopted []*Job) {
	if e.db == nil {
		return nil
	}
	pending, err := e.db.PendingSubmits(ctx)
	if err != nil {
		e.warn(ctx, "job store: reading interrupted submissions", "err", err)
		return nil
	}
	host, _ := os.Hostname()
	now := time.Now()
	names := map[string]bool{}
	for _, p := range pending {
		if p.Scheduler == e.sched.Name() && !submitting(p, host) {
			names[p.Name] = true
		}
	}
	if len(names) == 0 {
		return nil
	}
	known := e.knownIDs(ctx, obs, names)
	var lost []store.Record
	for _, p := range pending {
		if !names[p.Name] || p.Scheduler != e.sched.Name() || submitting(p, host) {
			continue
		}
		e.mu.Lock()
		id, found, err := matchSubmitted(obs, p.Name, p.Token, func(id string) bool { return e.jobs[id] != nil || known[id] })
		e.mu.Unlock()
		switch {
		case err != nil:
			e.log.Warn("cannot settle an interrupted submission yet", "name", p.Name, "err", err)
		case found:
			adopted = e.adoptSubmit(ctx, p, id, now, adopted)
		case covers(p.Name) && e.submitLost(p, now):
			lost = append(lost, p)
		}
	}
	// A scheduler that forgets finished jobs may still know which job a
	// submission became.
	indexed := map[string]string{}
	if idx, ok := e.sched.(scheduler.SubmissionIndex); ok && len(lost) > 0 {
		tokens := make([]string, len(lost))
		for i, p := range lost {
			tokens[i] = p.Token
		}
		var err error
		if indexed, err = idx.SubmittedAs(ctx, tokens); err != nil {
			e.warn(ctx, "cannot settle interrupted submissions yet", "err", err)
			return adopted
		}
	}
	for _, p := range lost {
		if id, ok := indexed[p.Token]; ok {
			adopted = e.adoptSubmit(ctx, p, id, now, adopted)
			continue
		}
		if err := e.db.FailSubmit(ctx, p.Token, "the submitting process ended before the scheduler confirmed the job, and the scheduler has no job of this name"); err != nil {
			e.warn(ctx, "recording a lost submission", "name", p.Name, "err", err)
		}
	}
	return adopted
}

// adoptSubmit records that interrupted submission p became job id and
// tracks the job, adding it to adopted.
func (e *Executor) adoptSubmit(ctx context.Context, p store.Record, id string, now time.Time, adopted []*Job) []*Job {
	if err := e.db.CompleteSubmit(ctx, p.Token, id); err != nil {
		e.warn(ctx, "recording an adopted submission", "name", p.Name, "err", err)
		return adopted
	}
	if sr, err := e.db.Get(ctx, store.Key{Scheduler: p.Scheduler, JobID: id}); err == nil {
		if _, tracked := e.Job(id); !tracked {
			adopted = append(adopted, e.trackStored(sr, now))
		}
	}
	return adopted
}

// submitLost reports whether an interrupted submission that the scheduler
// does not list can be given up. The local executor writes a job to its
// spool before Submit returns, so its absence there is final. A grid
// scheduler's submit command may outlive the capi process that ran it
// (bsub waiting for mbatchd) and create the job later: the intent stays
// open, listed as unknown, for zombie_timeout after it was made.
func (e *Executor) submitLost(p store.Record, now time.Time) bool {
	if _, spoolOnly := e.sched.(scheduler.CapiOnly); spoolOnly {
		return true
	}
	return now.Sub(p.SubmitTime) >= e.cfg.ZombieTimeout
}

// submitting reports whether an intent is still being submitted by a live
// process; after an hour its pid has more likely been reused than the
// submit hung.
func submitting(p store.Record, host string) bool {
	return p.OwnerHost == host && processAlive(p.OwnerPID) && time.Since(p.SubmitTime) < time.Hour
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Follow tracks every job of the job store that has not ended and that
// this executor does not track yet (one store read), so that the next Poll
// brings them up to date: what a process that shows or waits on jobs
// submitted elsewhere calls before its poll. Without a store it does
// nothing.
func (e *Executor) Follow(ctx context.Context) ([]*Job, error) {
	if err := e.usable(ctx); err != nil {
		return nil, err
	}
	return e.follow(ctx, []scheduler.Status{Pending, Running, Unknown})
}

// follow tracks the store's jobs of this scheduler in statuses (all
// visible ones if none) that this executor does not track yet, with their
// full records, and returns them. Finished jobs past completed_retention
// are marked purged instead (they stay in the history).
func (e *Executor) follow(ctx context.Context, statuses []scheduler.Status) ([]*Job, error) {
	if e.db == nil {
		return nil, nil
	}
	recs, err := e.db.List(ctx, store.Filter{Scheduler: e.sched.Name(), Statuses: statuses, WithElements: true})
	if err != nil {
		return nil, fmt.Errorf("job store: %w", err)
	}
	now := time.Now()
	var followed []*Job
	var purge []store.Key
	for _, sr := range recs {
		if _, ok := e.Job(sr.JobID); ok || sr.JobID == "" {
			continue
		}
		if e.pastRetention(sr.Status, sr.FinishTime, now) {
			purge = append(purge, sr.Key())
			continue
		}
		followed = append(followed, e.trackStored(sr, now))
	}
	if len(purge) > 0 {
		if err := e.db.MarkPurged(ctx, purge); err != nil {
			e.warn(ctx, "marking old jobs purged", "err", err)
		}
	}
	return followed, nil
}

// pastRetention is the one retention rule: a job in status that ended at
// finish is past completed_retention at now (a negative retention purges
// at once; an unfinished job never expires).
func (e *Executor) pastRetention(status Status, finish, now time.Time) bool {
	return status.Terminal() && (e.cfg.CompletedRetention < 0 || (!finish.IsZero() && now.Sub(finish) >= e.cfg.CompletedRetention))
}

// Expired reports whether r ended longer than completed_retention before
// now: history, which List leaves out unless asked for it, whether or not
// some process purged it already.
func (e *Executor) Expired(r Record, now time.Time) bool {
	return e.pastRetention(r.Status, r.FinishTime, now)
}

// recordFromStore is what the submission of a stored job fixed, as a
// Record without status (the state is phaseOf(sr.JobState)). The store
// keeps log paths as submitted, before the scheduler gave the job its id;
// they are expanded here as for a job submitted by this process.
func (e *Executor) recordFromStore(sr store.Record) Record {
	r := Record{
		ID: sr.JobID, Name: sr.Name, Executor: sr.Scheduler, Command: sr.Command, SubmitTime: sr.SubmitTime,
		Resources: sr.Resources, ScriptPath: sr.ScriptPath,
		StdoutPath: e.dialect.LogPath(sr.StdoutPath, sr.JobID, -1),
		StderrPath: e.dialect.LogPath(sr.StderrPath, sr.JobID, -1),
		Metadata:   sr.Metadata,
	}
	if r.Resources.WorkDir == "" {
		r.Resources.WorkDir = sr.WorkDir
	}
	if sr.Array != nil {
		r.Array = &ArrayRecord{First: sr.Array.First, Last: sr.Array.Last, MaxConcurrent: sr.Array.MaxConcurrent}
	}
	return r
}

// trackStored tracks a job restored from the store, in the state the store
// holds; retention of a job that has ended counts from its end.
func (e *Executor) trackStored(sr store.Record, now time.Time) *Job {
	st := e.stateFromStore(sr)
	healed := st.status != sr.Status
	e.mu.Lock()
	defer e.mu.Unlock()
	j, tracked := e.trackLocked(st, now)
	if tracked {
		return j
	}
	if j.st.status.Terminal() && !sr.FinishTime.IsZero() {
		j.st.endedAt = sr.FinishTime
	}
	if !healed {
		e.w.forget(j.id) // nothing new to write
	}
	return j
}

// ListFilter selects jobs for List.
type ListFilter struct {
	// Statuses keeps only jobs in these statuses.
	Statuses []Status
	// Name is a pattern on the job name, '*' matching any run of characters.
	Name string
	// Since keeps jobs submitted at or after this time.
	Since time.Time
	// IncludePurged lists finished jobs past completed_retention too (the
	// history); without it they are left out.
	IncludePurged bool
	// Limit keeps the newest Limit jobs; 0 = all.
	Limit int
}

// List returns jobs of this executor's scheduler, oldest first: from the
// durable store when there is one (so jobs of other processes and of
// earlier days are included), else the jobs tracked in memory.
func (e *Executor) List(ctx context.Context, f ListFilter) ([]Record, error) {
	if err := e.usable(ctx); err != nil {
		return nil, err
	}
	if e.db == nil {
		var out []Record
		for _, j := range e.Jobs() {
			r := j.Snapshot()
			if (len(f.Statuses) == 0 || slices.Contains(f.Statuses, r.Status)) &&
				(f.Name == "" || MatchName(f.Name, r.Name)) && !r.SubmitTime.Before(f.Since) {
				out = append(out, r)
			}
		}
		sort.SliceStable(out, func(a, b int) bool { return out[a].SubmitTime.Before(out[b].SubmitTime) })
		if f.Limit > 0 && len(out) > f.Limit {
			out = out[len(out)-f.Limit:]
		}
		return out, nil
	}
	if err := e.w.flush(ctx); err != nil {
		e.warn(ctx, "listing without the latest states", "err", err)
	}
	recs, err := e.db.List(ctx, store.Filter{Scheduler: e.sched.Name(), Statuses: f.Statuses, Name: f.Name,
		Since: f.Since, IncludePurged: f.IncludePurged, Limit: f.Limit, WithElements: true})
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(recs))
	now := time.Now()
	for _, sr := range recs {
		// Finished longer ago than completed_retention: history, shown only
		// when asked for, whether or not some process purged it already.
		if !f.IncludePurged && e.pastRetention(sr.Status, sr.FinishTime, now) {
			continue
		}
		if j, ok := e.Job(sr.JobID); ok {
			out = append(out, j.Snapshot())
			continue
		}
		st := e.stateFromStore(sr)
		out = append(out, st.snapshot(e.dialect))
	}
	if len(f.Statuses) == 0 || slices.Contains(f.Statuses, Unknown) {
		interrupted, err := e.interruptedSubmits(ctx, f)
		if err != nil {
			return nil, err
		}
		if len(interrupted) > 0 {
			out = append(out, interrupted...)
			sort.SliceStable(out, func(a, b int) bool { return out[a].SubmitTime.Before(out[b].SubmitTime) })
		}
	}
	return out, nil
}

// interruptedSubmits lists the submissions of this scheduler that match f
// and whose outcome the store does not know yet, as unknown records
// without a job id: a job a killed `capi submit` left is listed by every
// command until a poll settles it (settleSubmits).
func (e *Executor) interruptedSubmits(ctx context.Context, f ListFilter) ([]Record, error) {
	pending, err := e.db.PendingSubmits(ctx)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	var out []Record
	for _, p := range pending {
		if p.Scheduler != e.sched.Name() || (f.Name != "" && !MatchName(f.Name, p.Name)) || p.SubmitTime.Before(f.Since) {
			continue
		}
		r := e.recordFromStore(p)
		r.Status, r.Reason = Unknown, ""
		r.Detail = fmt.Sprintf("submitted by process %d on %s, which ended before it recorded the scheduler's answer; the next poll settles it", p.OwnerPID, p.OwnerHost)
		if submitting(p, host) {
			r.Detail = fmt.Sprintf("being submitted by process %d", p.OwnerPID)
		}
		out = append(out, r)
	}
	return out, nil
}

// stateFromStore is the one way from a stored record to the engine's view
// of a job, for listing it (List) and for following it
// (trackStored).
func (e *Executor) stateFromStore(sr store.Record) jobState {
	st := jobState{rec: e.recordFromStore(sr), phase: phaseOf(sr.JobState)}
	// A submission the scheduler refused (or never confirmed) has no
	// elements, whatever range it asked for: a refused 1-100000000 must not
	// become 10^8 pending elements in every listing.
	if a := st.rec.Array; a != nil && sr.JobID != "" {
		// The store lists elements by index, and only those observed.
		for _, es := range sr.Elements {
			if st.inRange(es.Index) {
				st.elems = append(st.elems, elemState{index: int32(es.Index), phase: phaseOf(es.JobState)})
			}
		}
		// An array's own state is derived from its elements, on restore
		// as after a poll, so that a row that lags behind them (every
		// element final, the row not) is caught up; a final row stays
		// final.
		if !st.status.Terminal() {
			st.rollUp()
		}
	}
	return st
}

// Get returns the job with the given id: a tracked one, or one restored
// from the durable store (and tracked from then on). An unknown id is an
// error wrapping ErrNotFound.
func (e *Executor) Get(ctx context.Context, id string) (*Job, error) {
	if err := e.usable(ctx); err != nil {
		return nil, err
	}
	if j, ok := e.Job(id); ok {
		return j, nil
	}
	if e.db != nil {
		sr, err := e.db.Get(ctx, store.Key{Scheduler: e.sched.Name(), JobID: id})
		if err == nil {
			return e.trackStored(sr, time.Now()), nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("job %s is not known to capi on %s (state dir %s): %w", id, e.sched.Name(), e.cfg.StateDir, ErrNotFound)
}

var errAmbiguousSubmit = errors.New("submission outcome unknown")

package clusterapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/script"
	"github.com/go-cluster-api/clusterapi/internal/store"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

// Poll asks the scheduler about every tracked job (one status command) and
// updates records, firing callbacks for jobs that ended. With a job store
// and a grid scheduler, polls are shared among the processes using the
// state dir (see sharedpoll.go): Poll then runs the status command only
// when this process holds the poll lease, and otherwise reads what the
// holder recorded. Jobs the live queue
// no longer shows are looked up in the scheduler's accounting, then in the
// exit-status file their script writes; only a job no source knows for
// zombie_timeout_minutes is declared failed (vanished). Time only counts
// towards that across polls that succeeded: a scheduler outage never turns
// running jobs into zombies.
func (e *Executor) Poll(ctx context.Context) error {
	if err := e.usable(ctx); err != nil {
		return err
	}
	_, err := e.poll(ctx, false)
	return err
}

// poll is every poll: Poll's, and Reconnect's (adopt). When polls are
// shared and another process holds the lease it reads what the holder
// recorded; otherwise it runs one status command, which also settles
// interrupted submissions and, with adopt, finds the jobs of this
// job_name_prefix that no process recorded. It returns the jobs it
// started tracking.
func (e *Executor) poll(ctx context.Context, adopt bool) ([]*Job, error) {
	q := e.query()
	own := q.Prefix
	var finish func(error) // records a shared poll's outcome
	if e.sharesPolls() {
		e.mu.Lock()
		interval := e.pollEvery
		e.mu.Unlock()
		d, cerr := e.db.ClaimPoll(ctx, e.pollClaim(interval), leaseFor)
		if cerr != nil {
			e.warn(ctx, "shared polling unavailable; polling alone", "err", cerr)
		} else {
			e.mu.Lock()
			e.shared = d
			e.mu.Unlock()
			if !d.Run {
				return nil, e.readShared(ctx)
			}
			// The holder polls for every process: every unfinished job
			// of the store, under whatever prefix (Reconnect has just
			// restored them).
			if !adopt {
				if _, err := e.Follow(ctx); err != nil {
					e.warn(ctx, "job store: following the jobs of other processes", "err", err)
				}
			}
			q = e.covering()
			finish = func(err error) {
				if ferr := e.db.FinishPoll(context.WithoutCancel(ctx), e.sched.Name(), e.process, err); ferr != nil {
					e.log.Warn("recording the shared poll", "err", ferr)
				}
			}
		}
	}
	obs, err := e.sched.Poll(ctx, q)
	var found []*Job
	var adoptErr error
	if err == nil {
		// Interrupted submissions become tracked jobs before the
		// observations are applied, so theirs apply too.
		found = e.settleSubmits(ctx, obs, func(name string) bool { return strings.HasPrefix(name, q.Prefix) })
		if adopt {
			var listed []*Job
			listed, adoptErr = e.adoptListed(ctx, obs, own)
			found = append(found, listed...)
		}
	}
	err = e.absorb(ctx, obs, err)
	if finish != nil {
		finish(err)
	}
	return found, errors.Join(err, adoptErr)
}

// query is what every poll asks the scheduler: this executor's jobs (by
// job_name_prefix), or all of the user's.
func (e *Executor) query() scheduler.Query {
	q := scheduler.Query{AllUsers: e.cfg.PollAllUsers}
	if e.cfg.JobNamePrefix != "" {
		q.Prefix = script.SanitizeName(e.cfg.JobNamePrefix) + "-"
	}
	return q
}

// absorb takes in the answer of one status command (obs, or the error it
// failed with) as a poll: it applies the observations, learns what other
// processes recorded, asks accounting and exit files about the jobs the
// queue did not list, counts zombie time and purges old jobs.
func (e *Executor) absorb(ctx context.Context, obs []scheduler.Observation, err error) error {
	now := time.Now()
	e.mu.Lock()
	if err != nil {
		e.lastPollOK = false
		e.lastPoll = now
		e.mu.Unlock()
		return fmt.Errorf("poll %s: %w", e.sched.Name(), err)
	}
	e.pollSeq++
	seq := e.pollSeq
	e.applyAll(obs, store.SourceScheduler, now, seq)
	unfinished := e.unfinishedLocked()
	e.mu.Unlock()

	if err := e.learn(ctx, unfinished, now, seq, false); err != nil {
		e.warn(ctx, "could not learn what other processes recorded", "err", err)
	}

	e.mu.Lock()
	missing := e.missingLocked(seq)
	e.mu.Unlock()

	sourcesOK := true
	if acc, ok := e.sched.(scheduler.Accountant); ok && len(missing) > 0 {
		aobs, err := acc.Account(ctx, jobIDs(missing))
		e.mu.Lock()
		switch {
		case err != nil && ctx.Err() != nil:
			sourcesOK = false // abandoned, not an outage
		case err != nil:
			sourcesOK = false
			if failures, ok := e.acctOutage.failed(now); ok {
				e.log.Warn("accounting lookup failed; not counting these polls towards zombie time", "err", err, "failures", failures)
			}
		default:
			if failures := e.acctOutage.recovered(); failures > 0 {
				e.log.Info("accounting answering again", "failed_lookups", failures)
			}
			e.applyAll(aobs, store.SourceScheduler, now, seq)
			missing = stillAbsentLocked(missing, seq)
		}
		e.mu.Unlock()
	}

	// Exit-status files: read without the lock (file I/O), apply with it.
	found := e.readExitFiles(missing, now)

	e.mu.Lock()
	e.applyAll(found, store.SourceExitFile, now, seq)
	missing = stillAbsentLocked(missing, seq)
	var delta time.Duration
	if e.lastPollOK && sourcesOK && !e.lastPoll.IsZero() {
		delta = now.Sub(e.lastPoll)
	}
	e.lastPoll, e.lastPollOK = now, sourcesOK
	stillMissing := make(map[*Job]bool, len(missing))
	for _, m := range missing {
		stillMissing[m.job] = true
	}
	for _, j := range e.jobs {
		if j.st.status.Terminal() {
			continue
		}
		if !stillMissing[j] {
			j.st.unseen = 0
			continue
		}
		j.st.unseen += delta
		if j.st.unseen >= e.cfg.ZombieTimeout {
			e.vanishLocked(j, now, seq)
		}
	}
	purged := e.purgeLocked(now)
	e.mu.Unlock()
	// What this poll learnt is written even when the caller gives up now
	// (a command exiting mid-poll): the store must not lag behind.
	err = e.w.flush(context.WithoutCancel(ctx))
	if len(purged) > 0 && e.db != nil {
		if perr := e.db.MarkPurged(ctx, purged); perr != nil {
			e.warn(ctx, "job store: marking purged jobs", "err", perr)
		}
	}
	if err != nil {
		e.log.Warn("could not record job states; will retry", "err", err)
	}
	return nil
}

// absent is a job, or one element of an array, that no source reported in
// the current poll. script is the job's script path (immutable), so that
// exit files can be read without the lock.
type absent struct {
	job      *Job
	index    int
	inArray  bool
	script   string
	start    int64 // when it was seen starting (unix ns), 0 if never
	walltime time.Duration
}

// missingLocked lists what the live queue did not report in poll seq: the
// one walk over every tracked job and element in a poll. Later sources
// only shrink the list (stillAbsentLocked).
func (e *Executor) missingLocked(seq uint64) []absent {
	var out []absent
	for _, j := range e.jobs {
		if j.st.status.Terminal() {
			continue
		}
		sp, walltime := j.st.rec.ScriptPath, j.st.rec.Resources.Walltime
		if j.st.rec.Array == nil {
			if j.st.seenPoll != seq {
				out = append(out, absent{job: j, script: sp, start: j.st.start, walltime: walltime})
			}
			continue
		}
		j.st.eachElement(func(index int, el *elemState) {
			if el == nil {
				out = append(out, absent{job: j, index: index, inArray: true, script: sp, walltime: walltime})
			} else if !el.status.Terminal() && el.seenPoll != uint32(seq) {
				out = append(out, absent{job: j, index: index, inArray: true, script: sp, start: el.start, walltime: walltime})
			}
		})
	}
	return out
}

// stillAbsentLocked keeps the entries of missing that no source has
// reported in poll seq since.
func stillAbsentLocked(missing []absent, seq uint64) []absent {
	kept := missing[:0]
	for _, m := range missing {
		st := &m.job.st
		if st.status.Terminal() {
			continue
		}
		if !m.inArray {
			if st.seenPoll != seq {
				kept = append(kept, m)
			}
			continue
		}
		if el := st.held(m.index); el == nil || (!el.status.Terminal() && el.seenPoll != uint32(seq)) {
			kept = append(kept, m)
		}
	}
	return kept
}

// jobIDs returns the distinct job ids of missing: an array with many
// absent elements is one id to look up, not one per element.
func jobIDs(missing []absent) []string {
	var ids []string
	var last *Job
	seen := make(map[*Job]bool)
	for _, m := range missing {
		if m.job == last || seen[m.job] {
			continue
		}
		last, seen[m.job] = m.job, true
		ids = append(ids, m.job.id)
	}
	return ids
}

func (e *Executor) readExitFiles(missing []absent, now time.Time) []scheduler.Observation {
	var out []scheduler.Observation
	for _, m := range missing {
		if m.script == "" {
			continue
		}
		ex, ok := script.ReadExitFile(script.ExitFilePath(m.script, m.job.id, m.index, m.inArray))
		if !ok {
			continue
		}
		o := exitFileObservation(ex, e.dialect.LimitSignals, m.walltime, m.start, now)
		o.ID, o.Index, o.InArray = m.job.id, m.index, m.inArray
		out = append(out, o)
	}
	return out
}

// exitFileObservation is what an exit file says about a job that no other
// source knows any more (the rules are in the README's status section):
//   - an exit status: done when 0, else failed/exit_code;
//   - a signal the job's shell caught, that is one sent to the job from
//     outside: failed/timeout for the scheduler's limit signals or when the
//     job had run for its whole walltime (started is when it was seen
//     starting, unix ns, 0 if never), else killed/cancelled.
func exitFileObservation(ex script.Exit, limitSignals []syscall.Signal, walltime time.Duration, started int64, now time.Time) scheduler.Observation {
	o := scheduler.Observation{ExitCode: ex.Code, HasExit: true, FinishTime: now, Status: Done, Detail: "exit status from the job's exit file"}
	switch {
	case ex.Signal == 0 && ex.Code == 0:
	case ex.Signal == 0:
		o.Status, o.Reason = Failed, ReasonExitCode
	case slices.Contains(limitSignals, syscall.Signal(ex.Signal)):
		o.Status, o.Reason = Failed, ReasonTimeout
		o.Detail = fmt.Sprintf("the job's shell caught %s, which the scheduler sends at a run-time limit (from the job's exit file)", signalText(ex.Signal))
	case walltime > 0 && started != 0 && now.Sub(time.Unix(0, started)) >= walltime:
		o.Status, o.Reason = Failed, ReasonTimeout
		o.Detail = fmt.Sprintf("the job's shell caught %s after running for its walltime of %s (from the job's exit file)", signalText(ex.Signal), walltime)
	default:
		o.Status, o.Reason = Killed, ReasonCancelled
		o.Detail = fmt.Sprintf("the job's shell caught %s: cancelled, preempted or stopped by the scheduler; its accounting would say which (from the job's exit file)", signalText(ex.Signal))
	}
	return o
}

// signalText names a signal for a detail line: "SIGTERM (signal 15)".
func signalText(n int) string {
	if name := script.SignalName(syscall.Signal(n)); name != "" {
		return fmt.Sprintf("SIG%s (signal %d)", name, n)
	}
	return fmt.Sprintf("signal %d", n)
}

// vanishLocked declares failed/vanished job j, or the elements of array j
// that poll seq did not see.
func (e *Executor) vanishLocked(j *Job, now time.Time, seq uint64) {
	o := scheduler.Observation{
		ID: j.id, Status: Failed, Reason: ReasonVanished, FinishTime: now,
		Detail: fmt.Sprintf("not seen by the scheduler's queue, its accounting or the exit file for %s", e.cfg.ZombieTimeout),
	}
	e.decideLocked(j, o, store.SourceVanished, now, func(_ int, el *elemState) bool {
		return el == nil || el.seenPoll != uint32(seq)
	})
}

// decideLocked applies o, a final state the engine decided on (a cancel, a
// vanish), to job j: to the job itself, or to every element of array j that
// has not ended and that pick chooses (el is nil for one not held),
// holding those first; then the array is rolled up once.
func (e *Executor) decideLocked(j *Job, o scheduler.Observation, src store.Source, now time.Time, pick func(index int, el *elemState) bool) {
	if j.st.rec.Array == nil {
		e.commitLocked(j, j.st.apply(&o, src, now, 0), now)
		return
	}
	var picked []int
	j.st.eachElement(func(index int, el *elemState) {
		if (el == nil || !el.status.Terminal()) && pick(index, el) {
			picked = append(picked, index)
		}
	})
	j.st.hold(picked)
	o.InArray = true
	for _, index := range picked {
		o.Index = index
		e.commitLocked(j, j.st.apply(&o, src, now, 0), now)
	}
	e.rollUpLocked(j, now)
}

// applyAll is how observations change jobs: it applies each to its job's
// state (seq marks what poll seq saw; 0 for notifications, what other
// processes recorded and the engine's own decisions), hands what changed
// on (commitLocked), and then rolls up each array it touched once.
// Rolling up after every element would cost O(elements²) per array and
// poll (an array of 10,000 elements: 60 µs per element instead of ~5).
// Final jobs and elements never change again.
func (e *Executor) applyAll(obs []scheduler.Observation, src store.Source, now time.Time, seq uint64) {
	// Elements seen for the first time are held in one merge per array.
	fresh := map[*Job][]int{}
	for i := range obs {
		if j := e.jobs[obs[i].ID]; j != nil && obs[i].InArray && !j.st.status.Terminal() && j.st.held(obs[i].Index) == nil {
			fresh[j] = append(fresh[j], obs[i].Index)
		}
	}
	for j, indices := range fresh {
		j.st.hold(indices)
	}
	var arrays []*Job
	for i := range obs {
		j := e.jobs[obs[i].ID]
		if j == nil {
			continue
		}
		ch := j.st.apply(&obs[i], src, now, seq)
		e.commitLocked(j, ch, now)
		// Elements of one array come together in every scheduler's
		// output; an array seen twice is rolled up twice, harmlessly.
		if ch.elem >= 0 && (len(arrays) == 0 || arrays[len(arrays)-1] != j) {
			arrays = append(arrays, j)
		}
	}
	for _, j := range arrays {
		e.rollUpLocked(j, now)
	}
}

// rollUpLocked derives an array's state from its elements (see
// jobState.rollUp) and ends the job if that is final. A roll-up that
// changed the array's own state is written like any other change of its
// row: listings filter on it (capi status --status running).
func (e *Executor) rollUpLocked(j *Job, now time.Time) {
	before := j.st.phase
	ended := j.st.rollUp()
	e.commitLocked(j, change{job: j.st.phase != before, elem: -1, ended: ended}, now)
}

// commitLocked hands what changed in j to those who consume it: the store
// (through its writer) and, when the job has just ended, its waiters and
// callbacks.
func (e *Executor) commitLocked(j *Job, ch change, now time.Time) {
	if e.w != nil && ch.job {
		e.w.job(j.id, j.st.stored())
	}
	if e.w != nil && ch.elem >= 0 && ch.elemChanged {
		e.w.element(j.id, j.st.elems[ch.elem].stored())
	}
	if ch.ended {
		e.endLocked(j, now)
	}
}

// endLocked handles a job's transition to a terminal status: waiters are
// released and matching callbacks queued, exactly once.
func (e *Executor) endLocked(j *Job, now time.Time) {
	st := &j.st
	if !st.endedAt.IsZero() {
		return
	}
	st.endedAt = now
	if j.done != nil {
		close(j.done)
	}
	if e.w != nil {
		e.w.job(j.id, st.stored())
	}
	if len(st.callbacks) == 0 {
		return
	}
	snap := st.snapshot(e.dialect)
	for _, cb := range st.callbacks {
		if cb.matches(st.status) {
			st.inflight++
			e.dispatch.enqueueFor(j, cb.fn, snap)
		}
	}
	st.callbacks = nil
}

// callbackFinished is called by the dispatcher after running a callback.
func (e *Executor) callbackFinished(j *Job) {
	e.mu.Lock()
	j.st.inflight--
	e.mu.Unlock()
}

// purgeLocked forgets terminal jobs whose callbacks have all run, once
// completed_retention_minutes have passed since they ended, and returns
// their store keys.
func (e *Executor) purgeLocked(now time.Time) []store.Key {
	var keys []store.Key
	for id, j := range e.jobs {
		st := &j.st
		if st.endedAt.IsZero() || st.inflight > 0 || (e.w != nil && e.w.pending(id)) {
			continue
		}
		if e.pastRetention(st.status, st.endedAt, now) {
			delete(e.jobs, id)
			keys = append(keys, store.Key{Scheduler: e.sched.Name(), JobID: id})
		}
	}
	for id, n := range e.early {
		if now.Sub(n.since) > earlyNotesTTL {
			delete(e.early, id) // belongs to no job of ours
		}
	}
	return keys
}

// notify receives observations from schedulers that report completions
// themselves (the local executor), so callbacks need not wait for a poll.
func (e *Executor) notify(o scheduler.Observation) {
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.jobs[o.ID] != nil {
		e.applyAll([]scheduler.Observation{o}, store.SourceScheduler, now, 0)
		return
	}
	n := e.early[o.ID]
	if n == nil {
		n = &earlyNotes{since: now}
		e.early[o.ID] = n
	}
	n.obs = append(n.obs, o)
}

// outageLog keeps a failing source from flooding the log: the first
// failure is logged, then one more each time a pause has passed, the pause
// doubling from a minute up to an hour; recovered says how many failures
// the outage lasted.
type outageLog struct {
	failures int
	next     time.Time
	pause    time.Duration
}

// failed counts a failure at now and says whether to log it.
func (l *outageLog) failed(now time.Time) (failures int, log bool) {
	l.failures++
	if l.failures > 1 && now.Before(l.next) {
		return l.failures, false
	}
	l.pause = min(max(2*l.pause, time.Minute), time.Hour)
	l.next = now.Add(l.pause)
	return l.failures, true
}

// recovered ends an outage and returns how many failures it counted.
func (l *outageLog) recovered() int {
	n := l.failures
	*l = outageLog{}
	return n
}

// unfinishedLocked lists the ids of the tracked jobs that have not ended.
func (e *Executor) unfinishedLocked() []string {
	var ids []string
	for id, j := range e.jobs {
		if !j.st.status.Terminal() {
			ids = append(ids, id)
		}
	}
	return ids
}

// learn applies what the job store holds of the jobs ids that this
// process follows: states other processes recorded. After a poll of its own
// (all false) only final states count: a capi wait in one shell ends within
// a poll of a capi cancel in another, and never declares vanished a job
// whose end another process knows; a job or element the live queue listed
// in this poll (seq) keeps the queue's word unless the stored state is the
// scheduler's own too. A reader of the shared poll (all true) applies every
// state the store has newer than what it applied before.
func (e *Executor) learn(ctx context.Context, ids []string, now time.Time, seq uint64, all bool) error {
	if e.db == nil || len(ids) == 0 {
		return nil
	}
	e.mu.Lock()
	seen := make(map[string]time.Time, len(ids))
	for _, id := range ids {
		if j := e.jobs[id]; j != nil {
			seen[id] = j.st.storeSeen
		}
	}
	e.mu.Unlock()
	states, err := e.db.States(ctx, e.sched.Name(), ids, func(id string) time.Time { return seen[id] })
	if err != nil {
		return fmt.Errorf("job store: reading the states other processes recorded: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	// A stored state is taken when it is final and nothing of this poll
	// contradicts it, or always when reading the shared poll.
	takes := func(s store.JobState, seenNow bool) bool {
		return all || (s.Status.Terminal() && (!seenNow || s.Source == store.SourceScheduler))
	}
	bySource := map[store.Source][]scheduler.Observation{}
	for id, c := range states {
		j := e.jobs[id]
		if j == nil || j.st.status.Terminal() {
			continue
		}
		j.st.storeSeen = c.UpdatedAt
		if j.st.rec.Array == nil {
			if takes(c.Job, j.st.seenPoll == seq) {
				bySource[c.Job.Source] = append(bySource[c.Job.Source], observationOf(id, c.Job))
			}
			continue
		}
		for _, es := range c.Elements {
			el := j.st.held(es.Index)
			if (el == nil || !el.status.Terminal()) && takes(es.JobState, el != nil && el.seenPoll == uint32(seq)) {
				o := observationOf(id, es.JobState)
				o.InArray, o.Index = true, es.Index
				bySource[es.Source] = append(bySource[es.Source], o)
			}
		}
	}
	for src, obs := range bySource {
		e.applyAll(obs, src, now, 0)
	}
	return nil
}

// observationOf turns a stored state back into an observation of job id.
func observationOf(id string, st store.JobState) scheduler.Observation {
	o := scheduler.Observation{ID: id, Status: st.Status, Reason: st.Reason, Detail: st.Detail,
		Host: st.ExecHost, MaxMem: st.MaxMem, StartTime: st.StartTime, FinishTime: st.FinishTime}
	if st.ExitCode != nil {
		o.ExitCode, o.HasExit = *st.ExitCode, true
	}
	return o
}

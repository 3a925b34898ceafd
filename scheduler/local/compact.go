package local

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The journal would grow with every job ever run, and every process replays
// it when it opens the spool (100,000 jobs: 81 MB, 1.6 s here). So the
// dispatcher compacts it, the way real schedulers forget finished jobs (LSF
// CLEAN_PERIOD, an hour by default; SLURM MinJobAge): once the journal has
// grown past compactAbove, it is rewritten without the jobs whose every
// element ended more than cleanPeriod ago, and replaces the old one by a
// rename under the journal lock. Every process notices the new file at its
// next look and reads it from its start (catchUpLocked). A job that ages
// out is still known to the job store, and a process that follows it
// later reads its exit status from its run file, as it would for a job a
// cluster forgot (an element that never ran has none, and vanishes after
// zombie_timeout).
const (
	compactAbove = 8 << 20
	cleanPeriod  = time.Hour
	// compactEvery bounds how often the dispatcher looks.
	compactEvery = time.Minute
)

// evIDs carries the last job id handed out across a compaction, so that
// no id is ever handed out twice, even when every job was dropped.
const evIDs = "ids"

// maybeCompactLocked compacts the journal if this instance dispatches and
// the journal is large enough to be worth it. s.mu is held.
func (s *Scheduler) maybeCompactLocked(now time.Time) {
	if s.role == nil || s.book.off < compactAbove || now.Before(s.nextCompact) {
		return
	}
	s.nextCompact = now.Add(compactEvery)
	if err := s.compactLocked(now.Add(-cleanPeriod)); err != nil {
		s.log.Warn("local executor: compacting the journal", "err", err)
	}
}

// compactLocked rewrites the journal without the jobs that ended before
// horizon. s.mu is held.
func (s *Scheduler) compactLocked(horizon time.Time) error {
	if err := s.lockJournal(); err != nil {
		return err
	}
	defer s.unlockJournal()
	evs, dropped := s.book.compacted(horizon)
	if len(dropped) == 0 {
		return nil
	}
	if err := s.keepTokens(dropped); err != nil {
		return err
	}
	tmp := s.sp.journalPath() + ".new"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = appendEvents(f, evs...)
	if err == nil {
		// On disk before it replaces the journal: a power cut must not
		// leave an empty journal, and ids handed out again.
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.sp.journalPath())
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	s.log.Info("local executor: compacted the journal", "jobs_dropped", len(dropped), "jobs_kept", len(s.book.jobs)-len(dropped))
	return s.catchUpLocked()
}

// compacted returns the events that rebuild the book without the jobs
// whose every element ended before horizon, and the jobs that drops.
func (b *book) compacted(horizon time.Time) ([]event, []*bookJob) {
	var kept, dropped []*bookJob
	for _, j := range b.order {
		if j.left > 0 || !j.endedBefore(horizon) {
			kept = append(kept, j)
		} else {
			dropped = append(dropped, j)
		}
	}
	evs := []event{{Ev: evIDs, ID: strconv.Itoa(b.lastID)}}
	var envs []string
	for _, j := range kept {
		if h := j.job.Env; h != "" && !slices.Contains(envs, h) {
			envs = append(envs, h)
		}
	}
	for _, h := range envs {
		if env, ok := b.env[h]; ok {
			evs = append(evs, event{Ev: evEnv, ID: h, Env: env})
		}
	}
	for _, j := range kept {
		evs = append(evs, j.events()...)
	}
	return evs, dropped
}

// keepTokens appends the dropped jobs' submission tokens and ids to the
// tokens file, on disk before the journal that no longer has them
// replaces the old one: an interrupted submission whose job was dropped is
// still adopted (SubmittedAs). s.mu and the journal lock are held.
func (s *Scheduler) keepTokens(dropped []*bookJob) error {
	var buf []byte
	for _, j := range dropped {
		if j.job.Token != "" {
			buf = fmt.Appendf(buf, "%s %s\n", j.job.Token, j.job.ID)
		}
	}
	if len(buf) == 0 {
		return nil
	}
	f, err := os.OpenFile(s.sp.tokensPath(), os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	err = appendLines(f, buf)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// SubmittedAs implements scheduler.SubmissionIndex: from the journal, and
// for the jobs compaction dropped, from the tokens file.
func (s *Scheduler) SubmittedAs(ctx context.Context, tokens []string) (map[string]string, error) {
	s.mu.Lock()
	err := s.catchUpLocked()
	found := make(map[string]string)
	var missing map[string]bool
	for _, t := range tokens {
		if id, ok := s.book.byToken[t]; ok {
			found[t] = id
		} else {
			if missing == nil {
				missing = make(map[string]bool)
			}
			missing[t] = true
		}
	}
	s.unlock()
	if err != nil || len(missing) == 0 {
		return found, err
	}
	f, err := os.Open(s.sp.tokensPath())
	if os.IsNotExist(err) {
		return found, nil
	}
	if err != nil {
		return found, fmt.Errorf("local executor: %w", err)
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		if err := ctx.Err(); err != nil {
			return found, err
		}
		t, id, ok := strings.Cut(lines.Text(), " ")
		if _, err := strconv.Atoi(id); ok && err == nil && missing[t] {
			found[t] = id
		}
	}
	return found, lines.Err()
}

// endedBefore reports whether every element of j ended before t.
func (j *bookJob) endedBefore(t time.Time) bool {
	for i := range j.els {
		if e := &j.els[i]; !e.ended || !e.end.Finish.Before(t) {
			return false
		}
	}
	return true
}

// events are the journal events that rebuild j as the book holds it.
func (j *bookJob) events() []event {
	id := j.job.ID
	evs := []event{{Ev: evSubmit, ID: id, Job: j.job}}
	if j.cancelAll {
		evs = append(evs, event{Ev: evCancel, ID: id})
	}
	for i := range j.els {
		e := &j.els[i]
		el := j.job.el(i)
		if e.cancelled && !j.cancelAll {
			evs = append(evs, event{Ev: evCancel, ID: id, El: el})
		}
		if e.started {
			start := event{Ev: evStart, ID: id, El: el, Owner: e.owner, Pid: e.pid, Start: e.start, GPUs: e.gpus, Run: e.run}
			if e.exit != e.run {
				start.Exit = e.exit
			}
			if e.mem.Kind != "" {
				mem := e.mem
				start.Mem = &mem
			}
			evs = append(evs, start)
		}
		if e.ended {
			end := e.end
			evs = append(evs, event{Ev: evEnd, ID: id, El: el, Owner: e.owner, End: &end})
		}
	}
	return evs
}

// applyIDs records the last id a compacted journal carries over.
func (b *book) applyIDs(ev *event) {
	if n, err := strconv.Atoi(ev.ID); err == nil && n > b.lastID {
		b.lastID = n
	}
}

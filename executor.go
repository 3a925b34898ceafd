package clusterapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/runner"
	"github.com/go-cluster-api/clusterapi/internal/script"
	"github.com/go-cluster-api/clusterapi/internal/store"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

// Options are the parts of an Executor that are not configuration.
type Options struct {
	// Logger receives the engine's logs; nil discards them.
	Logger *slog.Logger
	// Runner runs scheduler commands; nil runs real subprocesses with
	// Config.CommandTimeout.
	Runner scheduler.Runner
	// Scheduler, when set, is used instead of the one Config.Executor
	// names (tests, custom batch systems).
	Scheduler scheduler.Scheduler
}

// Executor is the engine: it submits jobs through a scheduler, tracks them,
// and turns what the scheduler reports into job records, callbacks and
// waits. It is safe for concurrent use. Close it when done.
type Executor struct {
	cfg      Config
	sched    scheduler.Scheduler
	dialect  scheduler.Dialect
	log      *slog.Logger
	writer   script.Writer
	dispatch *dispatcher
	// retryBase is the first submit-retry delay; it doubles each attempt.
	retryBase time.Duration

	// db is the durable job store and w its writer; both nil with
	// in_memory.
	db *store.Store
	w  *writer

	mu sync.Mutex
	// onThisMachine: the scheduler runs jobs here (no fsync per intent).
	onThisMachine bool
	jobs          map[string]*Job
	early         map[string]*earlyNotes // notifications that beat Submit's bookkeeping
	pollSeq       uint64
	lastPoll      time.Time
	lastPollOK    bool
	closed        bool
	acctOutage    outageLog
	// process names this executor among those sharing the state dir (for
	// the poll lease); pollEvery is its Monitor's interval (0: none runs);
	// shared is the last shared-poll decision.
	process   string
	pollEvery time.Duration
	shared    store.PollDecision
}

// New creates an Executor for cfg.Executor.
func New(cfg Config, opts *Options) (*Executor, error) {
	if opts == nil {
		opts = &Options{}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sched := opts.Scheduler
	if sched == nil {
		run := opts.Runner
		if run == nil {
			run = &runner.Exec{Timeout: cfg.CommandTimeout, Logger: log}
		}
		var err error
		sched, err = schedulerFactories[cfg.Executor](scheduler.Options{
			Runner:           run,
			Logger:           log,
			StateDir:         cfg.StateDir,
			LSFUnits:         cfg.LSFUnits,
			LSFExplicitUnits: cfg.LSFExplicitUnits,
			SuppressJobEmail: !cfg.JobEmail,
			Slots:            cfg.LocalSlots,
			GPUs:             cfg.LocalGPUs,
		})
		if err != nil {
			return nil, err
		}
	}
	e := &Executor{
		cfg:       cfg,
		sched:     sched,
		dialect:   sched.Dialect(),
		log:       log,
		retryBase: time.Second,
		jobs:      make(map[string]*Job),
		early:     make(map[string]*earlyNotes),
		process:   processName(),
	}
	if err := e.openStore(); err != nil {
		if c, ok := sched.(scheduler.Closer); ok {
			c.Close()
		}
		return nil, err
	}
	e.dispatch = newDispatcher(log, e.callbackFinished)
	_, e.onThisMachine = sched.(scheduler.OnThisMachine)
	if n, ok := sched.(scheduler.Notifier); ok {
		n.Subscribe(e.notify)
	}
	return e, nil
}

// usable says why the executor cannot do work now: it was closed
// (ErrClosed), or ctx has ended.
func (e *Executor) usable(ctx context.Context) error {
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return fmt.Errorf("%s executor: %w", e.sched.Name(), ErrClosed)
	}
	return ctx.Err()
}

// warn logs a step that could not be done, unless ctx has ended: a poll
// abandoned on the way out (a Monitor stopped as its command ends) leaves
// nothing to report, and the next poll does the step again.
func (e *Executor) warn(ctx context.Context, msg string, args ...any) {
	if ctx.Err() == nil {
		e.log.Warn(msg, args...)
	}
}

// Config returns the executor's configuration with defaults filled in.
func (e *Executor) Config() Config { return e.cfg }

// Name is the scheduler's name ("local", "lsf", ...).
func (e *Executor) Name() string { return e.sched.Name() }

// Close stops the executor: it runs the callbacks already queued and
// releases the scheduler. Jobs keep running on the cluster.
func (e *Executor) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	var errs []error
	if c, ok := e.sched.(scheduler.Closer); ok {
		errs = append(errs, c.Close())
	}
	e.dispatch.close()
	if e.sharesPolls() {
		// Another process takes the poll over at once, not after the lease.
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		errs = append(errs, e.db.LeavePoll(ctx, e.sched.Name(), e.process))
		cancel()
	}
	errs = append(errs, e.closeStore())
	return errors.Join(errs...)
}

// JobSpec describes a job to submit.
type JobSpec struct {
	// Name of the job; sanitized, and prefixed with job_name_prefix. ""
	// uses the command's first word.
	Name string
	// Command is a shell command line, run by the script's shell.
	Command string
	// Resources override the configured defaults field by field.
	Resources Resources
	// Env is exported in the script before the command.
	Env map[string]string
	// Prologue and Epilogue lines run after config's script_prologue and
	// after config's script_epilogue respectively.
	Prologue, Epilogue []string
	// Metadata is kept with the job record (and in the job store).
	Metadata map[string]string
}

// prepared is a submission ready to hand to the scheduler.
type prepared struct {
	job     scheduler.Job
	content []byte
	rec     Record
}

// Submit submits one job.
func (e *Executor) Submit(ctx context.Context, spec JobSpec) (*Job, error) {
	return e.submit(ctx, spec, nil)
}

// SubmitArray submits an array job with elements arr.First..arr.Last.
// Every element sees its index in $CAPI_ARRAY_INDEX (and in the scheduler's
// own variable).
func (e *Executor) SubmitArray(ctx context.Context, spec JobSpec, arr Array) (*Job, error) {
	if arr.First < 0 || arr.Last < arr.First {
		return nil, &ValueError{Kind: "array range", Value: fmt.Sprintf("%d-%d", arr.First, arr.Last), Hint: "write FIRST-LAST with 0 <= FIRST <= LAST"}
	}
	if arr.MaxConcurrent < 0 {
		return nil, &ValueError{Kind: "max concurrent", Value: strconv.Itoa(arr.MaxConcurrent), Hint: "must be 0 (no limit) or positive"}
	}
	return e.submit(ctx, spec, &arr)
}

// Script renders the script a submission would use, without writing or
// submitting anything.
func (e *Executor) Script(spec JobSpec, arr *Array) ([]byte, error) {
	p, err := e.prepare(spec, arr, func(dir, name string) (string, error) {
		return e.writer.NextPath(dir, name), nil
	})
	if err != nil {
		return nil, err
	}
	return p.content, nil
}

// prepare builds the submission. scriptPath chooses (or reserves) the
// script's path in dir (the work directory, or the scheduler's ScriptDir)
// once the name is known.
func (e *Executor) prepare(spec JobSpec, arr *Array, scriptPath func(dir, safeName string) (string, error)) (*prepared, error) {
	if strings.TrimSpace(spec.Command) == "" {
		return nil, &ValueError{Kind: "command", Value: spec.Command, Hint: "give the command to run"}
	}
	res := e.mergeResources(spec.Resources)
	if res.CPUs < 0 || res.GPUs < 0 || res.Memory < 0 || res.Walltime < 0 {
		return nil, &ValueError{Kind: "resources", Value: fmt.Sprintf("%+v", res), Hint: "cpus, gpus, memory and walltime must not be negative"}
	}
	if res.WorkDir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("work directory: %w", err)
		}
		res.WorkDir = wd
	}
	wd, err := filepath.Abs(res.WorkDir)
	if err != nil {
		return nil, &ValueError{Kind: "work_dir", Value: res.WorkDir, Hint: err.Error()}
	}
	res.WorkDir = wd
	if strings.ContainsAny(wd, "\n\r\x00") {
		return nil, &ValueError{Kind: "work_dir", Value: wd, Hint: "a path with a newline cannot be written into a job script safely; rename the directory"}
	}
	name := e.jobName(spec)
	d := e.dialect
	stdout, stderr := res.StdoutPath, res.StderrPath
	jobVar := d.LogJobID
	if arr != nil && d.LogArrayJobID != "" {
		jobVar = d.LogArrayJobID
	}
	suffix := jobVar + ".log"
	if arr != nil {
		suffix = jobVar + "." + d.LogIndex + ".log"
	}
	if stdout == "" {
		stdout = filepath.Join(wd, "stdout."+suffix)
	} else if !filepath.IsAbs(stdout) {
		stdout = filepath.Join(wd, stdout)
	}
	if stderr == "" {
		stderr = filepath.Join(wd, "stderr."+suffix)
	} else if !filepath.IsAbs(stderr) {
		stderr = filepath.Join(wd, stderr)
	}
	sj := scheduler.Job{
		Name:       name,
		Command:    spec.Command,
		Resources:  res,
		Array:      arr,
		StdoutPath: stdout,
		StderrPath: stderr,
		ExtraArgs:  append(slices.Clone(e.cfg.ExtraArgs), res.ExtraArgs...),
	}
	generated, err := e.sched.Directives(&sj)
	if err != nil {
		return nil, err
	}
	directives := make([]string, 0, len(generated)+len(e.cfg.ExtraDirectives)+len(res.ExtraDirectives))
	for _, l := range generated {
		if !containsAny(l, e.cfg.DirectivesSkip) {
			directives = append(directives, l)
		}
	}
	directives = append(directives, e.cfg.ExtraDirectives...)
	for _, l := range res.ExtraDirectives {
		directives = append(directives, d.DirectivePrefix+" "+l)
	}
	// The exit file is written next to the script: a scheduler that keeps
	// scripts itself keeps both out of the work dir.
	sdir := wd
	if p, ok := e.sched.(scheduler.ScriptPlacer); ok {
		sdir = p.ScriptDir()
	}
	spath, err := scriptPath(sdir, script.SanitizeName(name))
	if err != nil {
		return nil, err
	}
	content, err := script.Render(script.Spec{
		Shebang:      e.cfg.Shebang,
		Directives:   directives,
		ExitFileBase: script.ExitFileBase(spath),
		Dialect:      d,
		Array:        arr != nil,
		Env:          spec.Env,
		Prologue:     append(slices.Clone(e.cfg.ScriptPrologue), spec.Prologue...),
		Command:      spec.Command,
		Epilogue:     append(slices.Clone(e.cfg.ScriptEpilogue), spec.Epilogue...),
	})
	if err != nil {
		removeIfEmpty(spath) // a reserved path must not outlive a failed render
		return nil, err
	}
	sj.Script = content
	sj.ScriptPath = spath
	rec := Record{
		Name:       name,
		Executor:   e.sched.Name(),
		Command:    spec.Command,
		Resources:  res,
		ScriptPath: spath,
		StdoutPath: stdout,
		StderrPath: stderr,
		Metadata:   maps.Clone(spec.Metadata),
	}
	if arr != nil {
		rec.Array = &ArrayRecord{First: arr.First, Last: arr.Last, MaxConcurrent: arr.MaxConcurrent}
	}
	return &prepared{job: sj, content: content, rec: rec}, nil
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func (e *Executor) mergeResources(r Resources) Resources {
	c := e.cfg
	if r.CPUs == 0 {
		r.CPUs = c.CPUs
	}
	if r.GPUs == 0 {
		r.GPUs = c.GPUs
	}
	if r.Memory == 0 {
		r.Memory = c.Memory
	}
	if r.Walltime == 0 {
		r.Walltime = c.Walltime
	}
	if r.Queue == "" {
		r.Queue = c.Queue
	}
	if r.Account == "" {
		r.Account = c.Account
	}
	r.ExtraArgs = slices.Clone(r.ExtraArgs)
	r.ExtraDirectives = slices.Clone(r.ExtraDirectives)
	return r
}

func (e *Executor) jobName(spec JobSpec) string {
	n := spec.Name
	if n == "" {
		if f := strings.Fields(spec.Command); len(f) > 0 {
			n = path.Base(f[0])
		}
	}
	n = script.SanitizeName(n)
	if e.cfg.JobNamePrefix != "" {
		n = script.SanitizeName(e.cfg.JobNamePrefix) + "-" + n
	}
	return n
}

func (e *Executor) submit(ctx context.Context, spec JobSpec, arr *Array) (*Job, error) {
	if err := e.usable(ctx); err != nil {
		return nil, err
	}
	// The script path is reserved (created empty) before rendering because
	// the exit-status file the script writes lives next to it.
	p, err := e.prepare(spec, arr, e.writer.Reserve)
	if err != nil {
		return nil, err
	}
	if err := e.writer.Fill(p.job.ScriptPath, p.content); err != nil {
		return nil, err
	}
	p.rec.SubmitTime = time.Now()
	token, err := e.beginSubmit(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("record the submission in the job store (nothing was submitted): %w", err)
	}
	p.job.Token = token
	id, subErr := e.submitWithRetry(ctx, &p.job)
	if err := e.endSubmit(ctx, token, id, subErr); err != nil {
		e.log.Error("job store: recording the submission outcome failed", "job", p.rec.Name, "id", id, "err", err)
	}
	if subErr != nil {
		return nil, subErr
	}
	p.rec.ID = id
	p.rec.StdoutPath = e.dialect.LogPath(p.rec.StdoutPath, id, -1)
	p.rec.StderrPath = e.dialect.LogPath(p.rec.StderrPath, id, -1)
	return e.track(p.rec), nil
}

// track registers a new job record and applies notifications that arrived
// before it was registered.
func (e *Executor) track(rec Record) *Job {
	st := jobState{rec: rec, phase: phase{status: Pending}}
	e.mu.Lock()
	defer e.mu.Unlock()
	j, _ := e.trackLocked(st, time.Now())
	return j
}

// trackLocked registers a job in state st and applies the notifications
// that arrived before it was registered; a job that has ended already ends
// (waiters released, callbacks due). A job tracked meanwhile (a concurrent
// poll adopted it) keeps its handle and its state, which is newer:
// tracked says so.
func (e *Executor) trackLocked(st jobState, now time.Time) (j *Job, tracked bool) {
	if j := e.jobs[st.rec.ID]; j != nil {
		return j, true
	}
	j = &Job{e: e, id: st.rec.ID, st: st}
	e.jobs[j.id] = j
	if j.st.status.Terminal() {
		e.endLocked(j, now)
	}
	if n := e.early[j.id]; n != nil {
		e.applyAll(n.obs, store.SourceScheduler, now, 0)
		delete(e.early, j.id)
	}
	return j, false
}

// earlyNotes holds notifications about a job id not tracked yet: a local
// job can end before Submit has registered it.
type earlyNotes struct {
	since time.Time
	obs   []scheduler.Observation
}

// earlyNotesTTL bounds how long unclaimed notifications are kept: a job
// being submitted is registered within moments of the scheduler's answer.
const earlyNotesTTL = time.Minute

// submitWithRetry submits, retrying transient failures with exponential
// backoff and jitter. Before each retry it asks the scheduler whether the
// failed attempt created the job after all, and adopts it if so.
func (e *Executor) submitWithRetry(ctx context.Context, sj *scheduler.Job) (string, error) {
	retries := max(e.cfg.SubmitRetries, 0)
	for attempt := 0; ; attempt++ {
		id, err := e.sched.Submit(ctx, sj)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, scheduler.ErrTransient) || attempt >= retries || ctx.Err() != nil {
			if attempt > 0 {
				return "", fmt.Errorf("submit %s failed after %d attempts: %w", sj.Name, attempt+1, err)
			}
			return "", err
		}
		delay := e.retryBase << attempt
		delay += time.Duration(rand.Int64N(int64(delay)/2 + 1))
		e.log.Warn("submit failed, retrying", "job", sj.Name, "attempt", attempt+1, "delay", delay, "err", err)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return "", ctx.Err()
		}
		id, found, ferr := e.findSubmitted(ctx, sj.Name, sj.Token)
		if ferr != nil {
			e.warn(ctx, "could not check for a job created by the failed submit", "job", sj.Name, "err", ferr)
			return "", fmt.Errorf("submit %s failed (%w) and the scheduler could not be asked whether the job exists (%v); not resubmitting, to avoid a duplicate — check the queue: %w", sj.Name, err, ferr, errAmbiguousSubmit)
		}
		if found {
			e.log.Info("adopted job created by a submit that reported failure", "job", sj.Name, "id", id)
			return id, nil
		}
	}
}

// findSubmitted looks for the job a submission created: the one carrying
// its token when the scheduler records tokens, else the one untracked job
// named name. More than one candidate is ambiguous and an error: adopting
// the wrong job or submitting a duplicate would both be worse than asking
// the user.
func (e *Executor) findSubmitted(ctx context.Context, name, token string) (string, bool, error) {
	obs, err := e.sched.Poll(ctx, scheduler.Query{Prefix: name})
	if err != nil {
		return "", false, err
	}
	known := e.knownIDs(ctx, obs, map[string]bool{name: true})
	e.mu.Lock()
	defer e.mu.Unlock()
	return matchSubmitted(obs, name, token, func(id string) bool { return e.jobs[id] != nil || known[id] })
}

// knownIDs returns which of the jobs in obs named one of names the job
// store knows (one query): jobs of that name that some process recorded
// are not the one an interrupted submission created.
func (e *Executor) knownIDs(ctx context.Context, obs []scheduler.Observation, names map[string]bool) map[string]bool {
	if e.db == nil {
		return nil
	}
	var ids []string
	for _, o := range obs {
		if names[o.Name] {
			ids = append(ids, o.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	known, err := e.db.Known(ctx, e.sched.Name(), ids)
	if err != nil {
		e.warn(ctx, "job store: looking up jobs of the same name", "err", err)
	}
	return known
}

// matchSubmitted finds among obs the job a submission of name (with token,
// where the scheduler records tokens) created: the one carrying its token,
// else the only job of that name that nobody tracks (tracked says which
// ids are); several such jobs are an error, never a guess.
func matchSubmitted(obs []scheduler.Observation, name, token string, tracked func(id string) bool) (string, bool, error) {
	if token != "" {
		for _, o := range obs {
			if o.Token == token {
				return o.ID, true, nil
			}
		}
	}
	var ids []string
	for _, o := range obs {
		// A job that carries another submission's token is not ours.
		if o.Name != name || (o.Token != "" && token != "") || tracked(o.ID) || slices.Contains(ids, o.ID) {
			continue
		}
		ids = append(ids, o.ID)
	}
	switch len(ids) {
	case 0:
		return "", false, nil
	case 1:
		return ids[0], true, nil
	}
	return "", false, fmt.Errorf("%d untracked jobs are named %s (%s)", len(ids), name, strings.Join(ids, ", "))
}

// Job returns the tracked job with the given id.
func (e *Executor) Job(id string) (*Job, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	j, ok := e.jobs[id]
	return j, ok
}

// Jobs returns every tracked job, ordered by id.
func (e *Executor) Jobs() []*Job {
	e.mu.Lock()
	out := make([]*Job, 0, len(e.jobs))
	for _, j := range e.jobs {
		out = append(out, j)
	}
	e.mu.Unlock()
	sort.Slice(out, func(a, b int) bool { return lessID(out[a].id, out[b].id) })
	return out
}

// lessID orders numeric ids numerically, others as text.
func lessID(a, b string) bool {
	if len(a) != len(b) {
		na, ea := strconv.ParseUint(a, 10, 64)
		nb, eb := strconv.ParseUint(b, 10, 64)
		if ea == nil && eb == nil {
			return na < nb
		}
	}
	return a < b
}

// CancelOptions refine a cancel.
type CancelOptions struct {
	// AsDone records the job as done instead of killed (LSF bkill -d where
	// available; on every scheduler the record says done).
	AsDone bool
	// Index cancels a single array element.
	Index *int
}

// Cancel stops a job (or one array element). Cancelling a job that already
// ended is not an error. A job of the job store is followed from then on
// and its cancel recorded; a job capi does not know at all is cancelled at
// the scheduler all the same.
func (e *Executor) Cancel(ctx context.Context, id string, opts *CancelOptions) error {
	if err := e.usable(ctx); err != nil {
		return err
	}
	if opts == nil {
		opts = &CancelOptions{}
	}
	t := scheduler.Target{ID: id}
	if opts.Index != nil {
		t.Index, t.InArray = *opts.Index, true
	}
	// A job of the store that this process does not follow yet is followed
	// from now on, so that the cancel is recorded for every process.
	j, err := e.Get(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if j != nil && j.Snapshot().Status.Terminal() {
		return nil
	}
	if err := e.sched.Cancel(ctx, scheduler.CancelRequest{Targets: []scheduler.Target{t}, AsDone: opts.AsDone}); err != nil {
		return err
	}
	if j != nil {
		e.markCancelled([]*Job{j}, opts)
	}
	return nil
}

// CancelByName cancels every tracked job whose name matches pattern (see
// MatchName; the full name, prefix included). On
// schedulers that can, jobs of that name this executor does not track are
// cancelled too (LSF: bkill -J pattern 0). It returns the jobs it marked.
// opts.Index is not allowed here; nil opts means the defaults.
func (e *Executor) CancelByName(ctx context.Context, pattern string, opts *CancelOptions) ([]*Job, error) {
	asDone, err := e.bulkCancelOptions(ctx, opts)
	if err != nil {
		return nil, err
	}
	if pattern == "" {
		return nil, &ValueError{Kind: "name pattern", Value: pattern, Hint: `give a name, with * as wildcard ("myapp-*")`}
	}
	var matched []*Job
	for _, j := range e.Jobs() {
		r := j.Snapshot()
		if MatchName(pattern, r.Name) && !r.Status.Terminal() {
			matched = append(matched, j)
		}
	}
	if nc, ok := e.sched.(scheduler.NameCanceler); ok {
		if err := nc.CancelName(ctx, pattern, asDone); err != nil {
			return nil, err
		}
	} else if len(matched) > 0 {
		if err := e.cancelJobs(ctx, matched, asDone); err != nil {
			return nil, err
		}
	}
	e.markCancelled(matched, &CancelOptions{AsDone: asDone})
	return matched, nil
}

// CancelAll cancels every tracked job that has not ended. opts.Index is
// not allowed here; nil opts means the defaults.
func (e *Executor) CancelAll(ctx context.Context, opts *CancelOptions) ([]*Job, error) {
	asDone, err := e.bulkCancelOptions(ctx, opts)
	if err != nil {
		return nil, err
	}
	var live []*Job
	for _, j := range e.Jobs() {
		if !j.Snapshot().Status.Terminal() {
			live = append(live, j)
		}
	}
	if len(live) == 0 {
		return nil, nil
	}
	if err := e.cancelJobs(ctx, live, asDone); err != nil {
		return nil, err
	}
	e.markCancelled(live, &CancelOptions{AsDone: asDone})
	return live, nil
}

// bulkCancelOptions checks the options of a cancel of many jobs.
func (e *Executor) bulkCancelOptions(ctx context.Context, opts *CancelOptions) (asDone bool, err error) {
	if err := e.usable(ctx); err != nil {
		return false, err
	}
	if opts == nil {
		return false, nil
	}
	if opts.Index != nil {
		return false, &ValueError{Kind: "cancel option", Value: "Index", Hint: "an element index applies to one job: use Cancel"}
	}
	return opts.AsDone, nil
}

func (e *Executor) cancelJobs(ctx context.Context, jobs []*Job, asDone bool) error {
	targets := make([]scheduler.Target, len(jobs))
	for i, j := range jobs {
		targets[i] = scheduler.Target{ID: j.id}
	}
	return e.sched.Cancel(ctx, scheduler.CancelRequest{Targets: targets, AsDone: asDone})
}

// markCancelled records the outcome of a successful cancel at once, so that
// callbacks and waits do not depend on how fast the scheduler forgets the
// job; later observations do not change a terminal record.
func (e *Executor) markCancelled(jobs []*Job, opts *CancelOptions) {
	status, detail := Killed, "cancelled through capi"
	if opts.AsDone {
		status, detail = Done, "cancelled through capi, recorded as done"
	}
	pick := func(index int, _ *elemState) bool { return opts.Index == nil || index == *opts.Index }
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, j := range jobs {
		if !j.st.status.Terminal() {
			o := scheduler.Observation{ID: j.id, Status: status, Reason: ReasonCancelled, Detail: detail, FinishTime: now}
			e.decideLocked(j, o, store.SourceCancel, now, pick)
		}
	}
}

func removeIfEmpty(path string) {
	if fi, err := os.Stat(path); err == nil && fi.Size() == 0 {
		os.Remove(path)
	}
}

package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/script"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

// KillGrace is how long a cancelled job has between SIGTERM and SIGKILL.
const KillGrace = 5 * time.Second

// Scheduler runs jobs as detached local processes. See the package doc.
type Scheduler struct {
	sp    spool
	slots int
	gpus  int
	log   *slog.Logger
	// grace is the time between SIGTERM and SIGKILL, for cancels and at
	// the walltime.
	grace time.Duration
	// ownerID names this Scheduler instance in the spool; owners/{ownerID}
	// is flocked while it lives or its elements run, so that others know
	// whether it will still record their ends.
	ownerID string

	kick chan struct{}
	stop chan struct{}
	done chan struct{}

	mu sync.Mutex
	// journal is the spool's event journal, open for appends, and lockf
	// the lock that orders the events that depend on the book (ids,
	// starts, cancels) and the journal's compaction.
	journal *os.File
	lockf   *os.File
	// nextCompact is when the dispatcher may next look at compacting.
	nextCompact time.Time
	owner       *os.File
	book        *book
	// prev is the book a replaced journal had built, while the new one is
	// read (toldBefore).
	prev *book
	// role is the dispatcher lock while this instance holds the role.
	role    *os.File
	running map[string]*proc // the elements this instance started and waits for
	// watch are the jobs whose starts and ends, recorded by other
	// processes, are told to subscribers as soon as the journal has them:
	// the jobs this instance submitted or saw unfinished in a poll.
	watch map[string]bool
	// outbox holds what the journal told of watched jobs, published by
	// whoever unlocks mu next (unlock).
	outbox []scheduler.Observation
	subs   []func(scheduler.Observation)
	mem    memState
	// retired: this instance gave the role up for good (HandOff,
	// ReleaseIfIdle), and never takes it again.
	retired bool
	// environ is the environment this instance's jobs get (os.Environ;
	// tests fake another submitter's).
	environ func() []string
	// closed: Close has begun (no second Close, no role taken again);
	// stopped: its loop has ended, so that the end of the last element this
	// instance started may release the journal (the loop reads it until
	// then).
	closed, stopped bool
}

type proc struct {
	job   *jobFile
	el    string
	start time.Time
	cmd   *exec.Cmd
	mem   memRecord // how its memory limit applied (zero without one)
}

var (
	_ scheduler.Scheduler       = (*Scheduler)(nil)
	_ scheduler.CapiOnly        = (*Scheduler)(nil)
	_ scheduler.ScriptPlacer    = (*Scheduler)(nil)
	_ scheduler.OnThisMachine   = (*Scheduler)(nil)
	_ scheduler.SubmissionIndex = (*Scheduler)(nil)
)

// New opens (or creates) the spool under opts.StateDir, replays its journal
// and starts the goroutine that follows it; Close stops it.
func New(opts scheduler.Options) (*Scheduler, error) {
	if opts.StateDir == "" {
		return nil, errors.New("local executor: no state directory configured (state_dir)")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	slots := opts.Slots
	if slots <= 0 {
		slots = runtime.NumCPU()
	}
	gpus := opts.GPUs
	switch {
	case gpus < 0:
		return nil, fmt.Errorf("local executor: local_gpus is %d; give a positive number, or 0 for the number of /dev/nvidia[0-9]* devices", gpus)
	case gpus == 0:
		gpus = nvidiaDevices()
	}
	s := &Scheduler{
		sp:      spool{dir: SpoolDir(opts.StateDir)},
		slots:   slots,
		gpus:    gpus,
		log:     log,
		grace:   KillGrace,
		kick:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		book:    newBook(),
		running: make(map[string]*proc),
		watch:   make(map[string]bool),
		environ: os.Environ,
	}
	if err := s.sp.init(); err != nil {
		return nil, err
	}
	if err := importV1(s.sp); err != nil {
		return nil, err
	}
	lockf, err := s.sp.openLock()
	if err != nil {
		return nil, err
	}
	j, err := s.sp.openJournal()
	if err != nil {
		lockf.Close()
		return nil, err
	}
	s.journal, s.lockf = j, lockf
	if err := s.book.catchUp(j, nil); err != nil {
		j.Close()
		lockf.Close()
		return nil, err
	}
	s.ownerID = fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	owner, err := os.OpenFile(s.sp.ownerPath(s.ownerID), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		j.Close()
		lockf.Close()
		return nil, fmt.Errorf("local executor: %w", err)
	}
	if err := syscall.Flock(int(owner.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		owner.Close()
		j.Close()
		lockf.Close()
		return nil, fmt.Errorf("local executor: lock owner file: %w", err)
	}
	s.owner = owner
	s.role = takeInherited(s.sp)
	register(s)
	go s.loop()
	return s, nil
}

// Name implements scheduler.Scheduler.
func (s *Scheduler) Name() string { return "local" }

// CapiOnly implements scheduler.CapiOnly: the spool holds only jobs
// submitted through capi.
func (s *Scheduler) CapiOnly() {}

// OnThisMachine implements scheduler.OnThisMachine.
func (s *Scheduler) OnThisMachine() {}

// ScriptDir implements scheduler.ScriptPlacer: job scripts, and the exit
// files their traps write next to them, live in the spool; the work
// directory gets only the logs.
func (s *Scheduler) ScriptDir() string { return s.sp.scriptDir() }

// Dialect implements scheduler.Scheduler. Local jobs see $CAPI_JOB_ID and,
// in arrays, $ARRAY_INDEX; log paths may use {job_id} and {index}.
func (s *Scheduler) Dialect() scheduler.Dialect {
	return scheduler.Dialect{
		DirectivePrefix: "#CAPI",
		JobIDVar:        "CAPI_JOB_ID",
		ArrayJobIDVar:   "CAPI_JOB_ID",
		ArrayIndexVar:   "ARRAY_INDEX",
		LogJobID:        "{job_id}",
		LogIndex:        "{index}",
	}
}

// Directives implements scheduler.Scheduler: the local executor reads its
// settings from the submission, so the script only carries a comment
// saying what was asked, for people reading it. What it can never give
// (more cpus or GPUs than it has, a queue) is refused here already.
func (s *Scheduler) Directives(job *scheduler.Job) ([]string, error) {
	if err := s.checkResources(job.Resources); err != nil {
		return nil, err
	}
	if a := job.Array; a != nil {
		if n := a.Last - a.First + 1; n < 1 || n > maxArraySize {
			return nil, &scheduler.ValueError{Kind: "array", Value: fmt.Sprintf("%d-%d", a.First, a.Last),
				Hint: fmt.Sprintf("%d elements; the local executor takes 1 to %d per array: split it, or run it on a cluster", n, maxArraySize)}
		}
	}
	var parts []string
	if job.Resources.CPUs > 0 {
		parts = append(parts, "cpus="+strconv.Itoa(job.Resources.CPUs))
	}
	parts = append(parts, describeLimits(job.Resources)...)
	if job.Array != nil {
		a := fmt.Sprintf("array=%d-%d", job.Array.First, job.Array.Last)
		if job.Array.MaxConcurrent > 0 {
			a += "%" + strconv.Itoa(job.Array.MaxConcurrent)
		}
		parts = append(parts, a)
	}
	if len(parts) == 0 {
		return nil, nil
	}
	return []string{"#CAPI " + strings.Join(parts, " ")}, nil
}

// Submit implements scheduler.Scheduler: the job is appended to the
// journal; it starts as soon as slots allow.
func (s *Scheduler) Submit(ctx context.Context, job *scheduler.Job) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if len(job.ExtraArgs) > 0 {
		return "", &scheduler.SubmitError{Scheduler: "local", Err: fmt.Errorf("extra_args %q: %w", job.ExtraArgs, errors.ErrUnsupported),
			Output: "the local executor has no submit command to pass extra_args to; remove them for executor local"}
	}
	res := job.Resources
	jf := &jobFile{
		Name:      job.Name,
		Script:    job.ScriptPath,
		WorkDir:   res.WorkDir,
		Stdout:    job.StdoutPath,
		Stderr:    job.StderrPath,
		CPUs:      max(res.CPUs, 1),
		GPUs:      max(res.GPUs, 0),
		Memory:    max(int64(res.Memory), 0),
		Walltime:  max(res.Walltime, 0),
		Owner:     s.ownerID,
		Submitted: time.Now(),
		Token:     job.Token,
	}
	switch {
	case jf.CPUs > s.slots:
		return "", &scheduler.SubmitError{Scheduler: "local", Output: fmt.Sprintf("job needs %d cpus, the local executor has %d slots (local_slots)", jf.CPUs, s.slots)}
	case jf.GPUs > s.gpus:
		return "", &scheduler.SubmitError{Scheduler: "local", Output: fmt.Sprintf("job needs %d GPUs, the local executor has %d (local_gpus)", jf.GPUs, s.gpus)}
	case res.Queue != "":
		return "", &scheduler.SubmitError{Scheduler: "local", Err: fmt.Errorf("queue %q: %w", res.Queue, errNoQueues),
			Output: fmt.Sprintf("queue %q: the local executor has no queues; remove --queue (or queue in the configuration or profile) for executor local", res.Queue)}
	}
	if a := job.Array; a != nil {
		jf.Array, jf.First, jf.Last, jf.MaxConcurrent = true, a.First, a.Last, a.MaxConcurrent
		if n := jf.size(); n < 1 || n > maxArraySize {
			return "", &scheduler.SubmitError{Scheduler: "local",
				Output: fmt.Sprintf("array %d-%d has %d elements; the local executor takes 1 to %d per array: split it, or run it on a cluster", a.First, a.Last, n, maxArraySize)}
		}
	}
	// The engine made the work dir when it wrote scripts there; the job
	// runs in it and its logs go there.
	if jf.WorkDir != "" {
		if err := os.MkdirAll(jf.WorkDir, 0o755); err != nil {
			return "", &scheduler.SubmitError{Scheduler: "local", Err: err, Output: "cannot create the work directory: " + err.Error()}
		}
	}
	s.mu.Lock()
	id, err := s.appendSubmit(jf)
	if err != nil {
		s.mu.Unlock()
		return "", &scheduler.SubmitError{Scheduler: "local", Err: err, Output: "cannot write the job to the spool " + s.sp.dir + ": " + err.Error()}
	}
	s.watch[id] = true
	// Start it now if a slot is free and this instance holds the role, so
	// that a job still pending when Submit returns waits for slots or for
	// another process's dispatcher: a caller about to exit (capi submit)
	// then asks Waiting whether someone must stay to start it later.
	s.dispatchLocked()
	holder := s.role != nil
	s.unlock()
	if !holder {
		kickSpool(s.sp.dir) // a dispatcher of this process starts it now
	}
	return id, nil
}

// appendSubmit gives jf the next id and appends its submission. s.mu is
// held.
func (s *Scheduler) appendSubmit(jf *jobFile) (string, error) {
	if err := s.lockJournal(); err != nil {
		return "", err
	}
	defer s.unlockJournal()
	id := strconv.Itoa(s.book.lastID + 1)
	jf.ID = id
	env := s.environ()
	if n := envSize(env); n > maxEnv {
		return "", fmt.Errorf("the environment is %d bytes, more than a process can be started with (%d); unset large variables before submitting", n, maxEnv)
	}
	jf.Env = envHash(env)
	evs := []event{{Ev: evSubmit, ID: id, Job: jf}}
	if _, known := s.book.env[jf.Env]; !known {
		evs = append([]event{{Ev: evEnv, ID: jf.Env, Env: env}}, evs...)
	}
	if err := appendEvents(s.journal, evs...); err != nil {
		return "", err
	}
	if err := s.catchUpLocked(); err != nil {
		return "", err
	}
	if s.book.jobs[id] == nil {
		return "", fmt.Errorf("local executor journal %s: the submission of job %s was written but does not read back", s.sp.journalPath(), id)
	}
	return id, nil
}

// lockJournal takes the journal lock and catches up with the journal, so
// that what the caller appends next depends on everything before it; on
// an error the lock is not held. s.mu is held.
func (s *Scheduler) lockJournal() error {
	if err := flock(s.lockf); err != nil {
		return fmt.Errorf("local executor journal lock: %w", err)
	}
	if err := s.catchUpLocked(); err != nil {
		s.unlockJournal()
		return err
	}
	return nil
}

func (s *Scheduler) unlockJournal() { unflock(s.lockf) }

// catchUpLocked applies what was appended to the journal since the last
// look, first following a compaction: when the journal's path names
// another file than the one this instance reads, it reads that one from
// its start, into a fresh book (prev keeps the old one for toldBefore).
// s.mu is held.
func (s *Scheduler) catchUpLocked() error {
	cur, err := s.journal.Stat()
	if err != nil {
		return fmt.Errorf("local executor journal: %w", err)
	}
	if now, err := os.Stat(s.sp.journalPath()); err == nil && !os.SameFile(cur, now) {
		j, err := s.sp.openJournal()
		if err != nil {
			return err
		}
		s.journal.Close()
		s.journal, cur = j, now
		s.prev, s.book = s.book, newBook()
	}
	err = s.book.catchUpTo(s.journal, cur.Size(), s.seen)
	s.prev = nil
	return err
}

// seen is told of each event the book applies, whoever wrote it: the
// starts and ends of watched jobs go to the outbox.
func (s *Scheduler) seen(j *bookJob, i int, ev *event) {
	if (ev.Ev != evStart && ev.Ev != evEnd) || !s.watch[j.job.ID] || s.toldBefore(j, i, ev) {
		return
	}
	s.outbox = append(s.outbox, s.elementObservation(j, i))
	if j.left == 0 {
		delete(s.watch, j.job.ID)
	}
}

// toldBefore reports whether, while a replaced journal is read anew, the
// book it replaces had seen this event already: a compaction repeats every
// kept start and end, which subscribers were told of once.
func (s *Scheduler) toldBefore(j *bookJob, i int, ev *event) bool {
	if s.prev == nil {
		return false
	}
	old := s.prev.jobs[j.job.ID]
	if old == nil || i >= len(old.els) {
		return false
	}
	e := &old.els[i]
	return e.ended || (ev.Ev == evStart && e.started)
}

// unlock releases s.mu and publishes the outbox.
func (s *Scheduler) unlock() {
	obs := s.outbox
	s.outbox = nil
	subs := s.subs
	s.mu.Unlock()
	for _, o := range obs {
		for _, fn := range subs {
			fn(o)
		}
	}
}

// Subscribe implements scheduler.Notifier.
func (s *Scheduler) Subscribe(fn func(scheduler.Observation)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs = append(s.subs, fn)
}

// Close stops following the spool and gives up the dispatcher role: the
// next process that looks at the spool with work waiting takes it (see
// dispatcher.go). Running jobs are not touched:
// they are detached and keep running, and the ends of the elements this
// instance started are still recorded when they come.
func (s *Scheduler) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	unregister(s)
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	if len(s.mem.places) > 0 && s.lockJournal() == nil {
		s.sweepCgroups()
		s.unlockJournal()
	}
	var err error
	if s.role != nil {
		err = s.role.Close()
		s.role = nil
	}
	if len(s.running) == 0 {
		s.releaseLocked()
	}
	return err
}

// releaseLocked closes the owner lock and the journal once the instance is
// closed, its loop stopped, and the last element it started has ended.
// s.mu is held.
func (s *Scheduler) releaseLocked() {
	os.Remove(s.sp.ownerPath(s.ownerID))
	s.owner.Close()
	s.journal.Close()
	s.lockf.Close()
}

func (s *Scheduler) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// recheck is how often the journal is read without a kick: what other
// processes append wakes nobody here.
const recheck = 250 * time.Millisecond

// loop follows the journal: it tells subscribers of the starts and ends
// other processes record, takes the dispatcher role when work waits and
// nobody holds it, and, holding it, starts what slots allow.
func (s *Scheduler) loop() {
	defer close(s.done)
	tick := time.NewTicker(recheck)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.kick:
		case <-tick.C:
		}
		s.mu.Lock()
		if err := s.catchUpLocked(); err != nil {
			s.log.Error("local executor: reading the journal", "err", err)
		}
		s.settleOrphans()
		s.dispatchLocked()
		s.maybeCompactLocked(time.Now())
		s.unlock()
	}
}

// holdRoleLocked reports whether this instance holds the dispatcher role,
// taking it when nobody does. s.mu is held.
func (s *Scheduler) holdRoleLocked() bool {
	if s.role != nil {
		return true
	}
	if s.closed || s.retired {
		return false
	}
	f, ok, err := lockDispatcher(s.sp)
	if err != nil {
		s.log.Warn("local executor: dispatcher lock", "err", err)
	}
	if ok {
		s.role = f
	}
	return ok
}

// dispatchLocked starts waiting elements, oldest job first, while cpu and
// GPU slots and max-concurrent limits allow, if this instance holds the
// dispatcher role (it takes it when work waits and nobody holds it). Each
// start is appended as soon as its process runs, so that a dispatcher
// killed in the middle of a round leaves as little as possible unrecorded.
// s.mu is held.
func (s *Scheduler) dispatchLocked() {
	if !s.book.waiting() || !s.holdRoleLocked() {
		return
	}
	if err := s.lockJournal(); err != nil {
		s.log.Error("local executor: dispatch", "err", err)
		return
	}
	defer s.unlockJournal()
	free := s.slots - s.book.usedCPUs
	gpus := s.book.freeGPUs(s.gpus)
	record := func(evs ...event) {
		if err := appendEvents(s.journal, evs...); err != nil {
			s.log.Error("local executor: record starts", "err", err)
		}
	}
	s.book.prune()
	for _, j := range s.book.queue {
		if free <= 0 {
			break
		}
		jf := j.job
		if jf.CPUs > s.slots || jf.GPUs > s.gpus {
			// Accepted by a process with more slots than this one's: it
			// would wait forever, and keep this dispatcher alive.
			s.neverFits(j, record)
			continue
		}
		running := j.running
		for i := j.next; i < len(j.els) && free >= jf.CPUs && len(gpus) >= jf.GPUs; i++ {
			if jf.MaxConcurrent > 0 && running >= jf.MaxConcurrent {
				break
			}
			if !j.startable(i) {
				if i == j.next {
					j.next++
				}
				continue
			}
			if i == j.next {
				j.next++ // started below, or ended if it cannot start
			}
			el := jf.el(i)
			started, err := s.startLocked(jf, el, gpus[:jf.GPUs:jf.GPUs])
			if err != nil {
				s.log.Error("local executor: start failed", "job", jf.ID, "element", el, "err", err)
				record(event{Ev: evEnd, ID: jf.ID, El: el, Owner: s.ownerID,
					End: &endFile{Status: "failed", Reason: string(scheduler.ReasonNodeFailure), Detail: "could not start: " + err.Error(), Finish: time.Now()}})
				continue
			}
			record(started...)
			free -= jf.CPUs
			gpus = gpus[jf.GPUs:]
			running++
		}
	}
	if err := s.catchUpLocked(); err != nil {
		s.log.Error("local executor: reading the journal", "err", err)
	}
}

// neverFits ends the waiting elements of a job that asks for more cpus or
// GPUs than this dispatcher has.
func (s *Scheduler) neverFits(j *bookJob, record func(...event)) {
	detail := fmt.Sprintf("needs %d cpus and %d GPUs; the process that dispatches the local executor's jobs has %d cpu slots and %d GPUs (local_slots, local_gpus): give every process sharing the state dir the same settings",
		j.job.CPUs, j.job.GPUs, s.slots, s.gpus)
	var evs []event
	for i := j.next; i < len(j.els); i++ {
		if j.startable(i) {
			evs = append(evs, event{Ev: evEnd, ID: j.job.ID, El: j.job.el(i), Owner: s.ownerID,
				End: &endFile{Status: "failed", Reason: string(scheduler.ReasonScheduler), Detail: detail, Finish: time.Now()}})
		}
	}
	record(evs...)
}

// startLocked starts element el of j holding the GPU indices gpus and
// returns the events that record it: its start, and for an element a dead
// dispatcher had started already (see claimRun) its end too when it has
// ended. s.mu and the journal lock are held.
func (s *Scheduler) startLocked(j *jobFile, el string, gpus []int) ([]event, error) {
	n, logIndex := 0, -1 // a single job's log path keeps an {index}
	if j.Array {
		n, _ = strconv.Atoi(el)
		logIndex = n
	}
	runPath := script.ExitFilePath(j.Script, j.ID, n, j.Array)
	run, claim, err := claimRun(runPath)
	if err != nil {
		return nil, err
	}
	switch claim {
	case claimRunning, claimEnded:
		s.log.Info("local executor: element was started by a dispatcher that died before recording it", "job", j.ID, "element", el)
		evs := []event{{Ev: evStart, ID: j.ID, El: el, Run: runPath, GPUs: gpus}}
		if claim == claimRunning {
			evs[0].Pid = runSession(runPath) // so that a cancel can stop it
		}
		if claim == claimEnded {
			evs = append(evs, event{Ev: evEnd, ID: j.ID, El: el, End: s.orphanEnd(j, el, runPath, time.Time{}, memRecord{})})
		}
		return evs, nil
	}
	defer run.Close() // the child keeps its own descriptor, and the lock with it
	d := s.Dialect()
	stdout, err := openLog(d.LogPath(j.Stdout, j.ID, logIndex))
	if err != nil {
		return nil, err
	}
	defer stdout.Close()
	stderr := stdout
	if ep := d.LogPath(j.Stderr, j.ID, logIndex); ep != d.LogPath(j.Stdout, j.ID, logIndex) {
		if stderr, err = openLog(ep); err != nil {
			return nil, err
		}
		defer stderr.Close()
	}
	// The submitter's environment, as on a cluster, not this dispatcher's.
	env := j.env
	if env == nil {
		env = os.Environ()
	}
	env = append(slices.Clip(env), "CAPI_JOB_ID="+j.ID)
	if j.Array {
		env = append(env, "ARRAY_INDEX="+el)
	}
	if s.gpus > 0 {
		// GPUs are slots: a job sees the devices it holds, and a job
		// that asked for none sees none.
		env = append(env, "CUDA_VISIBLE_DEVICES="+formatGPUs(gpus))
	}
	// An element with limits starts through the launcher, which waits on
	// the gate for its memory limit and runs its walltime watchdog.
	limited := j.Walltime > 0 || j.Memory > 0
	var mem memRecord
	var gateR, gateW *os.File
	var launchArgs []string
	if limited {
		if gateR, gateW, err = os.Pipe(); err != nil {
			return nil, err
		}
		defer gateR.Close()
		defer gateW.Close()
		if j.Memory > 0 {
			mem = s.limitMemory(j, el)
		}
		wall := int64(0)
		if j.Walltime > 0 {
			wall = deadline(time.Now(), j.Walltime)
		}
		launchArgs = []string{"-c", launcher, j.Script, strconv.FormatInt(wall, 10), strconv.Itoa(graceSeconds(s.grace)),
			s.sp.timeoutPath(j.ID, el), runPath}
	}
	newCmd := func() *exec.Cmd {
		cmd := exec.Command(j.Script)
		cmd.ExtraFiles = []*os.File{run}
		if limited {
			cmd = exec.Command("/bin/sh", launchArgs...)
			cmd.ExtraFiles = []*os.File{run, gateR}
		}
		cmd.Dir = j.WorkDir
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = stdout, stderr
		// Its own session: the job outlives us, ignores our terminal's
		// Ctrl-C, and its whole process group can be signalled at once.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		return cmd
	}
	cmd := newCmd()
	err = cmd.Start()
	// ETXTBSY: a process forked elsewhere in this program (another job's
	// start) briefly inherited the descriptor the script was written
	// through (golang/go#22315). It goes away once that child execs.
	for try := 1; errors.Is(err, syscall.ETXTBSY) && try <= 10; try++ {
		time.Sleep(time.Duration(try) * 5 * time.Millisecond)
		cmd = newCmd()
		err = cmd.Start()
	}
	if err != nil {
		mem.removeCgroup(0)
		return nil, err
	}
	if limited {
		if mem.Cgroup != "" {
			if err := writeCgroup(filepath.Join(mem.Cgroup, "cgroup.procs"), strconv.Itoa(cmd.Process.Pid)); err != nil {
				// Made, but not enterable (cgroup v2 wants write access
				// to the common ancestor's cgroup.procs): not a place.
				dir := filepath.Dir(mem.Cgroup)
				s.log.Info("local executor: cannot move jobs into cgroups here", "dir", dir, "err", err)
				mem.removeCgroup(0)
				s.mem.places = slices.DeleteFunc(s.mem.places, func(h hierarchy) bool { return h.dir == dir })
				s.mem.why = err.Error()
				mem = withoutCgroup(mem, err.Error())
			}
		}
		// The launcher proceeds once it has this line; if we could not
		// write it, it reads end of file and exits 125.
		fmt.Fprintln(gateW, mem.ulimitKiB())
		gateW.Close()
	}
	now := time.Now()
	ev := event{Ev: evStart, ID: j.ID, El: el, Owner: s.ownerID, Pid: cmd.Process.Pid, Start: now, GPUs: gpus, Run: runPath}
	if j.Memory > 0 {
		ev.Mem = &mem
	}
	p := &proc{job: j, el: el, start: now, cmd: cmd, mem: mem}
	s.running[j.ID+"."+el] = p
	go s.wait(p)
	return []event{ev}, nil
}

// claimRun outcomes.
const (
	claimFresh   = iota // the run file is new (or was left by a start that never ran), and locked
	claimRunning        // a process of the element holds its run file: it runs
	claimEnded          // the element ran and recorded its exit status
)

// claimRun creates and locks an element's run file, which the element's
// processes inherit (the lock is their liveness) and its script's trap
// writes its exit status into. A run file that exists already was made by
// a dispatcher that died between starting the element and recording the
// start (each start is recorded right after its process runs, so the
// window is a few microseconds): locked, the element runs; with an exit
// status, it ran; empty and unlocked, it is taken as never run and claimed
// afresh, although an element killed by SIGKILL before its trap could
// write looks the same.
func claimRun(path string) (*os.File, int, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			return nil, 0, fmt.Errorf("lock %s: %w", path, err)
		}
		return f, claimFresh, nil
	}
	if !os.IsExist(err) {
		return nil, 0, err
	}
	if f, err = os.OpenFile(path, os.O_RDWR, 0); err != nil {
		return nil, 0, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, claimRunning, nil
	}
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		f.Close()
		return nil, claimEnded, nil
	}
	return f, claimFresh, nil
}

func openLog(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	return f, nil
}

// wait reaps one element and records how it ended. Its owner is the
// Scheduler; it ends when the job's main process does, also after Close.
func (s *Scheduler) wait(p *proc) {
	err := p.cmd.Wait()
	now := time.Now()
	code, detail := 0, ""
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
			detail = "killed by signal " + ws.Signal().String()
		} else {
			code = ee.ExitCode()
		}
	default:
		code, detail = -1, err.Error()
	}
	status, reason := scheduler.Done, scheduler.ReasonNone
	if code != 0 {
		status, reason = scheduler.Failed, scheduler.ReasonExitCode
	}
	s.mu.Lock()
	// An end that cannot be recorded now (a full disk) is recorded by a
	// later look at the spool, from the exit status in the run file: the
	// element is no longer among this instance's own (settleOrphans).
	if err := s.lockJournal(); err != nil {
		s.log.Error("local executor: record end", "job", p.job.ID, "err", err)
	} else {
		status, reason, detail = s.settle(p.job, p.el, p.mem, status, reason, detail)
		end := &endFile{Status: string(status), Reason: string(reason), Exit: code, HasExit: code >= 0, Detail: detail, Start: p.start, Finish: now}
		if err := appendEvents(s.journal, event{Ev: evEnd, ID: p.job.ID, El: p.el, Owner: s.ownerID, End: end}); err != nil {
			s.log.Error("local executor: record end", "job", p.job.ID, "err", err)
		}
		s.catchUpLocked()
		s.unlockJournal()
	}
	delete(s.running, p.job.ID+"."+p.el)
	if s.stopped && len(s.running) == 0 {
		s.releaseLocked()
	}
	s.unlock()
	s.wake()
	if p.mem.Cgroup != "" {
		// A walltime watchdog leaves the cgroup within a second of the
		// job's end; processes the job left behind keep it until a sweep.
		patience := time.Duration(0)
		if p.job.Walltime > 0 {
			patience = 2 * time.Second
		}
		p.mem.removeCgroup(patience)
	}
}

// settle completes how an element ended, from what its exit status alone
// cannot say: the walltime watchdog's marker (failed/timeout, whatever the
// status: the job was stopped), a cancel (killed), and for a failed
// element its memory limit: out_of_memory when the OOM killer struck in its
// cgroup, else a note of the limit when it was an RLIMIT_AS or none. s.mu
// is held.
func (s *Scheduler) settle(j *jobFile, el string, mem memRecord, st scheduler.Status, r scheduler.Reason, detail string) (scheduler.Status, scheduler.Reason, string) {
	switch {
	case exists(s.sp.timeoutPath(j.ID, el)):
		return scheduler.Failed, scheduler.ReasonTimeout, fmt.Sprintf("walltime limit of %s reached: stopped with SIGTERM to its processes, SIGKILL %ds later if still running",
			scheduler.FormatHHMMSS(j.Walltime), graceSeconds(s.grace))
	case s.cancelledLocked(j.ID, el):
		return scheduler.Killed, scheduler.ReasonCancelled, "cancelled"
	case st != scheduler.Failed || mem.Bytes == 0:
		return st, r, detail
	case mem.oomKills() > 0:
		return scheduler.Failed, scheduler.ReasonOutOfMemory, "out of memory: the kernel's OOM killer stopped the job at its " + mem.String()
	case mem.Kind == memRlimit:
		return st, r, joinDetail(detail, "ran under a "+mem.String()+
			": an allocation beyond it fails inside the program, which capi cannot tell from other failures")
	case mem.Kind == memNone:
		return st, r, joinDetail(detail, mem.String())
	}
	return st, r, detail
}

func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// elemLocked finds element el of job id in the book. s.mu is held.
func (s *Scheduler) elemLocked(id, el string) *elem {
	j := s.book.jobs[id]
	if j == nil {
		return nil
	}
	i, ok := j.job.slot(el)
	if !ok {
		return nil
	}
	return &j.els[i]
}

func (s *Scheduler) cancelledLocked(id, el string) bool {
	e := s.elemLocked(id, el)
	return e != nil && e.cancelled
}

// forgottenLocked reports whether job id was handed out and is no longer
// in the journal: it ended long ago and was compacted away.
func (s *Scheduler) forgottenLocked(id string) bool {
	n, err := strconv.Atoi(id)
	return err == nil && n <= s.book.lastID && s.book.jobs[id] == nil
}

func (s *Scheduler) endedLocked(id, el string) bool {
	e := s.elemLocked(id, el)
	return e != nil && e.ended
}

func (s *Scheduler) observation(j *jobFile, el string, st scheduler.Status, r scheduler.Reason, detail string, code int, hasExit bool, start, finish time.Time) scheduler.Observation {
	o := scheduler.Observation{
		ID: j.ID, Name: j.Name, Status: st, Reason: r, Detail: detail,
		ExitCode: code, HasExit: hasExit, Host: "localhost",
		SubmitTime: j.Submitted, StartTime: start, FinishTime: finish,
		Token: j.Token,
	}
	if j.Array {
		o.InArray = true
		o.Index, _ = strconv.Atoi(el)
	}
	return o
}

// elementObservation is what the book says of element i of j.
func (s *Scheduler) elementObservation(j *bookJob, i int) scheduler.Observation {
	e := &j.els[i]
	el := j.job.el(i)
	switch {
	case e.ended:
		return s.endObservation(j.job, el, e.end)
	case e.started:
		return s.observation(j.job, el, scheduler.Running, "", "", 0, false, e.start, time.Time{})
	}
	return s.observation(j.job, el, scheduler.Pending, "", "", 0, false, time.Time{}, time.Time{})
}

// Poll implements scheduler.Scheduler by reading the journal. Elements
// whose processes ended while nobody was there to record it are settled
// from their exit status here, and waiting jobs are started when no
// dispatcher is left.
func (s *Scheduler) Poll(ctx context.Context, q scheduler.Query) ([]scheduler.Observation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if err := s.catchUpLocked(); err != nil {
		s.unlock()
		return nil, err
	}
	s.settleOrphans()
	s.dispatchLocked()
	var out []scheduler.Observation
	for _, j := range s.book.order {
		if q.Prefix != "" && !strings.HasPrefix(j.job.Name, q.Prefix) {
			continue
		}
		for i := range j.els {
			out = append(out, s.elementObservation(j, i))
		}
		if j.left > 0 {
			s.watch[j.job.ID] = true
		}
	}
	s.unlock()
	return out, nil
}

// endObservation is how element el of j ended.
func (s *Scheduler) endObservation(j *jobFile, el string, end endFile) scheduler.Observation {
	st := scheduler.Status(end.Status)
	r := scheduler.ReasonNone
	switch st {
	case scheduler.Failed:
		r = scheduler.ReasonExitCode
		if !end.HasExit {
			r = scheduler.ReasonNodeFailure
		}
	case scheduler.Killed:
		r = scheduler.ReasonCancelled
	}
	if end.Reason != "" {
		r = scheduler.Reason(end.Reason)
	}
	return s.observation(j, el, st, r, end.Detail, end.Exit, end.HasExit, end.Start, end.Finish)
}

// settleOrphans records the ends of running elements whose processes are
// gone and whose starter will not record them (it died, or was closed and
// its own processes ended, or could not write the end): from the exit
// status their trap wrote in the run file. s.mu is held.
func (s *Scheduler) settleOrphans() {
	type orphan struct {
		j *bookJob
		i int
	}
	var found []orphan
	for _, j := range s.book.order {
		if j.running == 0 {
			continue
		}
		for i := range j.els {
			e := &j.els[i]
			if !e.running() {
				continue
			}
			// An element this instance waits on is its wait's to record:
			// no file need be looked at. Of the others, the run file's
			// lock first: it is held while the element runs, the common
			// case, and settles the question alone.
			own := e.owner == s.ownerID
			if own && s.running[j.job.ID+"."+j.job.el(i)] != nil {
				continue
			}
			if !locked(e.run) && (own || e.owner == "" || !locked(s.sp.ownerPath(e.owner))) {
				found = append(found, orphan{j, i})
			}
		}
	}
	if len(found) == 0 {
		return
	}
	if err := s.lockJournal(); err != nil {
		return
	}
	defer s.unlockJournal()
	var evs []event
	for _, o := range found {
		if s.book.jobs[o.j.job.ID] != o.j {
			continue // the journal was compacted meanwhile: found again next time
		}
		e := &o.j.els[o.i]
		if e.ended || locked(e.run) {
			continue // settled meanwhile, or its starter's wait is at it
		}
		el := o.j.job.el(o.i)
		evs = append(evs, event{Ev: evEnd, ID: o.j.job.ID, El: el, Owner: s.ownerID, End: s.orphanEnd(o.j.job, el, e.exit, e.start, e.mem)})
	}
	if len(evs) == 0 {
		return
	}
	if err := appendEvents(s.journal, evs...); err != nil {
		s.log.Error("local executor: record ends", "err", err)
		return
	}
	s.catchUpLocked()
}

// orphanEnd is how an element that ran with no one waiting for it ended:
// what its script's trap wrote in its exit file (its run file). s.mu is
// held.
func (s *Scheduler) orphanEnd(j *jobFile, el, exitPath string, start time.Time, mem memRecord) *endFile {
	end := &endFile{Start: start, Finish: time.Now()}
	var reason scheduler.Reason
	if ex, ok := script.ReadExitFile(exitPath); ok {
		end.Exit, end.HasExit = ex.Code, true
		switch {
		case ex.Signal != 0:
			end.Status, reason = "killed", scheduler.ReasonCancelled
			end.Detail = fmt.Sprintf("the job's shell caught signal %d (SIG%s) sent from outside capi", ex.Signal, script.SignalName(syscall.Signal(ex.Signal)))
		case ex.Code != 0:
			end.Status, reason = "failed", scheduler.ReasonExitCode
		default:
			end.Status, reason = "done", scheduler.ReasonNone
		}
	} else {
		end.Status, reason = "failed", scheduler.ReasonNodeFailure
		end.Detail = "the job's processes ended without recording an exit status (killed by SIGKILL, the OOM killer, or a reboot?)"
	}
	st, reason, detail := s.settle(j, el, mem, scheduler.Status(end.Status), reason, end.Detail)
	end.Status, end.Reason, end.Detail = string(st), string(reason), detail
	mem.removeCgroup(0)
	return end
}

// Cancel implements scheduler.Scheduler: pending elements never start;
// running ones get SIGTERM on their whole process group, then SIGKILL after
// the grace period.
func (s *Scheduler) Cancel(ctx context.Context, req scheduler.CancelRequest) error {
	type victim struct {
		pid int
		run string
	}
	var victims []victim
	s.mu.Lock()
	err := func() error {
		if err := s.lockJournal(); err != nil {
			return err
		}
		defer s.unlockJournal()
		var evs []event
		now := time.Now()
		for _, t := range req.Targets {
			j := s.book.jobs[t.ID]
			if j == nil {
				return fmt.Errorf("local executor: cancel %s: %w", t.ID, scheduler.ErrNotFound)
			}
			first, last := 0, len(j.els)-1
			if t.InArray {
				i, ok := j.job.slot(strconv.Itoa(t.Index))
				if !ok {
					return fmt.Errorf("local executor: cancel %s[%d]: %w", t.ID, t.Index, scheduler.ErrNotFound)
				}
				first, last = i, i
				evs = append(evs, event{Ev: evCancel, ID: t.ID, El: j.job.el(i)})
			} else {
				evs = append(evs, event{Ev: evCancel, ID: t.ID})
			}
			for i := first; i <= last; i++ {
				e := &j.els[i]
				switch {
				case e.ended:
				case e.started:
					victims = append(victims, victim{e.pid, e.run})
				default:
					evs = append(evs, event{Ev: evEnd, ID: t.ID, El: j.job.el(i), Owner: s.ownerID,
						End: &endFile{Status: "killed", Detail: "cancelled before it started", Finish: now}})
				}
			}
		}
		if err := appendEvents(s.journal, evs...); err != nil {
			return fmt.Errorf("local executor: cancel: %w", err)
		}
		return s.catchUpLocked()
	}()
	s.unlock()
	if err != nil {
		return err
	}
	for i := range victims {
		v := &victims[i]
		if v.pid == 0 && locked(v.run) {
			v.pid = runSession(v.run) // recorded by an older version
		}
		if v.pid > 0 && locked(v.run) {
			syscall.Kill(-v.pid, syscall.SIGTERM)
		} else if v.pid == 0 {
			s.log.Warn("local executor: cannot signal an element whose start was not recorded and whose processes cannot be found", "run", v.run)
		}
	}
	deadline := time.Now().Add(s.grace)
	for _, v := range victims {
		for locked(v.run) && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	for _, v := range victims {
		// Only a group whose element still runs: a pid that ended may
		// have been reused.
		if v.pid > 0 && locked(v.run) {
			syscall.Kill(-v.pid, syscall.SIGKILL)
		}
	}
	s.wake()
	return nil
}

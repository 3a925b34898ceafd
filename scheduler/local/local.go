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
	"sort"
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
	// is flocked while it lives, so pending jobs it owned are adopted by
	// others once it is closed or its process died.
	ownerID string
	owner   *os.File
	// lastID is the last job id this Scheduler saw allocated; guarded by
	// the spool lock.
	lastID int

	kick chan struct{}
	stop chan struct{}
	done chan struct{}

	mu       sync.Mutex
	queue    []*queued           // jobs with elements not started yet, FIFO
	running  map[string]*proc    // by slot key "{id}.{el}"
	perJob   map[string]int      // running elements per job (max-concurrent)
	jobs     map[string]*jobFile // job.json cache (immutable files)
	finished map[string][]scheduler.Observation
	// elsewhere are the elements a poll saw running in another process:
	// the dispatch loop tells subscribers when they end, so that callbacks
	// here do not wait for the next poll.
	elsewhere map[string]elementRef
	subs      []func(scheduler.Observation)
	mem       memState
	closed    bool
}

type elementRef struct {
	job *jobFile
	el  string
}

type queued struct {
	job  *jobFile
	next int // offset of the next element to start
}

type proc struct {
	job   *jobFile
	el    string
	start time.Time
	cmd   *exec.Cmd
	gpus  []int     // the GPU indices it holds
	mem   memRecord // how its memory limit applied (zero without one)
}

var (
	_ scheduler.Scheduler    = (*Scheduler)(nil)
	_ scheduler.CapiOnly     = (*Scheduler)(nil)
	_ scheduler.ScriptPlacer = (*Scheduler)(nil)
)

// New opens (or creates) the spool under opts.StateDir and starts the
// dispatcher goroutine; Close stops it.
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
		sp:        spool{dir: SpoolDir(opts.StateDir)},
		slots:     slots,
		gpus:      gpus,
		log:       log,
		grace:     KillGrace,
		kick:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		running:   make(map[string]*proc),
		perJob:    make(map[string]int),
		jobs:      make(map[string]*jobFile),
		finished:  make(map[string][]scheduler.Observation),
		elsewhere: make(map[string]elementRef),
	}
	if err := s.sp.init(); err != nil {
		return nil, err
	}
	s.lastID = s.sp.maxID()
	s.ownerID = fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	owner, err := os.OpenFile(s.ownerPath(s.ownerID), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("local executor: %w", err)
	}
	if err := syscall.Flock(int(owner.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		owner.Close()
		return nil, fmt.Errorf("local executor: lock owner file: %w", err)
	}
	s.owner = owner
	go s.dispatchLoop()
	return s, nil
}

// Name implements scheduler.Scheduler.
func (s *Scheduler) Name() string { return "local" }

// CapiOnly implements scheduler.CapiOnly: the spool holds only jobs
// submitted through capi.
func (s *Scheduler) CapiOnly() {}

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

// Submit implements scheduler.Scheduler: the job is written to the spool
// and queued; it starts as soon as slots allow.
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
	}
	// The engine made the work dir when it wrote scripts there; the job
	// runs in it and its logs go there.
	if jf.WorkDir != "" {
		if err := os.MkdirAll(jf.WorkDir, 0o755); err != nil {
			return "", &scheduler.SubmitError{Scheduler: "local", Err: err, Output: "cannot create the work directory: " + err.Error()}
		}
	}
	unlock, err := s.sp.lock()
	if err != nil {
		return "", err
	}
	n, err := s.sp.createJob(jf, s.lastID)
	if err == nil {
		s.lastID = n
	}
	unlock()
	id := jf.ID
	if err != nil {
		return "", &scheduler.SubmitError{Scheduler: "local", Err: err, Output: "cannot write the job to the spool " + s.sp.dir + ": " + err.Error()}
	}
	s.mu.Lock()
	s.jobs[id] = jf
	s.queue = append(s.queue, &queued{job: jf})
	s.mu.Unlock()
	// Start it now if a slot is free, so that a job still pending when
	// Submit returns is one that waits for slots: a caller about to exit
	// (capi submit) then knows at once whether someone must stay to start
	// it later, instead of guessing with a timeout.
	if err := s.dispatch(); err != nil {
		s.log.Error("local executor: dispatch failed", "err", err)
		s.wake()
	}
	return id, nil
}

// Subscribe implements scheduler.Notifier.
func (s *Scheduler) Subscribe(fn func(scheduler.Observation)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs = append(s.subs, fn)
}

func (s *Scheduler) publish(o scheduler.Observation) {
	s.mu.Lock()
	subs := s.subs
	s.mu.Unlock()
	for _, fn := range subs {
		fn(o)
	}
}

// Close stops dispatching and releases this process's ownership of its
// pending jobs (another process adopts them). Running jobs are not
// touched: they are detached and keep running.
func (s *Scheduler) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	s.mu.Lock()
	cgroups := len(s.mem.places) > 0
	s.mu.Unlock()
	if cgroups {
		if unlock, err := s.sp.lock(); err == nil {
			s.mu.Lock()
			s.sweepCgroups()
			s.mu.Unlock()
			unlock()
		}
	}
	os.Remove(s.ownerPath(s.ownerID))
	return s.owner.Close()
}

func (s *Scheduler) ownerPath(id string) string { return filepath.Join(s.sp.dir, "owners", id) }

func (s *Scheduler) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// recheck is how often queued work is retried without a kick: slots freed
// by jobs of other processes sharing the spool wake nobody here.
const recheck = 250 * time.Millisecond

func (s *Scheduler) dispatchLoop() {
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
		if err := s.dispatch(); err != nil {
			s.log.Error("local executor: dispatch failed", "err", err)
		}
		s.tellEnds()
	}
}

// dispatch starts queued elements while cpu and GPU slots (counted across
// every process using the spool) and max-concurrent limits allow, oldest
// job first across every process; it adopts the older waiting jobs of dead
// processes it finds on the way.
func (s *Scheduler) dispatch() error {
	orphans, err := s.startQueued()
	for _, j := range orphans {
		s.adopt(j)
	}
	return err
}

func (s *Scheduler) startQueued() (orphans []*jobFile, err error) {
	s.mu.Lock()
	empty := len(s.queue) == 0
	s.mu.Unlock()
	if empty {
		return nil, nil
	}
	unlock, err := s.sp.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	usedCPUs, usedGPUs, perJob := s.usedSlots()
	free := s.slots - usedCPUs
	gpus := freeGPUs(s.gpus, usedGPUs)
	// The spool's queue is read only when something could start: with
	// every slot taken (most calls, when jobs wait), nothing can jump it.
	var waiting []string
	waitingRead := false
	s.mu.Lock()
	defer s.mu.Unlock()
	mine := make(map[string]bool, len(s.queue))
	for _, q := range s.queue {
		mine[q.job.ID] = true
	}
	kept := s.queue[:0]
	blocked := false
	for _, q := range s.queue {
		els := q.job.elements()
		// First in, first out across every process: an older job another
		// process will start when slots free up goes first.
		if !blocked && free >= q.job.CPUs && len(gpus) >= q.job.GPUs {
			if !waitingRead {
				waiting, waitingRead = s.sp.waiting(), true
			}
			var dead []*jobFile
			blocked, dead = s.olderStartable(waiting, q.job.ID, mine, free, len(gpus), perJob)
			for _, d := range dead {
				if !slices.ContainsFunc(orphans, func(o *jobFile) bool { return o.ID == d.ID }) {
					orphans = append(orphans, d)
				}
			}
		}
		if blocked {
			kept = append(kept, q)
			continue
		}
		for q.next < len(els) && free >= q.job.CPUs && len(gpus) >= q.job.GPUs {
			if q.job.MaxConcurrent > 0 && s.perJob[q.job.ID] >= q.job.MaxConcurrent {
				break
			}
			el := els[q.next]
			q.next++
			// A .run file means some process started the element already:
			// an adopted array has elements its dead owner started.
			if exists(s.sp.cancelPath(q.job.ID, el)) || exists(s.sp.cancelPath(q.job.ID, "all")) ||
				exists(s.sp.endPath(q.job.ID, el)) || exists(s.sp.runPath(q.job.ID, el)) {
				continue
			}
			if err := s.startLocked(q.job, el, gpus[:q.job.GPUs:q.job.GPUs]); err != nil {
				s.log.Error("local executor: start failed", "job", q.job.ID, "element", el, "err", err)
				now := time.Now()
				s.sp.writeEnd(q.job.ID, el, endFile{Status: "failed", Detail: "could not start: " + err.Error(), Finish: now})
				go s.publish(s.observation(q.job, el, scheduler.Failed, scheduler.ReasonNodeFailure, "could not start: "+err.Error(), 0, false, time.Time{}, now))
				continue
			}
			free -= q.job.CPUs
			gpus = gpus[q.job.GPUs:]
		}
		if q.next < len(els) {
			kept = append(kept, q)
		} else {
			os.Remove(s.sp.waitingPath(q.job.ID))
		}
	}
	for i := len(kept); i < len(s.queue); i++ {
		s.queue[i] = nil
	}
	s.queue = kept
	return orphans, nil
}

// olderStartable reports whether a job older than id that another process
// dispatches (not in mine) waits and could start now: then id must wait its
// turn. Older waiting jobs whose dispatcher died are returned as orphans,
// for this process to adopt. Called with s.mu and the
// spool lock held.
func (s *Scheduler) olderStartable(waiting []string, id string, mine map[string]bool, freeCPUs, freeGPUs int, perJob map[string]int) (blocked bool, orphans []*jobFile) {
	for _, w := range waiting {
		if !lessID(w, id) {
			break
		}
		if mine[w] {
			continue
		}
		j, err := s.sp.readJob(w) // fresh: adoption changes the owner
		if err != nil {
			continue
		}
		if !locked(s.ownerPath(j.Owner)) {
			// Its submitter ended: this process adopts it, and it still
			// goes first.
			orphans = append(orphans, j)
		}
		if j.CPUs <= freeCPUs && j.GPUs <= freeGPUs && (j.MaxConcurrent == 0 || perJob[w] < j.MaxConcurrent) {
			return true, orphans
		}
	}
	return false, orphans
}

// usedSlots counts the cpus, and lists the GPUs, of running elements in the
// slot table, and how many elements of each job run, removing entries whose
// processes are gone (their owner died without cleaning up). The caller
// holds the spool lock.
func (s *Scheduler) usedSlots() (cpus int, gpus map[int]bool, perJob map[string]int) {
	gpus, perJob = make(map[int]bool), make(map[string]int)
	entries, err := os.ReadDir(filepath.Join(s.sp.dir, "running"))
	if err != nil {
		return 0, gpus, perJob
	}
	for _, e := range entries {
		key := e.Name()
		s.mu.Lock()
		p := s.running[key]
		s.mu.Unlock()
		id, el, ok := strings.Cut(key, ".")
		if p != nil {
			cpus += p.job.CPUs
			for _, g := range p.gpus {
				gpus[g] = true
			}
			perJob[id]++
			continue
		}
		if !ok || !locked(s.sp.runPath(id, el)) {
			os.Remove(filepath.Join(s.sp.dir, "running", key))
			continue
		}
		b, _ := os.ReadFile(filepath.Join(s.sp.dir, "running", key))
		n, held := parseSlotEntry(b)
		cpus += n
		for _, g := range held {
			gpus[g] = true
		}
		perJob[id]++
	}
	return cpus, gpus, perJob
}

// startLocked starts one element holding the GPU indices gpus; s.mu and
// the spool lock are held.
func (s *Scheduler) startLocked(j *jobFile, el string, gpus []int) error {
	delete(s.elsewhere, j.ID+"."+el) // its end is told by wait
	runPath := s.sp.runPath(j.ID, el)
	run, err := os.OpenFile(runPath, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer run.Close() // the child keeps its own descriptor, and the lock with it
	if err := syscall.Flock(int(run.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("lock %s: %w", runPath, err)
	}
	index := ""
	if j.Array {
		index = el
	}
	stdout, err := openLog(expand(j.Stdout, j.ID, index))
	if err != nil {
		return err
	}
	defer stdout.Close()
	stderr := stdout
	if ep := expand(j.Stderr, j.ID, index); ep != expand(j.Stdout, j.ID, index) {
		if stderr, err = openLog(ep); err != nil {
			return err
		}
		defer stderr.Close()
	}
	env := append(os.Environ(), "CAPI_JOB_ID="+j.ID)
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
			return err
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
		n, _ := strconv.Atoi(index)
		launchArgs = []string{"-c", launcher, j.Script, strconv.FormatInt(wall, 10), strconv.Itoa(graceSeconds(s.grace)),
			s.sp.timeoutPath(j.ID, el), script.ExitFilePath(j.Script, j.ID, n, j.Array)}
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
		return err
	}
	if limited {
		if mem.Cgroup != "" {
			if err := writeCgroup(filepath.Join(mem.Cgroup, "cgroup.procs"), strconv.Itoa(cmd.Process.Pid)); err != nil {
				// Made, but not enterable (cgroup v2 wants write access
				// to the common ancestor's cgroup.procs): not a place.
				s.log.Info("local executor: cannot move jobs into cgroups here", "dir", filepath.Dir(mem.Cgroup), "err", err)
				mem.removeCgroup(0)
				s.mem.places = slices.DeleteFunc(s.mem.places, func(h hierarchy) bool { return h.dir == filepath.Dir(mem.Cgroup) })
				s.mem.why = err.Error()
				mem = withoutCgroup(mem, err.Error())
			}
		}
		// The launcher proceeds once it has this line; if we could not
		// write it, it reads end of file and exits 125.
		fmt.Fprintln(gateW, mem.ulimitKiB())
		gateW.Close()
		if j.Memory > 0 {
			if err := s.sp.writeMem(j.ID, el, mem); err != nil {
				s.log.Warn("local executor: record the memory limit", "job", j.ID, "err", err)
			}
		}
	}
	now := time.Now()
	fmt.Fprintf(run, "%d %d\n", cmd.Process.Pid, now.UnixNano())
	key := j.ID + "." + el
	if err := os.WriteFile(filepath.Join(s.sp.dir, "running", key), slotEntry(j.CPUs, gpus), 0o600); err != nil {
		s.log.Warn("local executor: slot table entry", "err", err)
	}
	p := &proc{job: j, el: el, start: now, cmd: cmd, gpus: gpus, mem: mem}
	s.running[key] = p
	s.perJob[j.ID]++
	go s.publish(s.observation(j, el, scheduler.Running, "", "", 0, false, now, time.Time{}))
	go s.wait(p)
	return nil
}

func openLog(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	return f, nil
}

func expand(p, id, index string) string {
	p = strings.ReplaceAll(p, "{job_id}", id)
	return strings.ReplaceAll(p, "{index}", index)
}

// wait reaps one element, records how it ended and frees its slot. Its
// owner is the Scheduler; it ends when the job's main process does.
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
	status, reason, detail = s.settle(p.job, p.el, p.mem, status, reason, detail)
	if err := s.sp.writeEnd(p.job.ID, p.el, endFile{Status: string(status), Reason: string(reason), Exit: code, HasExit: code >= 0, Detail: detail, Start: p.start, Finish: now}); err != nil {
		s.log.Error("local executor: record end", "job", p.job.ID, "err", err)
	}
	key := p.job.ID + "." + p.el
	os.Remove(filepath.Join(s.sp.dir, "running", key))
	s.mu.Lock()
	delete(s.running, key)
	s.perJob[p.job.ID]--
	if s.perJob[p.job.ID] <= 0 {
		delete(s.perJob, p.job.ID)
	}
	s.mu.Unlock()
	s.wake()
	s.publish(s.observation(p.job, p.el, status, reason, detail, code, code >= 0, p.start, now))
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
// cgroup, else a note of the limit when it was an RLIMIT_AS or none.
func (s *Scheduler) settle(j *jobFile, el string, mem memRecord, st scheduler.Status, r scheduler.Reason, detail string) (scheduler.Status, scheduler.Reason, string) {
	switch {
	case exists(s.sp.timeoutPath(j.ID, el)):
		return scheduler.Failed, scheduler.ReasonTimeout, fmt.Sprintf("walltime limit of %s reached: stopped with SIGTERM to its processes, SIGKILL %ds later if still running",
			scheduler.FormatHHMMSS(j.Walltime), graceSeconds(s.grace))
	case s.cancelled(j.ID, el):
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

func (s *Scheduler) cancelled(id, el string) bool {
	return exists(s.sp.cancelPath(id, el)) || exists(s.sp.cancelPath(id, "all"))
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

// Poll implements scheduler.Scheduler by reading the spool. Pending jobs
// whose owning process is gone are adopted and dispatched from here on.
func (s *Scheduler) Poll(ctx context.Context, q scheduler.Query) ([]scheduler.Observation, error) {
	entries, err := os.ReadDir(filepath.Join(s.sp.dir, "jobs"))
	if err != nil {
		return nil, fmt.Errorf("local executor spool: %w", err)
	}
	var out []scheduler.Observation
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		id := e.Name()
		s.mu.Lock()
		fin, isFinished := s.finished[id]
		j := s.jobs[id]
		s.mu.Unlock()
		if isFinished {
			if q.Prefix == "" || (len(fin) > 0 && strings.HasPrefix(fin[0].Name, q.Prefix)) {
				out = append(out, fin...)
			}
			continue
		}
		if j == nil {
			if j, err = s.sp.readJob(id); err != nil {
				continue // being written, or not a job directory
			}
			s.mu.Lock()
			s.jobs[id] = j
			s.mu.Unlock()
		}
		if q.Prefix != "" && !strings.HasPrefix(j.Name, q.Prefix) {
			continue
		}
		obs, allEnded, orphan := s.inspect(j)
		out = append(out, obs...)
		if allEnded {
			s.mu.Lock()
			s.finished[id] = obs
			s.mu.Unlock()
		} else if orphan {
			s.adopt(j)
		}
	}
	return out, nil
}

// inspect reads one job's elements from the spool.
func (s *Scheduler) inspect(j *jobFile) (obs []scheduler.Observation, allEnded, orphan bool) {
	allEnded = true
	for _, el := range j.elements() {
		if end, ok := s.sp.readEnd(j.ID, el); ok {
			s.mu.Lock()
			delete(s.elsewhere, j.ID+"."+el)
			s.mu.Unlock()
			obs = append(obs, s.endObservation(j, el, end))
			continue
		}
		s.mu.Lock()
		p := s.running[j.ID+"."+el]
		s.mu.Unlock()
		runPath := s.sp.runPath(j.ID, el)
		if p == nil && exists(runPath) && !locked(runPath) && readPid(runPath) == 0 {
			s.clearUnstarted(j, el)
		}
		switch {
		case p != nil:
			allEnded = false
			obs = append(obs, s.observation(j, el, scheduler.Running, "", "", 0, false, p.start, time.Time{}))
		case exists(runPath) && locked(runPath):
			allEnded = false
			obs = append(obs, s.observation(j, el, scheduler.Running, "", "", 0, false, runStart(runPath), time.Time{}))
			// Watched for its end (at most the slots' worth of elements;
			// waiting ones are seen running at a later poll first).
			s.mu.Lock()
			s.elsewhere[j.ID+"."+el] = elementRef{j, el}
			s.mu.Unlock()
		case exists(runPath):
			// Started, and every process of it is gone, but nobody waited
			// for it (its submitter died): the script's exit file tells.
			obs = append(obs, s.endOrphan(j, el, runStart(runPath)))
		case s.cancelled(j.ID, el):
			now := time.Now()
			s.sp.writeEnd(j.ID, el, endFile{Status: "killed", Detail: "cancelled before it started", Finish: now})
			obs = append(obs, s.observation(j, el, scheduler.Killed, scheduler.ReasonCancelled, "cancelled before it started", 0, false, time.Time{}, now))
		default:
			allEnded = false
			obs = append(obs, s.observation(j, el, scheduler.Pending, "", "", 0, false, time.Time{}, time.Time{}))
			if j.Owner != s.ownerID && !locked(s.ownerPath(j.Owner)) {
				orphan = true
			}
		}
	}
	return obs, allEnded, orphan
}

// endObservation is how element el of j ended, from its .end file.
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

// tellEnds publishes the ends of the elements other processes run that a
// poll saw (elsewhere), as soon as their .end file is there.
func (s *Scheduler) tellEnds() {
	s.mu.Lock()
	refs := make([]elementRef, 0, len(s.elsewhere))
	for _, r := range s.elsewhere {
		refs = append(refs, r)
	}
	s.mu.Unlock()
	for _, r := range refs {
		end, ok := s.sp.readEnd(r.job.ID, r.el)
		if !ok {
			continue
		}
		s.mu.Lock()
		delete(s.elsewhere, r.job.ID+"."+r.el)
		s.mu.Unlock()
		s.publish(s.endObservation(r.job, r.el, end))
	}
}

func runStart(path string) time.Time {
	b, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return time.Time{}
	}
	ns, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// clearUnstarted removes the .run file of an element whose starter died
// before starting it, so that the element is pending (and adoptable) again
// instead of failed. The file is created, locked and given the pid under the
// spool lock, so once we hold that lock, an unlocked file without a pid and
// without an exit status means the process never ran.
func (s *Scheduler) clearUnstarted(j *jobFile, el string) {
	unlock, err := s.sp.lock()
	if err != nil {
		return
	}
	defer unlock()
	rp := s.sp.runPath(j.ID, el)
	if !exists(rp) || locked(rp) || readPid(rp) != 0 || exists(s.sp.endPath(j.ID, el)) {
		return
	}
	index, _ := strconv.Atoi(el)
	if _, ok := script.ReadExitFile(script.ExitFilePath(j.Script, j.ID, index, j.Array)); ok {
		return
	}
	os.Remove(rp)
	s.log.Info("local executor: element was never started by its dead owner; pending again", "job", j.ID, "element", el)
}

// endOrphan settles an element that ran to its end with no one waiting.
func (s *Scheduler) endOrphan(j *jobFile, el string, start time.Time) scheduler.Observation {
	index, inArray := 0, j.Array
	if inArray {
		index, _ = strconv.Atoi(el)
	}
	now := time.Now()
	end := endFile{Start: start, Finish: now}
	var reason scheduler.Reason
	if ex, ok := script.ReadExitFile(script.ExitFilePath(j.Script, j.ID, index, inArray)); ok {
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
	mem, _ := s.sp.readMem(j.ID, el)
	st, reason, detail := s.settle(j, el, mem, scheduler.Status(end.Status), reason, end.Detail)
	end.Status, end.Reason, end.Detail = string(st), string(reason), detail
	s.sp.writeEnd(j.ID, el, end)
	mem.removeCgroup(0)
	return s.observation(j, el, scheduler.Status(end.Status), reason, end.Detail, end.Exit, end.HasExit, end.Start, end.Finish)
}

// adopt takes over dispatching a job whose owner died, unless another
// process did so first.
func (s *Scheduler) adopt(j *jobFile) {
	unlock, err := s.sp.lock()
	if err != nil {
		return
	}
	defer unlock()
	cur, err := s.sp.readJob(j.ID)
	if err != nil || cur.Owner == s.ownerID || (cur.Owner != j.Owner && locked(s.ownerPath(cur.Owner))) {
		return
	}
	cur.Owner = s.ownerID
	if err := s.sp.writeJob(cur); err != nil {
		return
	}
	s.mu.Lock()
	s.jobs[j.ID] = cur
	s.queue = append(s.queue, &queued{job: cur})
	sort.SliceStable(s.queue, func(a, b int) bool { return lessID(s.queue[a].job.ID, s.queue[b].job.ID) })
	s.mu.Unlock()
	s.log.Info("local executor: adopted pending job of a process that ended", "job", j.ID)
	s.wake()
}

func lessID(a, b string) bool {
	na, _ := strconv.Atoi(a)
	nb, _ := strconv.Atoi(b)
	return na < nb
}

// Cancel implements scheduler.Scheduler: pending elements never start;
// running ones get SIGTERM on their whole process group, then SIGKILL after
// the grace period.
func (s *Scheduler) Cancel(ctx context.Context, req scheduler.CancelRequest) error {
	type victim struct{ id, el string }
	var victims []victim
	unlock, err := s.sp.lock()
	if err != nil {
		return err
	}
	for _, t := range req.Targets {
		j, err := s.sp.readJob(t.ID)
		if err != nil {
			unlock()
			return fmt.Errorf("local executor: cancel %s: %w", t.ID, scheduler.ErrNotFound)
		}
		els := j.elements()
		if t.InArray {
			els = []string{strconv.Itoa(t.Index)}
		} else {
			os.Remove(s.sp.waitingPath(t.ID)) // nothing of it is to start
		}
		for _, el := range els {
			if exists(s.sp.endPath(t.ID, el)) {
				continue
			}
			if err := os.WriteFile(s.sp.cancelPath(t.ID, el), nil, 0o600); err != nil {
				unlock()
				return fmt.Errorf("local executor: cancel %s: %w", t.ID, err)
			}
			victims = append(victims, victim{t.ID, el})
		}
	}
	unlock()
	var pgids []int
	for _, v := range victims {
		rp := s.sp.runPath(v.id, v.el)
		if pid := readPid(rp); pid > 0 && locked(rp) {
			syscall.Kill(-pid, syscall.SIGTERM)
			pgids = append(pgids, pid)
		}
	}
	deadline := time.Now().Add(s.grace)
	for _, v := range victims {
		rp := s.sp.runPath(v.id, v.el)
		for exists(rp) && locked(rp) && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	for _, pg := range pgids {
		syscall.Kill(-pg, syscall.SIGKILL)
	}
	s.wake()
	return nil
}

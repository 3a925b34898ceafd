package clusterapi

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/store"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

// Record is a snapshot of a job: a copy that the engine never changes after
// handing it out. JSON field names are the capi command's (snake_case).
type Record struct {
	ID       string `json:"job_id"`
	Name     string `json:"name"`
	Executor string `json:"executor"`
	Command  string `json:"command,omitempty"`
	Status   Status `json:"status"`
	// Reason says why the job ended as it did; Detail holds the
	// scheduler's own words.
	Reason     Reason            `json:"reason,omitempty"`
	Detail     string            `json:"detail,omitempty"`
	ExitCode   *int              `json:"exit_code"`
	ExecHost   string            `json:"exec_host,omitempty"`
	MaxMem     string            `json:"max_mem,omitempty"`
	SubmitTime time.Time         `json:"submit_time,omitzero"`
	StartTime  time.Time         `json:"start_time,omitzero"`
	FinishTime time.Time         `json:"finish_time,omitzero"`
	Resources  Resources         `json:"resources"`
	ScriptPath string            `json:"script_path,omitempty"`
	StdoutPath string            `json:"stdout_path,omitempty"`
	StderrPath string            `json:"stderr_path,omitempty"`
	Metadata   map[string]string `json:"metadata,omitempty"`
	Array      *ArrayRecord      `json:"array,omitempty"`
}

// ArrayRecord is the state of an array job's elements.
type ArrayRecord struct {
	First         int    `json:"first"`
	Last          int    `json:"last"`
	MaxConcurrent int    `json:"max_concurrent,omitempty"`
	Counts        Counts `json:"counts"`
	// FailedIndices lists every element that ended other than done
	// (failed or killed): what to rerun. Counts keeps the two apart.
	FailedIndices []int     `json:"failed_indices,omitempty"`
	Elements      []Element `json:"elements"`
}

// Counts tallies array elements by status.
type Counts struct {
	Pending int `json:"pending"`
	Running int `json:"running"`
	Done    int `json:"done"`
	Failed  int `json:"failed"`
	Killed  int `json:"killed"`
	// Unknown counts elements the scheduler has lost track of for now
	// (LSF UNKWN); they are not final.
	Unknown int `json:"unknown,omitempty"`
}

// Element is one array element.
type Element struct {
	Index      int       `json:"index"`
	Status     Status    `json:"status"`
	Reason     Reason    `json:"reason,omitempty"`
	Detail     string    `json:"detail,omitempty"`
	ExitCode   *int      `json:"exit_code"`
	ExecHost   string    `json:"exec_host,omitempty"`
	MaxMem     string    `json:"max_mem,omitempty"`
	StartTime  time.Time `json:"start_time,omitzero"`
	FinishTime time.Time `json:"finish_time,omitzero"`
	StdoutPath string    `json:"stdout_path,omitempty"`
	StderrPath string    `json:"stderr_path,omitempty"`
}

// Terminal reports whether the job has ended.
func (r Record) Terminal() bool { return r.Status.Terminal() }

// Job is a handle on a tracked job, safe for concurrent use. Read it through
// Snapshot; wait for it with Done or Wait.
type Job struct {
	e    *Executor
	id   string
	done chan struct{}

	// Guarded by e.mu.
	st jobState
}

// jobState is the engine's mutable view of a job: its fixed part (rec) and
// what observations change (phase), for the job and for each element.
type jobState struct {
	// rec is what the submission fixed: name, command, resources, paths,
	// metadata, array bounds, submit time. Its status and result fields
	// stay zero: they live in phase, and snapshot fills them in.
	rec Record
	phase
	// storeSeen is when the store last changed the job as this process
	// last read it: unchanged jobs (and their elements) are not read again,
	// and readers of the shared poll never go back.
	storeSeen time.Time
	elems     []elemState
	callbacks []callback
	// unseen is how long the job (or some unfinished element) has been
	// unknown to every source, counted over successful polls only.
	unseen time.Duration
	// inflight counts callbacks queued but not yet run; a job is purged
	// only when it is zero.
	inflight int
	// seenPoll is the poll sequence number that last saw the job.
	seenPoll uint64
	// endedAt is when the engine saw the job become terminal (for purge).
	endedAt time.Time
}

// newJobState splits a record into the fixed part and the phase; an
// array's elements are added by addElements.
func newJobState(rec Record, src store.Source) jobState {
	st := jobState{phase: phase{
		status: rec.Status, src: src, reason: rec.Reason, detail: rec.Detail, host: rec.ExecHost, mem: rec.MaxMem,
		start: toNanos(rec.StartTime), finish: toNanos(rec.FinishTime),
	}}
	if rec.ExitCode != nil {
		st.exit, st.hasExit = int32(*rec.ExitCode), true
	}
	rec.Status, rec.Reason, rec.Detail, rec.ExitCode, rec.ExecHost, rec.MaxMem = "", "", "", nil, "", ""
	rec.StartTime, rec.FinishTime = time.Time{}, time.Time{}
	st.rec = rec
	return st
}

// addElements gives an array job its elements, all pending.
func (s *jobState) addElements() {
	if a := s.rec.Array; a != nil {
		s.elems = make([]elemState, a.Last-a.First+1)
		for i := range s.elems {
			s.elems[i] = elemState{index: int32(a.First + i), phase: phase{status: Pending}}
		}
	}
}

// phase is what observations change, in a job or in one array element: one
// shape for both, merged by one function (observe). It is kept small because
// an engine may track hundreds of thousands of elements: times are Unix
// nanoseconds (0 = unknown), the exit status 32-bit.
type phase struct {
	status  Status
	reason  Reason
	detail  string
	host    string
	mem     string // peak memory in the scheduler's words
	start   int64
	finish  int64
	exit    int32
	hasExit bool
	src     store.Source // where status came from
}

// observe merges an observation from src into p and reports whether
// anything the store keeps changed. A final phase never changes again.
// Unknown is applied too: it says the scheduler has lost track of the job
// for now (LSF UNKWN), in its own words, until it reports a known state
// again.
func (p *phase) observe(o *scheduler.Observation, src store.Source, now time.Time) bool {
	if p.status.Terminal() {
		return false
	}
	before := *p
	if o.Status != "" {
		p.status, p.src = o.Status, src
	}
	p.reason, p.detail = o.Reason, o.Detail
	if o.HasExit {
		p.exit, p.hasExit = int32(o.ExitCode), true
	}
	if o.Host != "" {
		p.host = o.Host
	}
	if o.MaxMem != "" {
		p.mem = o.MaxMem
	}
	if !o.StartTime.IsZero() {
		p.start = toNanos(o.StartTime)
	}
	if p.status.Terminal() {
		p.finish = toNanos(o.FinishTime)
		if p.finish == 0 {
			p.finish = now.UnixNano()
		}
	}
	return *p != before
}

// exitCode is the exit status as records give it (nil: unknown).
func (p *phase) exitCode() *int {
	if !p.hasExit {
		return nil
	}
	v := int(p.exit)
	return &v
}

// stored is the phase as the store keeps it.
func (p *phase) stored() store.JobState {
	return store.JobState{Status: p.status, Source: p.src, Reason: p.reason, Detail: p.detail, ExitCode: p.exitCode(),
		ExecHost: p.host, MaxMem: p.mem, StartTime: fromNanos(p.start), FinishTime: fromNanos(p.finish)}
}

// stored is an element's phase as the store keeps it.
func (el *elemState) stored() store.ElementState {
	return store.ElementState{Index: int(el.index), Status: el.status, Source: el.src, Reason: el.reason, Detail: el.detail,
		ExitCode: el.exitCode(), Host: el.host, MaxMem: el.mem, StartTime: fromNanos(el.start), FinishTime: fromNanos(el.finish)}
}

// elementPhase is the phase of a stored element.
func elementPhase(es store.ElementState) phase {
	p := phase{status: es.Status, src: es.Source, reason: es.Reason, detail: es.Detail, host: es.Host, mem: es.MaxMem,
		start: toNanos(es.StartTime), finish: toNanos(es.FinishTime)}
	if es.ExitCode != nil {
		p.exit, p.hasExit = int32(*es.ExitCode), true
	}
	return p
}

// elemState is one array element: 112 bytes.
type elemState struct {
	phase
	index    int32
	seenPoll uint32 // low bits of the poll sequence number that last saw it
}

func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// closedChan is handed out by Done for jobs that ended before anyone asked.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// ID is the scheduler's job id.
func (j *Job) ID() string { return j.id }

// Done returns a channel closed when the job reaches a terminal status.
// The channel is made on first use: most tracked jobs are never waited on,
// and a channel per job is a tenth of an engine's memory.
func (j *Job) Done() <-chan struct{} {
	j.e.mu.Lock()
	defer j.e.mu.Unlock()
	if j.done == nil {
		if !j.st.endedAt.IsZero() {
			return closedChan
		}
		j.done = make(chan struct{})
	}
	return j.done
}

// Snapshot returns a copy of the job's current record.
func (j *Job) Snapshot() Record {
	j.e.mu.Lock()
	defer j.e.mu.Unlock()
	return j.st.snapshot(j.e.dialect)
}

// Wait blocks until the job is terminal or ctx ends, and returns its record.
// Something must be updating the job: a running Monitor, calls to Poll, or
// a scheduler that reports completions itself (the local executor).
func (j *Job) Wait(ctx context.Context) (Record, error) {
	select {
	case <-j.Done():
		return j.Snapshot(), nil
	case <-ctx.Done():
		return j.Snapshot(), ctx.Err()
	}
}

// snapshot copies the state into a Record; d expands element log paths.
func (s *jobState) snapshot(d scheduler.Dialect) Record {
	r := s.rec
	r.Metadata = maps.Clone(r.Metadata)
	r.Resources.ExtraArgs = slices.Clone(r.Resources.ExtraArgs)
	r.Resources.ExtraDirectives = slices.Clone(r.Resources.ExtraDirectives)
	r.Status, r.Reason, r.Detail, r.ExitCode, r.ExecHost, r.MaxMem = s.status, s.reason, s.detail, s.exitCode(), s.host, s.mem
	r.StartTime, r.FinishTime = fromNanos(s.start), fromNanos(s.finish)
	if s.rec.Array != nil {
		a := *s.rec.Array
		a.Elements = make([]Element, len(s.elems))
		a.Counts = Counts{}
		a.FailedIndices = nil
		for i, el := range s.elems {
			a.Elements[i] = Element{
				Index: int(el.index), Status: el.status, Reason: el.reason, Detail: el.detail, ExitCode: el.exitCode(),
				ExecHost: el.host, MaxMem: el.mem, StartTime: fromNanos(el.start), FinishTime: fromNanos(el.finish),
				StdoutPath: d.LogPath(r.StdoutPath, "", int(el.index)),
				StderrPath: d.LogPath(r.StderrPath, "", int(el.index)),
			}
			switch el.status {
			case Done:
				a.Counts.Done++
			case Failed:
				a.Counts.Failed++
				a.FailedIndices = append(a.FailedIndices, int(el.index))
			case Killed:
				a.Counts.Killed++
				a.FailedIndices = append(a.FailedIndices, int(el.index))
			case Running:
				a.Counts.Running++
			case Unknown:
				a.Counts.Unknown++
			default:
				a.Counts.Pending++
			}
		}
		r.Array = &a
	}
	return r
}

// callback is one registered callback and the statuses it fires on.
type callback struct {
	fn   func(Record)
	when []Status // empty = any terminal status
}

func (c callback) matches(s Status) bool {
	return len(c.when) == 0 || slices.Contains(c.when, s)
}

// OnSuccess registers fn to run once when the job ends done.
func (j *Job) OnSuccess(fn func(Record)) { j.OnExit(fn, Done) }

// OnFailure registers fn to run once when the job ends failed (a non-zero
// exit, a cluster kill, or vanished). Cancelled jobs end killed; use OnExit
// to observe those.
func (j *Job) OnFailure(fn func(Record)) { j.OnExit(fn, Failed) }

// OnExit registers fn to run once when the job reaches a terminal status in
// when (any terminal status if when is empty). It fires even when the job
// had already ended before registration. Callbacks run one at a time on the
// executor's dispatcher goroutine; a panic in one is recovered and logged.
func (j *Job) OnExit(fn func(Record), when ...Status) {
	e := j.e
	e.mu.Lock()
	defer e.mu.Unlock()
	cb := callback{fn: fn, when: when}
	if j.st.status.Terminal() {
		if cb.matches(j.st.status) {
			j.st.inflight++
			e.dispatch.enqueueFor(j, fn, j.st.snapshot(e.dialect))
		}
		return
	}
	j.st.callbacks = append(j.st.callbacks, cb)
}

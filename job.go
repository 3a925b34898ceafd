package clusterapi

import (
	"context"
	"maps"
	"slices"
	"time"

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
		a.Counts, a.FailedIndices, a.Elements = Counts{}, nil, []Element{}
		// A submission the scheduler refused (no job id) has no elements.
		if r.ID != "" {
			s.listElements(&a, d, r.StdoutPath, r.StderrPath)
		}
		r.Array = &a
	}
	return r
}

// listElements fills a with every element of the array, an element not
// held being pending, and their counts.
func (s *jobState) listElements(a *ArrayRecord, d scheduler.Dialect, stdout, stderr string) {
	a.Elements = make([]Element, 0, s.size())
	s.eachElement(func(index int, el *elemState) {
		x := Element{Index: index, Status: Pending, StdoutPath: d.LogPath(stdout, "", index), StderrPath: d.LogPath(stderr, "", index)}
		if el != nil {
			x.Status, x.Reason, x.Detail, x.ExitCode = el.status, el.reason, el.detail, el.exitCode()
			x.ExecHost, x.MaxMem, x.StartTime, x.FinishTime = el.host, el.mem, fromNanos(el.start), fromNanos(el.finish)
		}
		a.Elements = append(a.Elements, x)
		switch x.Status {
		case Done:
			a.Counts.Done++
		case Failed:
			a.Counts.Failed++
			a.FailedIndices = append(a.FailedIndices, index)
		case Killed:
			a.Counts.Killed++
			a.FailedIndices = append(a.FailedIndices, index)
		case Running:
			a.Counts.Running++
		case Unknown:
			a.Counts.Unknown++
		default:
			a.Counts.Pending++
		}
	})
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

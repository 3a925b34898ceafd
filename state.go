package clusterapi

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/store"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

// jobState is the engine's mutable view of a job: its fixed part (rec) and
// what observations change (phase), for the job and for each element.
type jobState struct {
	// rec is what the submission fixed: name, command, resources, paths,
	// metadata, array bounds, submit time. Its status and result fields
	// are not used: they live in phase, and snapshot fills them in.
	rec Record
	phase
	// storeSeen is when the store last changed the job as this process
	// last read it: unchanged jobs (and their elements) are not read again,
	// and readers of the shared poll never go back.
	storeSeen time.Time
	// elems holds the elements of an array that some source has reported
	// or the engine has decided on, sorted by index. An array is held as
	// its range until then (an element not held is pending and was never
	// seen), so that memory follows what was observed, not the range.
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

// size is how many elements the array has (0 for a single job).
func (s *jobState) size() int {
	if a := s.rec.Array; a != nil {
		return a.Last - a.First + 1
	}
	return 0
}

// inRange reports whether index is an element of the array.
func (s *jobState) inRange(index int) bool {
	a := s.rec.Array
	return a != nil && index >= a.First && index <= a.Last
}

// find returns the position of element index among the held elements and
// whether it is held there; if not, the position is where it would go.
func (s *jobState) find(index int) (int, bool) {
	// Once every element is held, an element's position is its offset.
	if i := index - s.rec.Array.First; i >= 0 && i < len(s.elems) && int(s.elems[i].index) == index {
		return i, true
	}
	return slices.BinarySearchFunc(s.elems, index, func(el elemState, index int) int { return cmp.Compare(int(el.index), index) })
}

// held returns element index, or nil when it is not held (pending, never
// seen) or not in the array.
func (s *jobState) held(index int) *elemState {
	if !s.inRange(index) {
		return nil
	}
	if i, ok := s.find(index); ok {
		return &s.elems[i]
	}
	return nil
}

func pendingElement(index int) elemState {
	return elemState{index: int32(index), phase: phase{status: Pending}}
}

// hold adds the elements of indices (any order, repeats allowed) that are
// in the array and not held yet, pending. It merges them in place from the
// back, so that only held elements above the lowest new index move: the
// usual case, elements first seen in index order, appends; a poll that
// first sees many elements out of order (LSF lists running elements before
// pending and finished ones) costs one pass, not one insert each.
func (s *jobState) hold(indices []int) {
	var add []int
	for _, i := range indices {
		if s.inRange(i) {
			if _, ok := s.find(i); !ok {
				add = append(add, i)
			}
		}
	}
	if len(add) == 0 {
		return
	}
	slices.Sort(add)
	add = slices.Compact(add)
	n := len(s.elems)
	s.elems = slices.Grow(s.elems, len(add))[:n+len(add)]
	// k is where the next element from the back goes; old (n) and add
	// are consumed from their ends.
	for k, a := len(s.elems)-1, len(add)-1; a >= 0; k-- {
		if n > 0 && int(s.elems[n-1].index) > add[a] {
			s.elems[k] = s.elems[n-1]
			n--
		} else {
			s.elems[k] = pendingElement(add[a])
			a--
		}
	}
}

// eachElement calls fn for every element of the array in index order, with
// its state, or nil for one not held. fn must not hold new elements.
func (s *jobState) eachElement(fn func(index int, el *elemState)) {
	a := s.rec.Array
	if a == nil {
		return
	}
	k := 0
	for i := a.First; i <= a.Last; i++ {
		if k < len(s.elems) && int(s.elems[k].index) == i {
			fn(i, &s.elems[k])
			k++
		} else {
			fn(i, nil)
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
// again. Times never contradict each other: a start before the job's
// submission (submitted, unix ns; 0 if unknown) is taken as the
// submission, and an end before the start as the start. LSF's bjobs gives
// minutes only ("Nov 29 17:47"), so a job capi submitted at 17:47:27
// would otherwise have run before it was submitted, and one that ran for
// twenty seconds, for none.
func (p *phase) observe(o *scheduler.Observation, src store.Source, now time.Time, submitted int64) bool {
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
	if p.start != 0 && p.start < submitted {
		p.start = submitted
	}
	if p.finish != 0 && p.finish < p.start {
		p.finish = p.start
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
	return store.ElementState{Index: int(el.index), JobState: el.phase.stored()}
}

// phaseOf is the phase of a state the store keeps, of a job or an element.
func phaseOf(js store.JobState) phase {
	p := phase{status: js.Status, src: js.Source, reason: js.Reason, detail: js.Detail, host: js.ExecHost, mem: js.MaxMem,
		start: toNanos(js.StartTime), finish: toNanos(js.FinishTime)}
	if js.ExitCode != nil {
		p.exit, p.hasExit = int32(*js.ExitCode), true
	}
	return p
}

// elemState is one array element: 112 bytes.
type elemState struct {
	phase
	index    int32
	seenPoll uint32 // low bits of the poll sequence number that last saw it
}

// change is what one observation changed in a job's state: what the store
// must write (the job's own phase, an element's), and whether the job has
// just ended, for its waiters and callbacks. The engine applies an
// observation with jobState.apply and hands the change to its consumers
// (Executor.commitLocked).
type change struct {
	job bool // the job's own phase changed
	// elem is the position of the element the observation was about (-1:
	// none), and elemChanged whether its phase changed; either way the
	// array's own state is to be rolled up from its elements.
	elem        int
	elemChanged bool
	ended       bool // the job has just become final
}

// apply merges one observation, from src, into the job's state. seq marks
// the job (or the element) seen by that poll (0 for notifications and the
// engine's own decisions). A final job or element never changes again. It
// touches nothing but the state: the caller hands the change on.
func (st *jobState) apply(o *scheduler.Observation, src store.Source, now time.Time, seq uint64) change {
	ch := change{elem: -1}
	if st.status.Terminal() {
		return ch
	}
	if !o.InArray {
		if seq != 0 {
			st.seenPoll = seq
		}
		if st.rec.SubmitTime.IsZero() {
			st.rec.SubmitTime = o.SubmitTime
		}
		ch.job = st.observe(o, src, now, toNanos(st.rec.SubmitTime))
		ch.ended = st.status.Terminal()
		return ch
	}
	if !st.inRange(o.Index) {
		return ch
	}
	i, ok := st.find(o.Index)
	if !ok { // the engine holds a batch's new elements first (applyAll)
		st.hold([]int{o.Index})
		i, _ = st.find(o.Index)
	}
	el := &st.elems[i]
	if seq != 0 {
		el.seenPoll = uint32(seq)
	}
	if el.status.Terminal() {
		return ch
	}
	ch.elem, ch.elemChanged = i, el.observe(o, src, now, toNanos(st.rec.SubmitTime))
	return ch
}

// rollUp derives an array's state from its elements and reports whether
// that made the array final: final only when every element is (an element
// not held is pending); then failed if any failed, else killed if any was
// killed, else done (the seed's precedence). Its source is its weakest
// element's.
func (st *jobState) rollUp() (ended bool) {
	var running, terminal, failed, killed, unknown int
	src := store.SourceScheduler
	var firstFailed *elemState
	var start, finish time.Time
	for i := range st.elems {
		el := &st.elems[i]
		switch el.status {
		case Running:
			running++
		case Failed:
			failed++
			if firstFailed == nil {
				firstFailed = el
			}
		case Killed:
			killed++
		case Unknown:
			unknown++
		}
		if el.status.Terminal() {
			terminal++
			src = min(src, el.src)
			if f := fromNanos(el.finish); f.After(finish) {
				finish = f
			}
		}
		if s := fromNanos(el.start); !s.IsZero() && (start.IsZero() || s.Before(start)) {
			start = s
		}
		if st.host == "" && el.host != "" {
			st.host = el.host
		}
	}
	st.start = toNanos(start)
	switch {
	case terminal < st.size():
		switch {
		case running > 0 || terminal > 0:
			st.status = Running
		case unknown > 0:
			st.status = Unknown
		default:
			st.status = Pending
		}
		return false
	case failed > 0:
		st.status, st.reason = Failed, firstFailed.reason
		st.detail = fmt.Sprintf("%d of %d elements failed", failed, st.size())
		st.exit, st.hasExit = firstFailed.exit, firstFailed.hasExit
	case killed > 0:
		st.status, st.reason = Killed, ReasonCancelled
		st.detail = fmt.Sprintf("%d of %d elements cancelled", killed, st.size())
	default:
		st.status, st.reason, st.detail = Done, "", ""
		st.exit, st.hasExit = 0, true
	}
	st.finish = toNanos(finish)
	st.src = src
	return true
}

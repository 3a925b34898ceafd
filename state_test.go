package clusterapi

import (
	"slices"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/store"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

// A job's state changes through one function, with no engine around it:
// apply says what changed (for the store) and whether the job just ended
// (for waiters and callbacks); an array ends through rollUp, once every
// element is final; a final state never changes again.
func TestJobStateApply(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	single := jobState{rec: Record{ID: "1"}, phase: phase{status: Pending}}
	if ch := single.apply(&scheduler.Observation{ID: "1", Status: Running, Host: "n1"}, store.SourceScheduler, now, 7); !ch.job || ch.ended || ch.elem != -1 {
		t.Errorf("running: %+v, want the job's phase changed, not ended", ch)
	}
	if ch := single.apply(&scheduler.Observation{ID: "1", Status: Running, Host: "n1"}, store.SourceScheduler, now, 8); ch.job {
		t.Errorf("the same observation again: %+v, want nothing changed", ch)
	}
	if single.seenPoll != 8 {
		t.Errorf("seenPoll = %d, want the last poll's 8", single.seenPoll)
	}
	ch := single.apply(&scheduler.Observation{ID: "1", Status: Failed, HasExit: true, ExitCode: 2}, store.SourceExitFile, now, 9)
	if !ch.job || !ch.ended || single.finish != now.UnixNano() || single.src != store.SourceExitFile {
		t.Errorf("failed: %+v, finish %d, source %v; want ended at now, from the exit file", ch, single.finish, single.src)
	}
	if ch := single.apply(&scheduler.Observation{ID: "1", Status: Done}, store.SourceScheduler, now, 10); ch.job || ch.ended || single.status != Failed {
		t.Errorf("after the end: %+v, status %s; want nothing changed", ch, single.status)
	}

	arr := jobState{rec: Record{ID: "2", Array: &ArrayRecord{First: 1, Last: 2}}, phase: phase{status: Pending}}
	el := func(i int, st Status) *scheduler.Observation {
		return &scheduler.Observation{ID: "2", InArray: true, Index: i, Status: st, HasExit: st.Terminal(), ExitCode: 0}
	}
	if ch := arr.apply(el(1, Done), store.SourceScheduler, now, 1); ch.elem != 0 || !ch.elemChanged || ch.job || ch.ended {
		t.Errorf("element 1 done: %+v, want element 0 changed, the array not ended", ch)
	}
	if arr.rollUp() || arr.status != Running {
		t.Errorf("one of two elements done: array %s, want running and not ended", arr.status)
	}
	if ch := arr.apply(el(9, Done), store.SourceScheduler, now, 1); ch.elem != -1 {
		t.Errorf("an element outside the array: %+v, want ignored", ch)
	}
	arr.apply(el(2, Killed), store.SourceCancel, now, 2)
	if !arr.rollUp() || arr.status != Killed || arr.src != store.SourceCancel {
		t.Errorf("array with a killed element: %s from %v, want killed, from the weakest source", arr.status, arr.src)
	}
}

// Elements are held sorted by index however they are first seen (LSF
// lists running elements before pending and finished ones), one at a time
// or in one merge, and only those in the array's range.
func TestElementsHeldInOrder(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	st := jobState{rec: Record{ID: "3", Array: &ArrayRecord{First: 1, Last: 10}}, phase: phase{status: Pending}}
	st.hold([]int{6, 5, 6, 0, 11})
	st.apply(&scheduler.Observation{ID: "3", InArray: true, Index: 2, Status: Done, HasExit: true}, store.SourceScheduler, now, 1)
	st.hold([]int{9, 1, 3})
	st.apply(&scheduler.Observation{ID: "3", InArray: true, Index: 10, Status: Running}, store.SourceScheduler, now, 1)
	var got []int
	for _, el := range st.elems {
		got = append(got, int(el.index))
	}
	if want := []int{1, 2, 3, 5, 6, 9, 10}; !slices.Equal(got, want) {
		t.Fatalf("held elements %v, want %v", got, want)
	}
	if el := st.held(2); el == nil || el.status != Done {
		t.Errorf("element 2 = %+v, want held and done", el)
	}
	if el := st.held(4); el != nil {
		t.Errorf("element 4 = %+v, want not held", el)
	}
	var listed []int
	st.eachElement(func(index int, el *elemState) {
		if (el != nil) != slices.Contains(got, index) {
			t.Errorf("eachElement: element %d held=%v", index, el != nil)
		}
		listed = append(listed, index)
	})
	if len(listed) != 10 || listed[0] != 1 || listed[9] != 10 {
		t.Errorf("eachElement listed %v, want 1..10", listed)
	}
	if st.rollUp() || st.status != Running {
		t.Errorf("array of 10 with one done and one running: %s, want running", st.status)
	}
}

// Times never contradict each other: LSF gives minutes only, so a start
// it reports can precede capi's own record of the submission, and an end
// the start; they are taken as the submission and the start.
func TestTimesNeverContradictEachOther(t *testing.T) {
	t.Parallel()
	submitted := time.Date(2026, 11, 29, 17, 47, 27, 0, time.UTC)
	minute := time.Date(2026, 11, 29, 17, 47, 0, 0, time.UTC)
	now := submitted.Add(40 * time.Second)
	st := jobState{rec: Record{ID: "1", SubmitTime: submitted}, phase: phase{status: Pending}}
	st.apply(&scheduler.Observation{ID: "1", Status: Running, StartTime: minute}, store.SourceScheduler, now, 1)
	if got := fromNanos(st.start); !got.Equal(submitted) {
		t.Errorf("start %s reported as %s, before the submission at %s: want the submission", got, minute, submitted)
	}
	st.apply(&scheduler.Observation{ID: "1", Status: Done, HasExit: true, StartTime: minute, FinishTime: minute}, store.SourceScheduler, now, 2)
	if s, f := fromNanos(st.start), fromNanos(st.finish); !s.Equal(submitted) || !f.Equal(submitted) {
		t.Errorf("start %s, finish %s; want both at the submission %s, not before it", s, f, submitted)
	}
	arr := jobState{rec: Record{ID: "2", SubmitTime: submitted, Array: &ArrayRecord{First: 1, Last: 1}}, phase: phase{status: Pending}}
	arr.apply(&scheduler.Observation{ID: "2", InArray: true, Index: 1, Status: Running, StartTime: minute}, store.SourceScheduler, now, 1)
	if el := arr.held(1); el == nil || !fromNanos(el.start).Equal(submitted) {
		t.Errorf("element %+v, want its start at the submission", el)
	}
	late := submitted.Add(10 * time.Second)
	st = jobState{rec: Record{ID: "3", SubmitTime: submitted}, phase: phase{status: Pending}}
	st.apply(&scheduler.Observation{ID: "3", Status: Running, StartTime: late}, store.SourceScheduler, now, 1)
	if got := fromNanos(st.start); !got.Equal(late) {
		t.Errorf("a start after the submission changed: %s, want %s", got, late)
	}
}

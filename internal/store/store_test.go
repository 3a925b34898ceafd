package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.UTC)

// clock is a fake clock that advances one millisecond per reading, so that
// every write gets a distinct, predictable time.
type clock struct{ n atomic.Int64 }

func (c *clock) now() time.Time { return t0.Add(time.Duration(c.n.Add(1)) * time.Millisecond) }

// peek is the time the next reading will return.
func (c *clock) peek() time.Time { return t0.Add(time.Duration(c.n.Load()+1) * time.Millisecond) }

func openTest(t testing.TB) (*Store, *clock) {
	t.Helper()
	c := &clock{}
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "jobs.db"), &Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s, c
}

func intp(v int) *int { return &v }

// submit records a completed submission and returns its key.
func submit(t testing.TB, s *Store, sub Submission, jobID string) Key {
	t.Helper()
	ctx := context.Background()
	tok, err := s.BeginSubmit(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteSubmit(ctx, tok, jobID); err != nil {
		t.Fatal(err)
	}
	return Key{Scheduler: sub.Scheduler, JobID: jobID}
}

func fullSubmission() Submission {
	return Submission{
		Token:     "tok-1",
		Scheduler: "lsf",
		Name:      "capi-align-ä 'x' $HOME",
		Command:   "bash -c 'echo \"hi\" > out; exit 3'",
		Resources: scheduler.Resources{
			CPUs: 4, GPUs: 1, Memory: 8 * scheduler.GB, Walltime: 90 * time.Minute,
			Queue: "short", Account: "proj", WorkDir: "/data/a b",
			StdoutPath: "/logs/%J.out", StderrPath: "/logs/%J.err",
			ExtraDirectives: []string{"-P proj"}, ExtraArgs: []string{"-x"},
		},
		Metadata:   map[string]string{"sample": "s1", "run": "7"},
		Array:      &scheduler.Array{First: 1, Last: 10, MaxConcurrent: 2},
		ScriptPath: "/data/a b/align.1.sh",
		StdoutPath: "/data/a b/stdout.%J.%I.log",
		StderrPath: "/data/a b/stderr.%J.%I.log",
		WorkDir:    "/data/a b",
		SubmitTime: t0.Add(-time.Hour).In(time.FixedZone("CET", 3600)),
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := openTest(t)
	sub := fullSubmission()

	tok, err := s.BeginSubmit(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	if tok != sub.Token {
		t.Fatalf("token = %q, want the one given, %q", tok, sub.Token)
	}
	want := Record{
		Scheduler: "lsf", Token: "tok-1",
		Name: sub.Name, Command: sub.Command, Resources: sub.Resources, Metadata: sub.Metadata,
		Array: sub.Array, ScriptPath: sub.ScriptPath, StdoutPath: sub.StdoutPath, StderrPath: sub.StderrPath,
		WorkDir:    sub.WorkDir,
		JobState:   JobState{Status: Submitting},
		SubmitTime: sub.SubmitTime.UTC(),
		UpdatedAt:  t0.Add(time.Millisecond),
		OwnerHost:  hostname(t), OwnerPID: os.Getpid(),
	}
	got, err := s.GetToken(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("after BeginSubmit (-want +got):\n%s", diff)
	}

	if err := s.CompleteSubmit(ctx, tok, "4711"); err != nil {
		t.Fatal(err)
	}
	key := Key{Scheduler: "lsf", JobID: "4711"}
	st := JobState{
		Status: scheduler.Failed, Reason: scheduler.ReasonOutOfMemory,
		Detail: "TERM_MEMLIMIT: job killed", ExitCode: intp(137),
		ExecHost: "node-7", MaxMem: "5.2 Gbytes",
		StartTime: t0.Add(time.Minute), FinishTime: t0.Add(2 * time.Minute),
	}
	if err := s.UpdateJob(ctx, key, st); err != nil {
		t.Fatal(err)
	}
	elems := []ElementState{
		{Index: 1, JobState: JobState{Status: scheduler.Done, Reason: scheduler.ReasonExitCode, ExitCode: intp(0), ExecHost: "n1", MaxMem: "74404K",
			StartTime: t0.Add(time.Second), FinishTime: t0.Add(3 * time.Second)}},
		{Index: 2, JobState: JobState{Status: scheduler.Running, Detail: "RUN", ExecHost: "n2", StartTime: t0.Add(2 * time.Second)}},
	}
	lastWrite := clk.peek()
	if err := s.UpdateElements(ctx, key, elems); err != nil {
		t.Fatal(err)
	}

	want.JobID = "4711"
	want.JobState = st
	want.UpdatedAt = lastWrite
	want.Elements = elems
	got, err = s.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Get (-want +got):\n%s", diff)
	}
	byToken, err := s.GetToken(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, byToken); diff != "" {
		t.Fatalf("GetToken (-want +got):\n%s", diff)
	}

	events, err := s.Events(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	wantEvents := []Event{
		{Time: t0.Add(2 * time.Millisecond), Status: scheduler.Pending},
		{Time: t0.Add(3 * time.Millisecond), Status: scheduler.Failed, Reason: scheduler.ReasonOutOfMemory,
			Detail: "TERM_MEMLIMIT: job killed", ExitCode: intp(137)},
		{Index: intp(1), Time: lastWrite, Status: scheduler.Done, Reason: scheduler.ReasonExitCode, ExitCode: intp(0)},
		{Index: intp(2), Time: lastWrite, Status: scheduler.Running, Detail: "RUN"},
	}
	if diff := cmp.Diff(wantEvents, events); diff != "" {
		t.Fatalf("Events (-want +got):\n%s", diff)
	}
}

func hostname(t testing.TB) string {
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestMinimalSubmission(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := openTest(t)
	submitAt := clk.peek()
	key := submit(t, s, Submission{Scheduler: "local", Name: "j", Metadata: map[string]string{}}, "1")
	got, err := s.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if got.Array != nil || got.Metadata != nil || got.ExitCode != nil || !got.StartTime.IsZero() || got.Elements != nil {
		t.Errorf("optional fields should come back empty: %+v", got)
	}
	if !got.SubmitTime.Equal(submitAt) || len(got.Token) != 32 {
		t.Errorf("SubmitTime = %v (want %v, the clock at BeginSubmit), Token = %q (want 32 hex digits)", got.SubmitTime, submitAt, got.Token)
	}
}

// TestUpdateRules checks which fields replace, which merge, and when
// events are appended, over sequences of states.
func TestUpdateRules(t *testing.T) {
	t.Parallel()
	const sched = SourceScheduler
	running := JobState{Status: scheduler.Running, Source: sched, Detail: "RUN", ExecHost: "n1", MaxMem: "1 Gbytes", StartTime: t0}
	tests := []struct {
		name       string
		states     []JobState
		want       JobState
		wantEvents int // besides CompleteSubmit's "pending"
	}{
		{
			name:       "same state again adds nothing",
			states:     []JobState{running, running, running},
			want:       running,
			wantEvents: 1,
		},
		{
			name:       "detail only is stored without an event",
			states:     []JobState{{Status: scheduler.Pending, Source: sched, Detail: "Priority"}, {Status: scheduler.Pending, Source: sched, Detail: "Resources"}},
			want:       JobState{Status: scheduler.Pending, Source: sched, Detail: "Resources"},
			wantEvents: 0,
		},
		{
			name:       "unknown host, memory and times keep the stored ones",
			states:     []JobState{running, {Status: scheduler.Done, Source: sched, Reason: scheduler.ReasonExitCode, ExitCode: intp(0)}},
			want:       JobState{Status: scheduler.Done, Source: sched, Reason: scheduler.ReasonExitCode, ExitCode: intp(0), ExecHost: "n1", MaxMem: "1 Gbytes", StartTime: t0},
			wantEvents: 2,
		},
		{
			name: "exit code change alone is an event",
			states: []JobState{
				{Status: scheduler.Failed, Source: sched, Reason: scheduler.ReasonExitCode},
				{Status: scheduler.Failed, Source: sched, Reason: scheduler.ReasonExitCode, ExitCode: intp(2)},
			},
			want:       JobState{Status: scheduler.Failed, Source: sched, Reason: scheduler.ReasonExitCode, ExitCode: intp(2)},
			wantEvents: 2,
		},
		{
			name: "the scheduler's record replaces vanished",
			states: []JobState{
				{Status: scheduler.Failed, Source: SourceVanished, Reason: scheduler.ReasonVanished},
				{Status: scheduler.Failed, Source: sched, Reason: scheduler.ReasonTimeout},
			},
			want:       JobState{Status: scheduler.Failed, Source: sched, Reason: scheduler.ReasonTimeout},
			wantEvents: 2,
		},
		{
			// A poll that began before the job ended (another process's,
			// slower) must not move it back; capi does not follow requeues.
			name: "a final state is never replaced by one that is not",
			states: []JobState{
				{Status: scheduler.Failed, Source: sched, Reason: scheduler.ReasonExitCode, ExitCode: intp(4)},
				{Status: scheduler.Running, Source: sched, Detail: "RUN"},
			},
			want:       JobState{Status: scheduler.Failed, Source: sched, Reason: scheduler.ReasonExitCode, ExitCode: intp(4)},
			wantEvents: 1,
		},
		// The precedence of sources: scheduler > capi's cancel > exit file
		// > vanished. A final state is never replaced by a weaker one.
		{
			name: "vanished never replaces another process's cancel",
			states: []JobState{
				{Status: scheduler.Killed, Source: SourceCancel, Reason: scheduler.ReasonCancelled},
				{Status: scheduler.Failed, Source: SourceVanished, Reason: scheduler.ReasonVanished},
			},
			want:       JobState{Status: scheduler.Killed, Source: SourceCancel, Reason: scheduler.ReasonCancelled},
			wantEvents: 1,
		},
		{
			name: "an exit file never replaces the scheduler's record",
			states: []JobState{
				{Status: scheduler.Failed, Source: sched, Reason: scheduler.ReasonOutOfMemory, ExitCode: intp(137)},
				{Status: scheduler.Failed, Source: SourceExitFile, Reason: scheduler.ReasonExitCode, ExitCode: intp(137)},
			},
			want:       JobState{Status: scheduler.Failed, Source: sched, Reason: scheduler.ReasonOutOfMemory, ExitCode: intp(137)},
			wantEvents: 1,
		},
		{
			name: "the scheduler's record replaces an exit file's",
			states: []JobState{
				{Status: scheduler.Failed, Source: SourceExitFile, Reason: scheduler.ReasonExitCode, ExitCode: intp(143)},
				{Status: scheduler.Killed, Source: sched, Reason: scheduler.ReasonCancelled, ExitCode: intp(143)},
			},
			want:       JobState{Status: scheduler.Killed, Source: sched, Reason: scheduler.ReasonCancelled, ExitCode: intp(143)},
			wantEvents: 2,
		},
		{
			name: "a cancel recorded as done stays done when the scheduler says killed",
			states: []JobState{
				{Status: scheduler.Done, Source: SourceCancel, Reason: scheduler.ReasonCancelled},
				{Status: scheduler.Killed, Source: sched, Reason: scheduler.ReasonCancelled},
			},
			want:       JobState{Status: scheduler.Done, Source: SourceCancel, Reason: scheduler.ReasonCancelled},
			wantEvents: 1,
		},
		{
			name: "a job that ended before the cancel reached it ends as the scheduler says",
			states: []JobState{
				{Status: scheduler.Killed, Source: SourceCancel, Reason: scheduler.ReasonCancelled},
				{Status: scheduler.Done, Source: sched, ExitCode: intp(0)},
			},
			want:       JobState{Status: scheduler.Done, Source: sched, ExitCode: intp(0)},
			wantEvents: 2,
		},
		{
			name: "a stale running never moves a final state back",
			states: []JobState{
				{Status: scheduler.Killed, Source: SourceCancel, Reason: scheduler.ReasonCancelled},
				{Status: scheduler.Running, Source: sched, Detail: "RUN"},
			},
			want:       JobState{Status: scheduler.Killed, Source: SourceCancel, Reason: scheduler.ReasonCancelled},
			wantEvents: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, _ := openTest(t)
			key := submit(t, s, Submission{Scheduler: "slurm", Name: "x"}, "9")
			for _, st := range tt.states {
				if err := s.UpdateJob(ctx, key, st); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.Get(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.JobState); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
			events, err := s.Events(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != tt.wantEvents+1 {
				t.Errorf("%d events, want %d: %+v", len(events), tt.wantEvents+1, events)
			}
		})
	}
}

// TestNoChangeWritesNothing: an update that changes nothing must not even
// touch updated_at, for the job or its elements.
func TestNoChangeWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTest(t)
	key := submit(t, s, Submission{Scheduler: "sge", Name: "arr", Array: &scheduler.Array{First: 1, Last: 3}}, "77")
	change := Change{
		Key: key,
		Job: &JobState{Status: scheduler.Running},
		Elements: []ElementState{
			{Index: 1, JobState: JobState{Status: scheduler.Running, ExecHost: "a"}},
			{Index: 2, JobState: JobState{Status: scheduler.Pending}},
		},
	}
	if _, err := s.ApplyPoll(ctx, []Change{change}); err != nil {
		t.Fatal(err)
	}
	before, err := s.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	eventsBefore, err := s.Events(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.ApplyPoll(ctx, []Change{change}); err != nil {
			t.Fatal(err)
		}
	}
	after, err := s.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("record changed (-before +after):\n%s", diff)
	}
	eventsAfter, err := s.Events(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(eventsAfter) != len(eventsBefore) {
		t.Errorf("%d events after repeating the same poll, want %d", len(eventsAfter), len(eventsBefore))
	}

	// One element changing bumps the job's UpdatedAt and adds one event.
	change.Elements[1].Status = scheduler.Running
	if _, err := s.ApplyPoll(ctx, []Change{change}); err != nil {
		t.Fatal(err)
	}
	last, err := s.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if !last.UpdatedAt.After(before.UpdatedAt) {
		t.Errorf("UpdatedAt = %v, want after %v once an element changed", last.UpdatedAt, before.UpdatedAt)
	}
	eventsLast, err := s.Events(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(eventsLast) != len(eventsBefore)+1 || *eventsLast[len(eventsLast)-1].Index != 2 {
		t.Errorf("events = %+v, want one more, for element 2", eventsLast)
	}
}

func TestApplyPoll(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTest(t)
	a := submit(t, s, Submission{Scheduler: "lsf", Name: "a"}, "1")
	b := submit(t, s, Submission{Scheduler: "lsf", Name: "b"}, "2")
	stray := Key{Scheduler: "lsf", JobID: "404"}

	unknown, err := s.ApplyPoll(ctx, []Change{
		{Key: a, Job: &JobState{Status: scheduler.Running}},
		{Key: stray, Job: &JobState{Status: scheduler.Running}},
		{Key: b, Job: &JobState{Status: scheduler.Done, ExitCode: intp(0)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Key{stray}, unknown); diff != "" {
		t.Errorf("unknown keys (-want +got):\n%s", diff)
	}
	for key, want := range map[Key]scheduler.Status{a: scheduler.Running, b: scheduler.Done} {
		got, err := s.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != want {
			t.Errorf("job %s: status %s, want %s", key, got.Status, want)
		}
	}

	// The same job twice in one poll: the second is compared with the
	// first, not with what was stored before the poll.
	if _, err := s.ApplyPoll(ctx, []Change{
		{Key: a, Job: &JobState{Status: scheduler.Pending}},
		{Key: a, Job: &JobState{Status: scheduler.Running}},
	}); err != nil {
		t.Fatal(err)
	}
	if events, err := s.Events(ctx, a); err != nil || len(events) != 4 {
		t.Errorf("events of %s = %+v, %v; want pending, running, pending, running", a, events, err)
	}

	// A change without a status is refused as a whole.
	_, err = s.ApplyPoll(ctx, []Change{
		{Key: a, Job: &JobState{Status: scheduler.Done}},
		{Key: b, Elements: []ElementState{{Index: 1}}},
	})
	if err == nil {
		t.Fatal("ApplyPoll accepted an element without a status")
	}
	if got, _ := s.Get(ctx, a); got.Status != scheduler.Running {
		t.Errorf("job %s is %s after a refused poll, want it unchanged (running)", a, got.Status)
	}

	if err := s.UpdateJob(ctx, stray, JobState{Status: scheduler.Done}); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateJob of an unknown job: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, stray); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of an unknown job: err = %v, want ErrNotFound", err)
	}
}

func TestSubmitLifecycle(t *testing.T) {
	t.Parallel()
	type step struct {
		op      string // "complete" or "fail"
		arg     string
		wantErr error
	}
	tests := []struct {
		name       string
		steps      []step
		wantStatus scheduler.Status
		wantReason scheduler.Reason
	}{
		{"complete", []step{{"complete", "5", nil}}, scheduler.Pending, ""},
		{"complete is idempotent", []step{{"complete", "5", nil}, {"complete", "5", nil}}, scheduler.Pending, ""},
		{"complete with another id", []step{{"complete", "5", nil}, {"complete", "6", ErrConflict}}, scheduler.Pending, ""},
		{"fail", []step{{"fail", "bsub: no such queue", nil}}, scheduler.Failed, scheduler.ReasonSubmitFailed},
		{"fail is idempotent", []step{{"fail", "x", nil}, {"fail", "x", nil}}, scheduler.Failed, scheduler.ReasonSubmitFailed},
		{"fail after complete", []step{{"complete", "5", nil}, {"fail", "x", ErrConflict}}, scheduler.Pending, ""},
		{"complete after fail", []step{{"fail", "x", nil}, {"complete", "5", ErrConflict}}, scheduler.Failed, scheduler.ReasonSubmitFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, _ := openTest(t)
			tok, err := s.BeginSubmit(ctx, Submission{Scheduler: "slurm", Name: "n"})
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range tt.steps {
				var err error
				if st.op == "complete" {
					err = s.CompleteSubmit(ctx, tok, st.arg)
				} else {
					err = s.FailSubmit(ctx, tok, st.arg)
				}
				if !errors.Is(err, st.wantErr) || (st.wantErr == nil) != (err == nil) {
					t.Fatalf("step %d (%s %s): err = %v, want %v", i, st.op, st.arg, err, st.wantErr)
				}
			}
			got, err := s.GetToken(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.wantStatus || got.Reason != tt.wantReason {
				t.Errorf("status %s/%s, want %s/%s", got.Status, got.Reason, tt.wantStatus, tt.wantReason)
			}
		})
	}

	t.Run("unknown token", func(t *testing.T) {
		t.Parallel()
		s, _ := openTest(t)
		ctx := context.Background()
		if err := s.CompleteSubmit(ctx, "nope", "1"); !errors.Is(err, ErrNotFound) {
			t.Errorf("CompleteSubmit: err = %v, want ErrNotFound", err)
		}
		if err := s.FailSubmit(ctx, "nope", "x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("FailSubmit: err = %v, want ErrNotFound", err)
		}
	})
	t.Run("invalid submissions", func(t *testing.T) {
		t.Parallel()
		s, _ := openTest(t)
		ctx := context.Background()
		for _, sub := range []Submission{
			{Name: "no scheduler"},
			{Scheduler: "lsf"},
			{Scheduler: "lsf", Name: "bad array", Array: &scheduler.Array{First: 5, Last: 1}},
		} {
			if _, err := s.BeginSubmit(ctx, sub); err == nil {
				t.Errorf("BeginSubmit(%+v) accepted an invalid submission", sub)
			}
		}
		tok, err := s.BeginSubmit(ctx, Submission{Scheduler: "lsf", Name: "dup", Token: "t"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.BeginSubmit(ctx, Submission{Scheduler: "lsf", Name: "dup", Token: tok}); err == nil {
			t.Error("BeginSubmit accepted a token already in use")
		}
	})
}

func TestPendingSubmits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTest(t)
	var toks []string
	for _, name := range []string{"a", "b", "c", "d"} {
		tok, err := s.BeginSubmit(ctx, Submission{Scheduler: "lsf", Name: name})
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	if err := s.CompleteSubmit(ctx, toks[0], "1"); err != nil {
		t.Fatal(err)
	}
	if err := s.FailSubmit(ctx, toks[2], "refused"); err != nil {
		t.Fatal(err)
	}
	pending, err := s.PendingSubmits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pending {
		names = append(names, p.Name)
		if p.OwnerPID != os.Getpid() || p.Status != Submitting {
			t.Errorf("intent %s: owner pid %d, status %s; want %d, submitting", p.Name, p.OwnerPID, p.Status, os.Getpid())
		}
	}
	if diff := cmp.Diff([]string{"b", "d"}, names); diff != "" {
		t.Errorf("pending intents (-want +got):\n%s", diff)
	}

	// Intents are not jobs yet: the default listing leaves them out but
	// shows the failed submission.
	all, err := s.List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	names = names[:0]
	for _, r := range all {
		names = append(names, r.Name)
	}
	if diff := cmp.Diff([]string{"a", "c"}, names); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
}

// TestSupersede: a scheduler that reuses an id must not make the new
// submission fail, and must not lose the old record.
func TestSupersede(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTest(t)
	old := submit(t, s, Submission{Scheduler: "lsf", Name: "old"}, "100")
	if err := s.UpdateJob(ctx, old, JobState{Status: scheduler.Done, ExitCode: intp(0)}); err != nil {
		t.Fatal(err)
	}
	submit(t, s, Submission{Scheduler: "lsf", Name: "new"}, "100")

	got, err := s.Get(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "new" || got.Status != scheduler.Pending {
		t.Errorf("Get(%s) = %s/%s, want the new job, pending", old, got.Name, got.Status)
	}
	visible, err := s.List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	history, err := s.List(ctx, Filter{IncludePurged: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(visible) != 1 || len(history) != 2 || !history[0].Superseded || history[0].Status != scheduler.Done {
		t.Errorf("visible %+v\nhistory %+v\nwant the new job visible and the old one, done, as superseded history", visible, history)
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := openTest(t)
	jobs := []struct {
		sched, name, id string
		status          scheduler.Status
		purged          bool
	}{
		{"lsf", "capi-a-1", "1", scheduler.Running, false},
		{"lsf", "capi-B-2", "2", scheduler.Done, false},
		{"slurm", "capi-a-3", "3", scheduler.Failed, false},
		{"slurm", "other?[x]", "4", scheduler.Pending, false},
		{"lsf", "capi-a-5", "5", scheduler.Done, true},
	}
	for i, j := range jobs {
		key := submit(t, s, Submission{Scheduler: j.sched, Name: j.name, SubmitTime: t0.Add(time.Duration(i) * time.Hour),
			Array: &scheduler.Array{First: 1, Last: 2}}, j.id)
		if _, err := s.ApplyPoll(ctx, []Change{{Key: key, Job: &JobState{Status: j.status},
			Elements: []ElementState{{Index: 1, JobState: JobState{Status: j.status}}}}}); err != nil {
			t.Fatal(err)
		}
		if j.purged {
			if err := s.MarkPurged(ctx, []Key{key, {Scheduler: "lsf", JobID: "unknown"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		filter Filter
		want   []string
	}{
		{"default hides purged", Filter{}, []string{"1", "2", "3", "4"}},
		{"include purged", Filter{IncludePurged: true}, []string{"1", "2", "3", "4", "5"}},
		{"scheduler", Filter{Scheduler: "slurm"}, []string{"3", "4"}},
		{"statuses", Filter{Statuses: []scheduler.Status{scheduler.Done, scheduler.Failed}}, []string{"2", "3"}},
		{"name pattern", Filter{Name: "capi-a-*"}, []string{"1", "3"}},
		{"name is case-sensitive", Filter{Name: "capi-b-*"}, nil},
		{"glob characters are literal", Filter{Name: "other?[x]"}, []string{"4"}},
		{"question mark is not a wildcard", Filter{Name: "capi-?-1"}, nil},
		{"since", Filter{Since: t0.Add(2 * time.Hour)}, []string{"3", "4"}},
		{"limit keeps the newest", Filter{Limit: 2}, []string{"3", "4"}},
		{"combined", Filter{Scheduler: "lsf", Name: "capi-*", IncludePurged: true, Limit: 2}, []string{"2", "5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			recs, err := s.List(ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range recs {
				ids = append(ids, r.JobID)
				if r.Elements != nil {
					t.Errorf("job %s has elements without WithElements", r.JobID)
				}
			}
			if diff := cmp.Diff(tt.want, ids); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("with elements", func(t *testing.T) {
		t.Parallel()
		recs, err := s.List(ctx, Filter{Limit: 1, WithElements: true})
		if err != nil {
			t.Fatal(err)
		}
		want := []ElementState{{Index: 1, JobState: JobState{Status: scheduler.Pending}}}
		if len(recs) != 1 || !cmp.Equal(want, recs[0].Elements) {
			t.Errorf("List with elements = %+v, want job 4 with elements %+v", recs, want)
		}
	})
}

func TestPathWithSpecialCharacters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state dir?x=1#frag", "jobs.db")
	s, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	submit(t, s, Submission{Scheduler: "local", Name: "x"}, "1")
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database is not where it was asked to be: %v", err)
	}
}

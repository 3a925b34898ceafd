package store

import (
	"context"
	"errors"
	"testing"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// Apply writes a burst of completed submissions and the states that
// followed them in one transaction: the states of a job completed in the
// same call are recorded, and a completion that conflicts with the store
// is returned without losing the rest.
func TestApplyCompletesSubmissionsWithTheirStates(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	ctx := context.Background()
	var done []Completion
	for _, id := range []string{"1", "2"} {
		tok, err := s.BeginSubmit(ctx, Submission{Scheduler: "local", Name: "job-" + id, OnThisMachine: true})
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, Completion{Token: tok, JobID: id})
	}
	failed, err := s.BeginSubmit(ctx, Submission{Scheduler: "local", Name: "refused"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FailSubmit(ctx, failed, "refused"); err != nil {
		t.Fatal(err)
	}
	done = append(done, Completion{Token: failed, JobID: "3"})
	changes := []Change{
		{Key: Key{Scheduler: "local", JobID: "1"}, Job: &JobState{Status: scheduler.Done, Source: SourceScheduler, ExitCode: intp(0)}},
		{Key: Key{Scheduler: "local", JobID: "2"}, Job: &JobState{Status: scheduler.Running, Source: SourceScheduler}},
	}
	unknown, conflicts, err := s.Apply(ctx, done, changes)
	if err != nil {
		t.Fatal(err)
	}
	if len(unknown) != 0 {
		t.Errorf("unknown = %v, want none: each job was completed in the same call", unknown)
	}
	if len(conflicts) != 1 || !errors.Is(conflicts[0], ErrConflict) {
		t.Errorf("conflicts = %v, want the refused submission's", conflicts)
	}
	for id, want := range map[string]scheduler.Status{"1": scheduler.Done, "2": scheduler.Running} {
		r, err := s.Get(ctx, Key{Scheduler: "local", JobID: id})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != want {
			t.Errorf("job %s: %s, want %s", id, r.Status, want)
		}
	}
	pending, err := s.PendingSubmits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 0 {
		t.Errorf("%d intents still open, want none", len(pending))
	}
}

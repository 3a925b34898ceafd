package sge

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

func TestCancelRecorded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file    string
		wantErr bool
	}{
		{"mixed", false},     // exit 1 because one job is unknown: not an error
		{"task_gone", false}, // exit 1, the task ended already
		{"unknown", false},
		{"ok", false},
		{"qmaster_down", true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			err := newTest(t, replay(t, "testdata/qdel/"+tt.file+".txt")).Cancel(context.Background(),
				scheduler.CancelRequest{Targets: []scheduler.Target{{ID: "70"}}})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Cancel error = %v, want error %v", err, tt.wantErr)
			}
			var ce *scheduler.CommandError
			if err != nil && !errors.As(err, &ce) {
				t.Errorf("error %v does not keep the *CommandError", err)
			}
		})
	}
}

func TestCancelArgs(t *testing.T) {
	t.Parallel()
	ok := readCapture(t, "testdata/qdel/ok.txt")
	r := &fakeRunner{respond: func(cmd scheduler.Command) (scheduler.Result, error) { return ok.result(cmd.Argv) }}
	targets := []scheduler.Target{{ID: "7"}, {ID: "8", Index: 3, InArray: true}, {ID: "7"}}
	for i := range 2 * maxCancelArgs {
		targets = append(targets, scheduler.Target{ID: "9", Index: i + 1, InArray: true})
	}
	if err := newTest(t, r).Cancel(context.Background(), scheduler.CancelRequest{Targets: targets, AsDone: true}); err != nil {
		t.Fatal(err)
	}
	calls := r.argvs()
	if len(calls) != 3 {
		t.Fatalf("%d qdel calls, want 3 (at most %d jobs each)", len(calls), maxCancelArgs)
	}
	if diff := cmp.Diff([]string{"qdel", "7", "8.3", "9.1"}, calls[0][:4]); diff != "" {
		t.Errorf("first call (-want +got):\n%s", diff)
	}
	total := 0
	for _, c := range calls {
		if len(c)-1 > maxCancelArgs {
			t.Errorf("a qdel call has %d jobs, want at most %d", len(c)-1, maxCancelArgs)
		}
		total += len(c) - 1
	}
	if want := 2 + 2*maxCancelArgs; total != want {
		t.Errorf("%d jobs cancelled, want %d (duplicates once)", total, want)
	}
}

func TestCancelRefusesBadTargets(t *testing.T) {
	t.Parallel()
	r := &fakeRunner{respond: func(scheduler.Command) (scheduler.Result, error) { panic("no command expected") }}
	for _, tg := range []scheduler.Target{{ID: "7;rm"}, {ID: ""}, {ID: "7", Index: 0, InArray: true}} {
		err := newTest(t, r).Cancel(context.Background(), scheduler.CancelRequest{Targets: []scheduler.Target{tg}})
		var ve *scheduler.ValueError
		if !errors.As(err, &ve) {
			t.Errorf("Cancel(%+v) = %v, want a *ValueError", tg, err)
		}
	}
}

func TestCancelOtherFailure(t *testing.T) {
	t.Parallel()
	r := &fakeRunner{respond: func(cmd scheduler.Command) (scheduler.Result, error) {
		out := []byte("alice - you do not have the necessary privileges to delete the job \"7\"\n")
		return scheduler.Result{Stdout: out, ExitCode: 1}, &scheduler.CommandError{Argv: cmd.Argv, ExitCode: 1, Stdout: out}
	}}
	err := newTest(t, r).Cancel(context.Background(), scheduler.CancelRequest{Targets: []scheduler.Target{{ID: "7"}}})
	if err == nil {
		t.Fatal("a refused qdel was taken for success")
	}
	if !strings.Contains(err.Error(), "privileges") {
		t.Errorf("error %q does not carry qdel's message", err)
	}
}

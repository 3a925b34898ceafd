package lsf

import (
	"errors"
	"testing"

	"github.com/go-cluster-api/clusterapi/scheduler"
	"github.com/google/go-cmp/cmp"
)

func TestCheckKill(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name           string
		stdout, stderr string
		exit           int
		wantErr        bool
	}{
		{"ok", "bkill/ok.stdout", "", 0, false},
		{"finished and unknown only", "bkill/mixed.stdout", "bkill/mixed.stderr", 255, false},
		{"no match", "", "bkill/no_match.stderr", 255, false},
		{"permission denied", "", "bkill/denied.stderr", 255, true},
		{"illegal -d", "", "bkill/illegal_d.stderr", 255, true},
		{"255 silent", "", "", 255, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res := scheduler.Result{Stdout: readOptional(t, c.stdout), Stderr: readOptional(t, c.stderr), ExitCode: c.exit}
			var runErr error
			if c.exit != 0 {
				runErr = &scheduler.CommandError{Argv: []string{"bkill"}, ExitCode: c.exit, Stdout: res.Stdout, Stderr: res.Stderr}
			}
			if err := checkKill(res, runErr); (err != nil) != c.wantErr {
				t.Fatalf("checkKill = %v, want error: %v", err, c.wantErr)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	illegal := string(mustRead(t, "testdata/bkill/illegal_d.stderr"))
	targets := []scheduler.Target{{ID: "123"}, {ID: "124", Index: 4, InArray: true}}

	t.Run("plain", func(t *testing.T) {
		t.Parallel()
		r := &recorder{replies: []reply{{stdout: "Job <123> is being terminated\n"}}}
		s := newTestScheduler(t, r, scheduler.Options{})
		if err := s.Cancel(t.Context(), scheduler.CancelRequest{Targets: targets}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"bkill", "123", "124[4]"}, r.seen[0].Argv); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("as done falls back once", func(t *testing.T) {
		t.Parallel()
		r := &recorder{replies: []reply{
			{stderr: illegal, exit: 255},
			{stdout: "Job <123> is being terminated\n"},
			{stdout: "Job <9> is being terminated\n"},
			{stdout: "Job <9> is being terminated\n"},
		}}
		s := newTestScheduler(t, r, scheduler.Options{})
		if err := s.Cancel(t.Context(), scheduler.CancelRequest{Targets: targets, AsDone: true}); err != nil {
			t.Fatal(err)
		}
		if err := s.Cancel(t.Context(), scheduler.CancelRequest{Targets: []scheduler.Target{{ID: "9"}}, AsDone: true}); err != nil {
			t.Fatal(err)
		}
		if err := s.CancelName(t.Context(), "capi-*", true); err != nil {
			t.Fatal(err)
		}
		want := [][]string{
			{"bkill", "-d", "123", "124[4]"},
			{"bkill", "123", "124[4]"},
			{"bkill", "9"},
			{"bkill", "-J", "capi-*", "0"},
		}
		var got [][]string
		for _, c := range r.seen {
			got = append(got, c.Argv)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("as done supported", func(t *testing.T) {
		t.Parallel()
		r := &recorder{replies: []reply{{stdout: "Job <5> is being terminated\n"}}}
		s := newTestScheduler(t, r, scheduler.Options{})
		if err := s.CancelName(t.Context(), "x*", true); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"bkill", "-d", "-J", "x*", "0"}, r.seen[0].Argv); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("bounded argv", func(t *testing.T) {
		t.Parallel()
		many := make([]scheduler.Target, 2*MaxKillIDs+1)
		for i := range many {
			many[i] = scheduler.Target{ID: "1"}
		}
		r := &recorder{replies: []reply{{}, {}, {}}}
		s := newTestScheduler(t, r, scheduler.Options{})
		if err := s.Cancel(t.Context(), scheduler.CancelRequest{Targets: many}); err != nil {
			t.Fatal(err)
		}
		if len(r.seen) != 3 || len(r.seen[0].Argv) != MaxKillIDs+1 {
			t.Errorf("%d commands, first with %d args", len(r.seen), len(r.seen[0].Argv))
		}
	})
	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		s := newTestScheduler(t, &recorder{replies: []reply{{stderr: "Job <123>: User permission denied\n", exit: 255}}}, scheduler.Options{})
		err := s.Cancel(t.Context(), scheduler.CancelRequest{Targets: targets})
		var cerr *scheduler.CommandError
		if !errors.As(err, &cerr) {
			t.Fatalf("err = %v, want the CommandError", err)
		}
		err = s.Cancel(t.Context(), scheduler.CancelRequest{Targets: []scheduler.Target{{ID: "12; rm"}}})
		var verr *scheduler.ValueError
		if !errors.As(err, &verr) {
			t.Fatalf("err = %v, want a ValueError", err)
		}
		if err := s.CancelName(t.Context(), "", false); err == nil {
			t.Fatal("empty pattern accepted")
		}
	})
}

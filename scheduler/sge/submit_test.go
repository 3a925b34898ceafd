package sge

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

func TestSubmitRecorded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file      string
		wantID    string
		transient bool
	}{
		{"ok", "56", false},
		{"ok_terse", "57", false},
		{"array", "58", false},
		{"array_terse", "59", false},
		{"array_step_terse", "60", false},
		{"err_bad_option", "", false},
		{"err_unknown_queue", "", false},
		{"err_unknown_resource", "", false},
		{"err_missing_script", "", false},
		{"err_digit_name", "", false},
		{"err_name_with_space", "", false},
		{"err_qmaster_down", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			path := "testdata/qsub/" + tt.file + ".txt"
			c := readCapture(t, path)
			id, err := newTest(t, replay(t, path)).Submit(context.Background(), &scheduler.Job{ScriptPath: "/w/job.1.sh"})
			if tt.wantID != "" {
				if err != nil || id != tt.wantID {
					t.Fatalf("Submit = %q, %v; want %q", id, err, tt.wantID)
				}
				return
			}
			var se *scheduler.SubmitError
			if !errors.As(err, &se) {
				t.Fatalf("Submit error = %v, want a *SubmitError", err)
			}
			if got := errors.Is(err, scheduler.ErrTransient); got != tt.transient {
				t.Errorf("transient = %v, want %v (error: %v)", got, tt.transient, err)
			}
			if want := joinOutput(c.Stdout, c.Stderr); se.Output != want {
				t.Errorf("SubmitError.Output = %q, want qsub's own words %q", se.Output, want)
			}
			var ce *scheduler.CommandError
			if !errors.As(err, &ce) || ce.ExitCode != c.Exit {
				t.Errorf("the *CommandError with exit %d is not reachable from %v", c.Exit, err)
			}
		})
	}
}

func TestSubmitCommand(t *testing.T) {
	t.Parallel()
	ok := readCapture(t, "testdata/qsub/ok_terse.txt")
	r := &fakeRunner{respond: func(cmd scheduler.Command) (scheduler.Result, error) { return ok.result(cmd.Argv) }}
	s := newTest(t, r)
	job := &scheduler.Job{
		ScriptPath: "/w/it's here/job.1.sh",
		Resources:  scheduler.Resources{WorkDir: "/w/it's here"},
		ExtraArgs:  []string{"-P", "proj", "-l", "scratch=1G"},
	}
	if _, err := s.Submit(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	want := scheduler.Command{
		Argv: []string{"qsub", "-terse", "-P", "proj", "-l", "scratch=1G", "/w/it's here/job.1.sh"},
		Dir:  "/w/it's here",
	}
	if diff := cmp.Diff([]scheduler.Command{want}, r.calls); diff != "" {
		t.Errorf("command (-want +got):\n%s", diff)
	}

	// With Debian's binaries called directly, the environment they need
	// comes along, and PWD names the directory qsub runs in.
	r2 := &fakeRunner{respond: r.respond}
	s2 := newTest(t, r2)
	s2.cmds = commands{qsub: "/usr/lib/gridengine/qsub", env: []string{"SGE_ROOT=/var/lib/gridengine", "SGE_CELL=default"}}
	if _, err := s2.Submit(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	want.Argv[0] = "/usr/lib/gridengine/qsub"
	want.Env = []string{"SGE_ROOT=/var/lib/gridengine", "SGE_CELL=default", "PWD=/w/it's here"}
	if diff := cmp.Diff([]scheduler.Command{want}, r2.calls); diff != "" {
		t.Errorf("direct command (-want +got):\n%s", diff)
	}
}

func TestSubmitTimeoutIsTransient(t *testing.T) {
	t.Parallel()
	r := &fakeRunner{respond: func(cmd scheduler.Command) (scheduler.Result, error) {
		return scheduler.Result{}, &scheduler.TimeoutError{Argv: cmd.Argv}
	}}
	_, err := newTest(t, r).Submit(context.Background(), &scheduler.Job{ScriptPath: "/w/j.sh"})
	var te *scheduler.TimeoutError
	if !errors.Is(err, scheduler.ErrTransient) || !errors.As(err, &te) {
		t.Fatalf("Submit error = %v, want a transient error keeping the *TimeoutError", err)
	}
}

func TestSubmitNoID(t *testing.T) {
	t.Parallel()
	r := &fakeRunner{respond: func(scheduler.Command) (scheduler.Result, error) {
		return scheduler.Result{Stdout: []byte("site banner: welcome\n")}, nil
	}}
	_, err := newTest(t, r).Submit(context.Background(), &scheduler.Job{ScriptPath: "/w/j.sh"})
	var se *scheduler.SubmitError
	if !errors.As(err, &se) || se.Output != "site banner: welcome" || errors.Is(err, scheduler.ErrTransient) {
		t.Fatalf("Submit error = %#v, want a permanent *SubmitError keeping the output", err)
	}
}

func TestSubmitNeedsScript(t *testing.T) {
	t.Parallel()
	r := &fakeRunner{respond: func(scheduler.Command) (scheduler.Result, error) { panic("no command expected") }}
	if _, err := newTest(t, r).Submit(context.Background(), &scheduler.Job{}); err == nil {
		t.Fatal("Submit without a script path succeeded")
	}
}

func TestParseSubmit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		out    string
		want   string
		wantOK bool
	}{
		{"571\n", "571", true},
		{"573.1-4:1\n", "573", true},
		{"60.2-10:3\n", "60", true},
		{`Your job 570 ("true") has been submitted` + "\n", "570", true},
		{`Your job-array 572.1-4:1 ("true") has been submitted`, "572", true},
		{"Welcome to the cluster\n  \n3891651\n", "3891651", true},
		{"", "", false},
		{"Unable to run job\n", "", false},
		{"57a\n", "", false},
		{"1.2\n", "", false},
	}
	for _, tt := range tests {
		got, ok := parseSubmit([]byte(tt.out))
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseSubmit(%q) = %q, %v; want %q, %v", tt.out, got, ok, tt.want, tt.wantOK)
		}
	}
}

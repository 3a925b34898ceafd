package lsf

import (
	"errors"
	"testing"

	"github.com/go-cluster-api/clusterapi/scheduler"
	"github.com/google/go-cmp/cmp"
)

func TestParseSubmit(t *testing.T) {
	t.Parallel()
	type want int
	const (
		ok want = iota
		permanent
		transient
	)
	cases := []struct {
		name           string
		stdout, stderr string // fixture paths
		exit           int
		err            error
		want           want
		id             string
	}{
		{"default queue", "bsub/ok_default_queue.stdout", "", 0, nil, ok, "2329803"},
		{"named queue", "bsub/ok_named_queue.stdout", "", 0, nil, ok, "984097"},
		{"noise first", "bsub/ok_with_noise.stdout", "", 0, nil, ok, "235784"},
		{"cannot connect, then ok", "bsub/ok_cannot_connect.stdout", "", 0, nil, ok, "12345678"},
		{"array", "bsub/array_ok.stdout", "", 0, nil, ok, "654321"},
		{"id despite exit 255", "bsub/ok_default_queue.stdout", "bsub/err_non_lsf_host.stderr", 255, nil, ok, "2329803"},
		{"no such queue", "", "bsub/err_no_queue.stderr", 255, nil, permanent, ""},
		{"rusage", "", "bsub/err_resreq.stderr", 255, nil, permanent, ""},
		{"too many procs", "", "bsub/err_too_many_procs.stderr", 255, nil, permanent, ""},
		{"bad option", "", "bsub/err_bad_option.stderr", 255, nil, permanent, ""},
		{"non-LSF host", "", "bsub/err_non_lsf_host.stderr", 255, nil, transient, ""},
		{"please wait only", "bsub/err_please_wait.stdout", "", 255, nil, transient, ""},
		{"255 no output", "", "", 255, nil, transient, ""},
		{"timeout", "", "", -1, &scheduler.TimeoutError{Argv: []string{"bsub"}}, transient, ""},
		{"not installed", "", "", -1, &scheduler.CommandError{Argv: []string{"bsub"}, ExitCode: -1, Err: errors.New("not found")}, permanent, ""},
		{"exit 0 without id", "bsub/err_please_wait.stdout", "", 0, nil, permanent, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res := scheduler.Result{Stdout: readOptional(t, c.stdout), Stderr: readOptional(t, c.stderr), ExitCode: c.exit}
			runErr := c.err
			if runErr == nil && c.exit != 0 {
				runErr = &scheduler.CommandError{Argv: []string{"bsub"}, ExitCode: c.exit, Stdout: res.Stdout, Stderr: res.Stderr}
			}
			id, err := parseSubmit(res, runErr)
			switch c.want {
			case ok:
				if err != nil || id != c.id {
					t.Fatalf("parseSubmit = %q, %v; want %q", id, err, c.id)
				}
				return
			case transient:
				if !errors.Is(err, scheduler.ErrTransient) {
					t.Fatalf("err = %v, want transient", err)
				}
			case permanent:
				if err == nil || errors.Is(err, scheduler.ErrTransient) {
					t.Fatalf("err = %v, want permanent", err)
				}
			}
			var serr *scheduler.SubmitError
			if !errors.As(err, &serr) {
				t.Fatalf("err = %T, want *scheduler.SubmitError", err)
			}
			if !errors.Is(err, scheduler.ErrClusterAPI) {
				t.Error("error does not match ErrClusterAPI")
			}
			if c.stderr != "" && serr.Output == "" {
				t.Error("SubmitError lost LSF's message")
			}
		})
	}
}

func TestSubmitCommand(t *testing.T) {
	t.Parallel()
	for _, noMail := range []bool{false, true} {
		r := &recorder{replies: []reply{{stdout: "Job <7> is submitted to queue <short>.\n"}}}
		s := newTestScheduler(t, r, scheduler.Options{SuppressJobEmail: noMail})
		job := &scheduler.Job{Name: "j", Script: []byte("#!/bin/bash\n#BSUB -J j\ntrue\n"), ExtraArgs: []string{"-P", "cfg", "-G", "job"}}
		id, err := s.Submit(t.Context(), job)
		if err != nil || id != "7" {
			t.Fatalf("Submit = %q, %v", id, err)
		}
		want := scheduler.Command{Argv: []string{"bsub", "-P", "cfg", "-G", "job"}, Stdin: job.Script}
		if noMail {
			want.Env = []string{"LSB_JOB_REPORT_MAIL=N"}
		}
		if diff := cmp.Diff([]scheduler.Command{want}, r.seen); diff != "" {
			t.Errorf("noMail=%v (-want +got):\n%s", noMail, diff)
		}
	}
	s := newTestScheduler(t, &recorder{}, scheduler.Options{})
	if _, err := s.Submit(t.Context(), &scheduler.Job{Name: "j"}); err == nil {
		t.Error("Submit without a script succeeded")
	}
}

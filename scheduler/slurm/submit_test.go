package slurm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
	"github.com/google/go-cmp/cmp"
)

func TestParseSbatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		want   string
		wantOK bool
	}{
		{"5\n", "5", true},
		{"60;ci\n", "60", true}, // recorded with --clusters=ci
		{"Submitted batch job 61\n", "61", true},
		{"Submitted batch job 7 on cluster ci\n", "7", true},
		{"sbatch: Submitted batch job 654321", "654321", true}, // dask-jobqueue's and gc3pie's form
		{"site banner: be nice\n\n  88888  \n\n", "88888", true},
		{"", "", false},
		{"\n\n", "", false},
		{"sbatch: error: nope\n", "", false},
		{"12abc\n", "", false},
		{";ci\n", "", false},
	}
	for _, tt := range tests {
		got, ok := parseSbatch([]byte(tt.in))
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseSbatch(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

// TestSubmitRecorded replays every recorded sbatch outcome through Submit.
func TestSubmitRecorded(t *testing.T) {
	t.Parallel()
	type outcome struct {
		id        string
		transient bool
		refused   bool
	}
	want := map[string]outcome{
		"--parsable ok.sh":                  {id: "59"},
		"--parsable --clusters=ci ok.sh":    {id: "60"},
		"ok.sh":                             {id: "61"},
		"--parsable -p nosuch ok.sh":        {refused: true},
		"--parsable --bogus ok.sh":          {refused: true},
		"--parsable --mem=100G ok.sh":       {refused: true},
		"--parsable -c 8 ok.sh":             {refused: true},
		"--parsable --gpus=1 ok.sh":         {refused: true},
		"--parsable --time=abc ok.sh":       {refused: true},
		"--parsable --account=nosuch ok.sh": {id: "63"},
		"--parsable /nonexistent.sh":        {refused: true},
		"--parsable --wrap true":            {transient: true}, // controller down
		"--wrap true":                       {id: "6"},
		"--bogus --wrap true":               {refused: true},
		"-p nosuch --wrap true":             {refused: true},
		"--time=abc --wrap true":            {refused: true},
		"-c 8 --wrap true":                  {refused: true},
		"-N 2 --wrap true":                  {refused: true},
		"--mem=100G --wrap true":            {refused: true},
		"/nonexistent.sh":                   {refused: true},
		"noshebang.sh":                      {refused: true},
	}
	seen := 0
	for _, file := range mustGlob(t, "testdata/sbatch/*.txt") {
		for _, tr := range readTranscripts(t, file) {
			args, isSbatch := strings.CutPrefix(tr.cmd, "sbatch ")
			if !isSbatch {
				continue
			}
			w, known := want[args]
			if args == "--parsable --wrap true" && tr.exit == 0 {
				w = outcome{id: "5"} // the same command with the controller up
			} else if !known {
				t.Errorf("%s: no expectation for sbatch %s", file, args)
				continue
			}
			seen++
			s, _ := newTestScheduler(t, func(argv []string) (scheduler.Result, error) {
				if tr.exit == 0 {
					return ok(tr.output)
				}
				return exited(argv, tr.exit, "", tr.output)
			})
			id, err := s.Submit(context.Background(), &scheduler.Job{ScriptPath: "/w/job.1.sh"})
			switch {
			case w.id != "":
				if err != nil || id != w.id {
					t.Errorf("sbatch %s: got %q, %v; want id %s", args, id, err, w.id)
				}
			default:
				var serr *scheduler.SubmitError
				if !errors.As(err, &serr) {
					t.Errorf("sbatch %s: err = %v, want a *scheduler.SubmitError", args, err)
					continue
				}
				if got := errors.Is(err, scheduler.ErrTransient); got != w.transient {
					t.Errorf("sbatch %s: transient = %v, want %v (%v)", args, got, w.transient, err)
				}
				firstLine := strings.Join(strings.Fields(strings.Split(tr.output, "\n")[0]), " ")
				if !strings.Contains(err.Error(), firstLine) {
					t.Errorf("sbatch %s: error %q does not carry SLURM's words %q", args, err, tr.output)
				}
			}
		}
	}
	if seen < len(want)-1 {
		t.Errorf("only %d recorded sbatch runs checked", seen)
	}
}

func TestSubmitArgv(t *testing.T) {
	t.Parallel()
	s, f := newTestScheduler(t, func([]string) (scheduler.Result, error) { return ok("42\n") })
	job := &scheduler.Job{ScriptPath: "/w/my job.1.sh", ExtraArgs: []string{"--qos=high", "--exclusive"}}
	if _, err := s.Submit(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"sbatch", "--parsable", "--qos=high", "--exclusive", "/w/my job.1.sh"}}
	if diff := cmp.Diff(want, f.commands()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestSubmitFailures(t *testing.T) {
	t.Parallel()
	timeout := func(argv []string) (scheduler.Result, error) {
		return scheduler.Result{}, &scheduler.TimeoutError{Argv: argv, Timeout: time.Second}
	}
	notFound := func(argv []string) (scheduler.Result, error) {
		return scheduler.Result{ExitCode: -1}, &scheduler.CommandError{Argv: argv, ExitCode: -1, Err: errors.New("executable file not found in $PATH")}
	}
	tests := []struct {
		name      string
		reply     func([]string) (scheduler.Result, error)
		transient bool
	}{
		{"runner timeout", timeout, true},
		// Synthetic messages below, in SLURM's wording (slurm_errno.c and
		// sbatch's retry loop); the real cluster was not made to say them.
		{"socket timeout", func(argv []string) (scheduler.Result, error) {
			return exited(argv, 1, "", "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation\n")
		}, true},
		{"busy controller", func(argv []string) (scheduler.Result, error) {
			return exited(argv, 1, "", "sbatch: error: Slurm temporarily unable to accept job, sleeping and retrying\nsbatch: error: Batch job submission failed: Resource temporarily unavailable\n")
		}, true},
		{"sbatch missing", notFound, false},
		{"exit 0 without id", func([]string) (scheduler.Result, error) { return ok("") }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newTestScheduler(t, tt.reply)
			_, err := s.Submit(context.Background(), &scheduler.Job{ScriptPath: "/w/j.sh"})
			var serr *scheduler.SubmitError
			if !errors.As(err, &serr) {
				t.Fatalf("err = %v, want a *scheduler.SubmitError", err)
			}
			if got := errors.Is(err, scheduler.ErrTransient); got != tt.transient {
				t.Errorf("transient = %v, want %v", got, tt.transient)
			}
		})
	}
}

func TestSubmitNeedsScript(t *testing.T) {
	t.Parallel()
	s, f := newTestScheduler(t, func([]string) (scheduler.Result, error) { return ok("1") })
	if _, err := s.Submit(context.Background(), &scheduler.Job{}); err == nil {
		t.Error("Submit without a script path succeeded")
	}
	if n := len(f.commands()); n != 0 {
		t.Errorf("ran %d commands", n)
	}
}

func TestSubmitCallerCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, _ := newTestScheduler(t, func([]string) (scheduler.Result, error) { return scheduler.Result{}, context.Canceled })
	_, err := s.Submit(ctx, &scheduler.Job{ScriptPath: "/w/j.sh"})
	if !errors.Is(err, context.Canceled) || errors.Is(err, scheduler.ErrTransient) {
		t.Errorf("err = %v, want context.Canceled and not transient", err)
	}
}

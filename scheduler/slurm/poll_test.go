package slurm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/go-cluster-api/clusterapi/scheduler"
	"github.com/google/go-cmp/cmp"
)

func TestPollArgv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		user string
		q    scheduler.Query
		want []string
	}{
		{"own jobs", "alice", scheduler.Query{Prefix: "capi-"},
			append([]string{"squeue", "--states=all", "--user=alice"}, layoutLong.args...)},
		{"all users", "alice", scheduler.Query{AllUsers: true},
			append([]string{"squeue", "--states=all"}, layoutLong.args...)},
		{"user unknown", "", scheduler.Query{},
			append([]string{"squeue", "--states=all", "--me"}, layoutLong.args...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, f := newTestScheduler(t, func([]string) (scheduler.Result, error) { return ok(longHeader + "\n") })
			s.user = tt.user
			if _, err := s.Poll(context.Background(), tt.q); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([][]string{tt.want}, f.commands()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([][]string{{"SLURM_TIME_FORMAT=standard"}}, f.environments()); diff != "" {
				t.Errorf("environment (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPollFiltersByPrefix(t *testing.T) {
	t.Parallel()
	out := readFixture(t, "testdata/squeue/long-final.txt")
	s, _ := newTestScheduler(t, func([]string) (scheduler.Result, error) { return ok(string(out)) })
	got, err := s.Poll(context.Background(), scheduler.Query{Prefix: "arr"})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range got {
		keys = append(keys, fmt.Sprintf("%s_%d %s %s", o.ID, o.Index, o.Name, o.Status))
	}
	want := []string{
		"37_6 arr done", "37_3 arr done", "39_5 arrcancel done", "39_4 arrcancel done", "39_2 arrcancel done",
		"39_1 arrcancel done", "37_5 arr failed", "37_4 arr failed", "37_2 arr failed", "37_1 arr failed",
	}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// longHeader is the header line squeue 22.05.8 prints for layoutLong
// (run by hand on the test cluster).
const longHeader = "ARRAY_JOB_ID|ARRAY_TASK_ID|STATE|REASON|EXIT_CODE|SUBMIT_TIME|START_TIME|END_TIME|NODELIST|NAME"

// Sites wrap squeue in scripts that print lines of their own; gc3pie met
// one printing "Site-specific preamble here." before squeue's output and
// "Additional info." after it. Such lines are skipped and logged at debug
// level, and a queue with no job under a preamble is an empty answer.
func TestPollSkipsSiteNoise(t *testing.T) {
	t.Parallel()
	rows := string(readFixture(t, "testdata/squeue/long-final.txt"))
	tests := []struct {
		name, out string
		want      int // observations
	}{
		{"rows", "Site-specific preamble here.\n" + rows + "\nAdditional info.\n", 26},
		{"empty queue", "Site-specific preamble here.\n" + longHeader + "\n\nAdditional info.\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newTestScheduler(t, func([]string) (scheduler.Result, error) { return ok(tt.out) })
			var log bytes.Buffer
			s.log = slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
			got, err := s.Poll(context.Background(), scheduler.Query{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.want {
				t.Errorf("got %d observations, want %d", len(got), tt.want)
			}
			if !strings.Contains(log.String(), "count=2") || !strings.Contains(log.String(), "Site-specific preamble here.") {
				t.Errorf("debug log does not report the two skipped lines:\n%s", log.String())
			}
		})
	}
}

// An older squeue that rejects a -O field makes the scheduler switch to
// the -o layout once and for all.
func TestPollFallsBackToShortLayout(t *testing.T) {
	t.Parallel()
	short := string(readFixture(t, "testdata/squeue/short-final.txt"))
	s, f := newTestScheduler(t, func(argv []string) (scheduler.Result, error) {
		if argv[len(argv)-2] == "-O" {
			return exited(argv, 1, "", "squeue: error: Invalid job format specification: exit_code\n")
		}
		return ok(short)
	})
	for range 2 {
		got, err := s.Poll(context.Background(), scheduler.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 26 {
			t.Errorf("got %d observations, want 26", len(got))
		}
	}
	var layouts []string
	for _, c := range f.commands() {
		layouts = append(layouts, c[len(c)-2])
	}
	if diff := cmp.Diff([]string{"-O", "-o", "-o"}, layouts); diff != "" {
		t.Errorf("layouts used (-want +got):\n%s", diff)
	}
}

func TestPollErrors(t *testing.T) {
	t.Parallel()
	down := readTranscripts(t, "testdata/sbatch/controller-down.txt")[1] // squeue -h
	tests := []struct {
		name  string
		reply func([]string) (scheduler.Result, error)
	}{
		{"controller down", func(argv []string) (scheduler.Result, error) {
			return exited(argv, down.exit, "", down.output)
		}},
		{"garbage", func([]string) (scheduler.Result, error) { return ok("this is not squeue output\n") }},
		{"rows without the header", func([]string) (scheduler.Result, error) {
			return ok("35|N/A|COMPLETED|None|0|2026-11-24T23:17:59|2026-11-24T23:18:00|2026-11-24T23:18:12|vm|block\n")
		}},
		{"nothing at all", func([]string) (scheduler.Result, error) { return ok("") }},
		{"unreadable row", func([]string) (scheduler.Result, error) {
			return ok(longHeader + "\n35|1-x|PENDING|None|0|2026-11-24T23:17:59|N/A|N/A||block\n")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newTestScheduler(t, tt.reply)
			obs, err := s.Poll(context.Background(), scheduler.Query{})
			if err == nil {
				t.Fatalf("Poll succeeded with %d observations", len(obs))
			}
			if !strings.Contains(err.Error(), "slurm:") {
				t.Errorf("error %q does not name slurm", err)
			}
		})
	}
}

func TestAccount(t *testing.T) {
	t.Parallel()
	out := string(readFixture(t, "testdata/sacct/final.txt"))
	s, f := newTestScheduler(t, func([]string) (scheduler.Result, error) { return ok(out) })
	got, err := s.Account(context.Background(), []string{"34", "37", "46"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 21 {
		t.Errorf("got %d observations, want 21", len(got))
	}
	want := [][]string{{"sacct", "--parsable2", "--jobs=34,37,46",
		"--format=JobID,State,ExitCode,Reason,Submit,Start,End,NodeList,MaxRSS,JobName"}}
	if diff := cmp.Diff(want, f.commands()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]string{{"SLURM_TIME_FORMAT=standard"}}, f.environments()); diff != "" {
		t.Errorf("environment (-want +got):\n%s", diff)
	}
}

func TestAccountChunksLongIDLists(t *testing.T) {
	t.Parallel()
	// sacct -j for ids it does not know prints only its header.
	header := strings.Join(sacctFields, "|") + "\n"
	s, f := newTestScheduler(t, func([]string) (scheduler.Result, error) { return ok(header) })
	ids := make([]string, 1201)
	for i := range ids {
		ids[i] = fmt.Sprint(i + 1)
	}
	if _, err := s.Account(context.Background(), ids); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, c := range f.commands() {
		jobs := strings.TrimPrefix(c[2], "--jobs=")
		sizes = append(sizes, len(strings.Split(jobs, ",")))
	}
	if diff := cmp.Diff([]int{500, 500, 201}, sizes); diff != "" {
		t.Errorf("chunk sizes (-want +got):\n%s", diff)
	}
}

// Without accounting storage, sacct is asked once; later lookups return
// nothing at once, also when many goroutines ask together.
func TestAccountDisabledIsCached(t *testing.T) {
	t.Parallel()
	s, f := newTestScheduler(t, func(argv []string) (scheduler.Result, error) {
		return exited(argv, 1, "", "Slurm accounting storage is disabled\n") // recorded, 22.05.8
	})
	obs, err := s.Account(context.Background(), []string{"1"})
	if obs != nil || err != nil {
		t.Fatalf("Account = %v, %v; want nil, nil", obs, err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if obs, err := s.Account(context.Background(), []string{"2"}); obs != nil || err != nil {
				t.Errorf("Account = %v, %v; want nil, nil", obs, err)
			}
		})
	}
	wg.Wait()
	if n := len(f.commands()); n != 1 {
		t.Errorf("ran %d commands, want 1", n)
	}
}

// A failing slurmdbd is not "no accounting": it is an error, and sacct is
// asked again next time.
func TestAccountFailureIsNotCached(t *testing.T) {
	t.Parallel()
	s, f := newTestScheduler(t, func(argv []string) (scheduler.Result, error) {
		// Synthetic: the wording of SLURM's ESLURM_DB_CONNECTION message.
		return exited(argv, 1, "", "sacct: error: Problem talking to the database: Connection refused\n")
	})
	for range 2 {
		if _, err := s.Account(context.Background(), []string{"1"}); err == nil {
			t.Fatal("Account succeeded")
		}
	}
	if n := len(f.commands()); n != 2 {
		t.Errorf("ran %d commands, want 2", n)
	}
}

func TestAccountRejectsBadIDs(t *testing.T) {
	t.Parallel()
	s, f := newTestScheduler(t, func([]string) (scheduler.Result, error) { return ok("") })
	if _, err := s.Account(context.Background(), []string{"12", "12,13"}); err == nil {
		t.Error("Account accepted an id with a comma")
	}
	if obs, err := s.Account(context.Background(), nil); obs != nil || err != nil {
		t.Errorf("Account(nil) = %v, %v", obs, err)
	}
	if n := len(f.commands()); n != 0 {
		t.Errorf("ran %d commands", n)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	s, f := newTestScheduler(t, func([]string) (scheduler.Result, error) { return ok("") })
	req := scheduler.CancelRequest{Targets: []scheduler.Target{{ID: "12"}, {ID: "13", Index: 4, InArray: true}, {ID: "13", Index: 0, InArray: true}}}
	if err := s.Cancel(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{{"scancel", "12", "13_4", "13_0"}}, f.commands()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCancelErrors(t *testing.T) {
	t.Parallel()
	down := readTranscripts(t, "testdata/sbatch/controller-down.txt")[2] // scancel 99
	s, _ := newTestScheduler(t, func(argv []string) (scheduler.Result, error) {
		return exited(argv, down.exit, "", down.output)
	})
	err := s.Cancel(context.Background(), scheduler.CancelRequest{Targets: []scheduler.Target{{ID: "99"}}})
	var cerr *scheduler.CommandError
	if !errors.As(err, &cerr) || !strings.Contains(err.Error(), "Unable to contact slurm controller") {
		t.Errorf("err = %v, want the CommandError with SLURM's message", err)
	}
	if err := s.Cancel(context.Background(), scheduler.CancelRequest{Targets: []scheduler.Target{{ID: "-1"}}}); err == nil {
		t.Error("Cancel accepted id -1")
	}
}

func TestNewNeedsRunner(t *testing.T) {
	t.Parallel()
	if _, err := New(scheduler.Options{}); err == nil {
		t.Error("New without a runner succeeded")
	}
	s, err := New(scheduler.Options{Runner: &fakeRunner{}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != "slurm" || s.Dialect().DirectivePrefix != "#SBATCH" || s.Dialect().LogArrayJobID != "%A" {
		t.Errorf("Name %q, Dialect %+v", s.Name(), s.Dialect())
	}
}

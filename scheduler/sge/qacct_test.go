package sge

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

func TestParseQacct(t *testing.T) {
	t.Parallel()
	for _, f := range glob(t, "testdata/qacct/*.txt") {
		t.Run(base(f), func(t *testing.T) {
			t.Parallel()
			c := readCapture(t, f)
			var p parsed
			obs, err := parseQacct(c.Stdout, time.UTC)
			if err != nil {
				p.Error = err.Error()
			}
			p.Observations = views(obs)
			golden(t, "qacct/"+base(f), p)
		})
	}
}

// TestQacctOutcomes pins the status decisions of the package documentation
// on the recorded real cases.
func TestQacctOutcomes(t *testing.T) {
	t.Parallel()
	type outcome struct {
		Index    int
		Status   scheduler.Status
		Reason   scheduler.Reason
		ExitCode int
		HasExit  bool
	}
	tests := []struct {
		file string
		want []outcome
	}{
		{"done", []outcome{{0, scheduler.Done, "", 0, true}}},
		{"exit3", []outcome{{0, scheduler.Failed, scheduler.ReasonExitCode, 3, true}}},
		{"cancelled_running", []outcome{{0, scheduler.Killed, scheduler.ReasonCancelled, 0, false}}},
		{"kill9_self", []outcome{{0, scheduler.Killed, scheduler.ReasonCancelled, 0, false}}},
		{"killterm_self", []outcome{{0, scheduler.Failed, scheduler.ReasonExitCode, 143, true}}},
		{"timeout_h_rt", []outcome{{0, scheduler.Failed, scheduler.ReasonTimeout, 0, false}}},
		{"h_vmem", []outcome{{0, scheduler.Done, "", 0, true}}},
		{"eqw_deleted", []outcome{{0, scheduler.Failed, scheduler.ReasonScheduler, 0, false}}},
		{"pe_smp2", []outcome{{0, scheduler.Done, "", 0, true}}},
		{"array", []outcome{
			{1, scheduler.Done, "", 0, true}, {2, scheduler.Done, "", 0, true},
			{3, scheduler.Failed, scheduler.ReasonExitCode, 7, true}, {4, scheduler.Done, "", 0, true},
		}},
		{"array_tc", []outcome{
			{1, scheduler.Done, "", 0, true}, {2, scheduler.Failed, scheduler.ReasonExitCode, 5, true}, {3, scheduler.Done, "", 0, true},
		}},
	}
	for _, tt := range tests {
		c := readCapture(t, "testdata/qacct/"+tt.file+".txt")
		obs, err := parseQacct(c.Stdout, time.UTC)
		if err != nil {
			t.Errorf("%s: %v", tt.file, err)
			continue
		}
		var got []outcome
		for _, o := range obs {
			got = append(got, outcome{o.Index, o.Status, o.Reason, o.ExitCode, o.HasExit})
		}
		slices.SortFunc(got, func(a, b outcome) int { return a.Index - b.Index })
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.file, diff)
		}
	}
}

func TestLimitReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		category, wallclock string
		want                scheduler.Reason
	}{
		{"-l h_rt=5", "6s", scheduler.ReasonTimeout},
		{"-l h_rt=00:00:05", "6", scheduler.ReasonTimeout},
		{"-l h_rt=3600,h_vmem=1G", "12s", scheduler.ReasonOutOfMemory},
		{"-l h_vmem=1G -pe smp 2", "12s", scheduler.ReasonOutOfMemory},
		{"-l h_cpu=10", "30s", scheduler.ReasonTimeout},
		{"NONE", "3s", scheduler.ReasonTimeout},
		{"", "", scheduler.ReasonTimeout},
		{"-l", "x", scheduler.ReasonTimeout},
	}
	for _, tt := range tests {
		if got := limitReason(tt.category, tt.wallclock); got != tt.want {
			t.Errorf("limitReason(%q, %q) = %q, want %q", tt.category, tt.wallclock, got, tt.want)
		}
	}
}

func TestParseQacctLastRecordWins(t *testing.T) {
	t.Parallel()
	// SYNTHETIC: two records of one job, as a rescheduled job leaves them.
	out := []byte(strings.Join([]string{
		strings.Repeat("=", 62),
		"jobnumber    9", "taskid       undefined", "failed       25  : rescheduling", "exit_status  0",
		strings.Repeat("=", 62),
		"jobnumber    9", "taskid       undefined", "failed       0", "exit_status  0",
		"end_time     Tue Nov  4 09:05:01 2026",
	}, "\n"))
	obs, err := parseQacct(out, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if len(obs) != 1 || obs[0].Status != scheduler.Done {
		t.Fatalf("got %+v, want one done observation", obs)
	}
	if want := time.Date(2026, 11, 4, 9, 5, 1, 0, time.UTC); !obs[0].FinishTime.Equal(want) {
		t.Errorf("finish time %v, want %v", obs[0].FinishTime, want)
	}
}

func TestParseQacctRejectsGarbage(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"==========\njobnumber abc\nfailed 0\nexit_status 0\n",
		"==========\njobnumber 5\nfailed x\nexit_status 0\n",
		"==========\njobnumber 5\nfailed 0\n",
		"==========\njobnumber 5\ntaskid 0\nfailed 0\nexit_status 0\n",
	} {
		if obs, err := parseQacct([]byte(in), time.UTC); err == nil {
			t.Errorf("parseQacct(%q) = %+v, want an error", in, obs)
		}
	}
	if obs, err := parseQacct([]byte("Total System Usage\n    WALLCLOCK  UTIME\n=========\n"), time.UTC); err != nil || len(obs) != 0 {
		t.Errorf("summary table: got %v, %v; want nothing", obs, err)
	}
}

func TestAccount(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"3":  "testdata/qacct/done.txt",
		"4":  "testdata/qacct/array.txt",
		"6":  "testdata/qacct/exit3.txt",
		"99": "testdata/qacct/not_found.txt",
	}
	r := &fakeRunner{respond: func(cmd scheduler.Command) (scheduler.Result, error) {
		f, ok := files[cmd.Argv[len(cmd.Argv)-1]]
		if !ok {
			return scheduler.Result{}, fmt.Errorf("unexpected command %q", cmd.Argv)
		}
		return readCapture(t, f).result(cmd.Argv)
	}}
	obs, err := newTest(t, r).Account(context.Background(), []string{"3", "4", "99", "3", "name-*", "6"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range obs {
		got = append(got, fmt.Sprintf("%s.%d %s", o.ID, o.Index, o.Status))
	}
	want := []string{"3.0 done", "4.1 done", "4.2 done", "4.3 failed", "4.4 done", "6.0 failed"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("observations (-want +got):\n%s", diff)
	}
	wantArgv := [][]string{{"qacct", "-j", "3"}, {"qacct", "-j", "4"}, {"qacct", "-j", "99"}, {"qacct", "-j", "6"}}
	if diff := cmp.Diff(wantArgv, r.argvs()); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
}

func TestAccountBoundsLookups(t *testing.T) {
	t.Parallel()
	nf := readCapture(t, "testdata/qacct/not_found.txt")
	r := &fakeRunner{respond: func(cmd scheduler.Command) (scheduler.Result, error) { return nf.result(cmd.Argv) }}
	s := newTest(t, r)
	var ids []string
	for i := 1; i <= 20; i++ {
		ids = append(ids, fmt.Sprint(i))
	}
	asked := map[string]int{}
	for range 3 {
		if _, err := s.Account(context.Background(), ids); err != nil {
			t.Fatal(err)
		}
	}
	calls := r.argvs()
	if len(calls) != 3*maxAccountLookups {
		t.Fatalf("%d qacct calls for 3 lookups, want %d", len(calls), 3*maxAccountLookups)
	}
	for _, c := range calls {
		asked[c[2]]++
	}
	if len(asked) != len(ids) {
		t.Errorf("3 rotating lookups of %d ids asked for %d distinct ids, want all", len(ids), len(asked))
	}
}

func TestAccountFailure(t *testing.T) {
	t.Parallel()
	r := &fakeRunner{respond: func(cmd scheduler.Command) (scheduler.Result, error) {
		return scheduler.Result{ExitCode: -1}, &scheduler.CommandError{Argv: cmd.Argv, ExitCode: -1, Err: errors.New("executable file not found")}
	}}
	obs, err := newTest(t, r).Account(context.Background(), []string{"1"})
	var ce *scheduler.CommandError
	if obs != nil || !errors.As(err, &ce) {
		t.Fatalf("Account = %v, %v; want the command error", obs, err)
	}
}

// A site without accounting for the user (no qacct, or no accounting file)
// is an absent source: nothing to report, no error, and no further calls.
func TestAccountAbsent(t *testing.T) {
	t.Parallel()
	for name, answer := range map[string]func(cmd scheduler.Command) (scheduler.Result, error){
		"qacct not on PATH": func(cmd scheduler.Command) (scheduler.Result, error) {
			return scheduler.Result{ExitCode: -1}, &scheduler.CommandError{Argv: cmd.Argv, ExitCode: -1, Err: fmt.Errorf("qacct: %w", exec.ErrNotFound)}
		},
		// qacct -j 1 -f /nonexistent on SGE 8.1.9 (this project's test cluster).
		"no accounting file": func(cmd scheduler.Command) (scheduler.Result, error) {
			res := scheduler.Result{Stdout: []byte("No jobs running since startup\n"), Stderr: []byte("/var/lib/gridengine/default/common/accounting: No such file or directory\n"), ExitCode: 1}
			return res, &scheduler.CommandError{Argv: cmd.Argv, ExitCode: 1, Stdout: res.Stdout, Stderr: res.Stderr}
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := &fakeRunner{respond: answer}
			s := newTest(t, r)
			for i := range 3 {
				if obs, err := s.Account(context.Background(), []string{"1", "2"}); obs != nil || err != nil {
					t.Fatalf("call %d: Account = %v, %v; want nothing and no error", i+1, obs, err)
				}
			}
			if n := len(r.argvs()); n != 1 {
				t.Errorf("qacct was run %d times, want once (the probe)", n)
			}
		})
	}
}

package sge

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

func TestParseQstat(t *testing.T) {
	t.Parallel()
	for _, f := range glob(t, "testdata/qstat/*.txt") {
		t.Run(base(f), func(t *testing.T) {
			t.Parallel()
			c := readCapture(t, f)
			var p parsed
			obs, skipped, err := parseQstat(c.Stdout, "", time.UTC)
			if err != nil {
				p.Error = err.Error()
			}
			p.Observations, p.Skipped = views(obs), skipped
			golden(t, "qstat/"+base(f), p)
		})
	}
}

// Sites wrap qstat in scripts that print lines of their own. Lines before
// the XML document and after its end are skipped, whatever they hold (an
// '&' or a '<' in them made the XML decoder fail the poll); a document
// without jobs under a preamble is an empty answer.
func TestParseQstatSkipsSiteNoise(t *testing.T) {
	t.Parallel()
	before := []string{"Welcome to the R&D cluster.", "Maintenance on <2026-12-01>: jobs will be held."}
	after := []string{"Additional info: <https://hpc.example.org/status>"}
	wrap := func(doc []byte) []byte {
		return []byte(strings.Join(before, "\n") + "\n" + string(doc) + strings.Join(after, "\n") + "\n")
	}
	for _, f := range []string{"testdata/qstat/running.txt", "testdata/qstat/empty.txt"} {
		t.Run(base(f), func(t *testing.T) {
			t.Parallel()
			c := readCapture(t, f)
			want, _, err := parseQstat(c.Stdout, "", time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			got, skipped, err := parseQstat(wrap(c.Stdout), "", time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("observations (-without noise +with):\n%s", diff)
			}
			if diff := cmp.Diff(append(before, after...), skipped); diff != "" {
				t.Errorf("skipped lines (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPollSkipsSiteNoise(t *testing.T) {
	t.Parallel()
	c := readCapture(t, "testdata/qstat/running.txt")
	c.Stdout = []byte("Welcome to the R&D cluster.\n" + string(c.Stdout) + "Additional info: <https://hpc.example.org/status>\n")
	r := &fakeRunner{respond: func(cmd scheduler.Command) (scheduler.Result, error) { return c.result(cmd.Argv) }}
	s := newTest(t, r)
	var log bytes.Buffer
	s.log = slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	obs, err := s.Poll(context.Background(), scheduler.Query{})
	if err != nil || len(obs) != 5 {
		t.Fatalf("Poll = %d observations, %v; want the 5 jobs of the document", len(obs), err)
	}
	if !strings.Contains(log.String(), "count=2") {
		t.Errorf("debug log does not report the two skipped lines:\n%s", log.String())
	}
}

// Output without the document fails, naming the command and quoting what
// it printed.
func TestParseQstatWithoutDocument(t *testing.T) {
	t.Parallel()
	_, _, err := parseQstat([]byte("qstat: site wrapper: cannot reach the cell\n"), "", time.UTC)
	if err == nil || !strings.Contains(err.Error(), "qstat printed no XML document") || !strings.Contains(err.Error(), `"qstat: site wrapper: cannot reach the cell"`) {
		t.Errorf("err = %v", err)
	}
}

func TestParseQstatPrefix(t *testing.T) {
	t.Parallel()
	c := readCapture(t, "testdata/qstat/states.txt")
	obs, _, err := parseQstat(c.Stdout, "capi-", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range obs {
		got = append(got, o.Name)
	}
	got = slices.Compact(got)
	want := []string{"capi-arr", "capi-susp", "capi-badwd", "capi-arr", "capi-held"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}

func TestParseQstatArrayExpansion(t *testing.T) {
	t.Parallel()
	c := readCapture(t, "testdata/qstat/eqw_array_step.txt")
	obs, _, err := parseQstat(c.Stdout, "capi-arr", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	type el struct {
		Index  int
		Status scheduler.Status
	}
	var got []el
	for _, o := range obs {
		if o.ID != "43" || !o.InArray {
			t.Errorf("observation %+v: want job 43, in an array", o)
		}
		got = append(got, el{o.Index, o.Status})
	}
	want := []el{{1, scheduler.Running}, {3, scheduler.Pending}, {5, scheduler.Pending}, {7, scheduler.Pending}, {9, scheduler.Pending}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("elements of -t 1-9:2 (-want +got):\n%s", diff)
	}
}

func TestMapState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		state  string
		status scheduler.Status
		reason scheduler.Reason
		keep   bool
	}{
		{"qw", scheduler.Pending, "", true},
		{"hqw", scheduler.Pending, "", true},
		{"hRwq", scheduler.Pending, "", true},
		{"Rq", scheduler.Pending, "", true},
		{"r", scheduler.Running, "", true},
		{"t", scheduler.Running, "", true},
		{"Rr", scheduler.Running, "", true},
		{"Rt", scheduler.Running, "", true},
		{"s", scheduler.Running, "", true},
		{"ts", scheduler.Running, "", true},
		{"S", scheduler.Running, "", true},
		{"tS", scheduler.Running, "", true},
		{"T", scheduler.Running, "", true},
		{"RtT", scheduler.Running, "", true},
		{"Eqw", scheduler.Pending, scheduler.ReasonScheduler, true},
		{"Ehqw", scheduler.Pending, scheduler.ReasonScheduler, true},
		{"EhRqw", scheduler.Pending, scheduler.ReasonScheduler, true},
		{"dr", scheduler.Running, scheduler.ReasonCancelled, true},
		{"dt", scheduler.Running, scheduler.ReasonCancelled, true},
		{"dRr", scheduler.Running, scheduler.ReasonCancelled, true},
		{"dS", scheduler.Running, scheduler.ReasonCancelled, true},
		{"dqw", scheduler.Pending, scheduler.ReasonCancelled, true},
		{"d", scheduler.Unknown, "", true},
		{"z", "", "", false},
		{"", scheduler.Unknown, "", true},
		{"X", scheduler.Unknown, "", true},
		{"rX", scheduler.Unknown, "", true},
		{"é", scheduler.Unknown, "", true},
	}
	for _, tt := range tests {
		got, keep := mapState("7", tt.state)
		if keep != tt.keep || got.status != tt.status || got.reason != tt.reason {
			t.Errorf("mapState(%q) = %s/%q keep %v, want %s/%q keep %v", tt.state, got.status, got.reason, keep, tt.status, tt.reason, tt.keep)
		}
		if keep && got.detail == "" {
			t.Errorf("mapState(%q): empty detail", tt.state)
		}
	}
	eqw, _ := mapState("562", "Eqw")
	for _, want := range []string{"qstat -j 562", "qmod -cj 562", "qdel 562"} {
		if !strings.Contains(eqw.detail, want) {
			t.Errorf("Eqw detail %q does not say %q", eqw.detail, want)
		}
	}
}

func TestExpandTasks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec    string
		want    []int
		wantErr bool
	}{
		{"3", []int{3}, false},
		{"1-3:1", []int{1, 2, 3}, false},
		{"3,4", []int{3, 4}, false},
		{"5-9:2", []int{5, 7, 9}, false},
		{"2-10:3", []int{2, 5, 8}, false},
		{"1,5-9:2,12", []int{1, 5, 7, 9, 12}, false},
		{"1-3", []int{1, 2, 3}, false},
		{" 7 ", []int{7}, false},
		{"", nil, true},
		{"0", nil, true},
		{"3-1:1", nil, true},
		{"1-3:0", nil, true},
		{"a-b", nil, true},
		{"1,,2", nil, true},
		{"-1", nil, true},
		{"1-999999999:1", nil, true},
		{"1234567890", nil, true},
	}
	for _, tt := range tests {
		var got []int
		err := expandTasks(tt.spec, maxTasks, func(i int) { got = append(got, i) })
		if (err != nil) != tt.wantErr {
			t.Errorf("expandTasks(%q) error = %v, want error %v", tt.spec, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && !slices.Equal(got, tt.want) {
			t.Errorf("expandTasks(%q) = %v, want %v", tt.spec, got, tt.want)
		}
	}
}

func TestPoll(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		file     string
		q        scheduler.Query
		wantArgv []string
		wantN    int
		wantErr  bool
	}{
		{"own jobs", "testdata/qstat/states.txt", scheduler.Query{Prefix: "capi-"}, []string{"qstat", "-xml", "-u", "alice"}, 8, false},
		{"all users", "testdata/qstat/all_users.txt", scheduler.Query{AllUsers: true}, []string{"qstat", "-xml", "-u", "*"}, 9, false},
		{"qmaster down", "testdata/qstat/qmaster_down.txt", scheduler.Query{}, []string{"qstat", "-xml", "-u", "alice"}, 0, true},
		{"truncated", "testdata/qstat/zombie_truncated.txt", scheduler.Query{}, []string{"qstat", "-xml", "-u", "alice"}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := replay(t, tt.file)
			obs, err := newTest(t, r).Poll(context.Background(), tt.q)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Poll error = %v, want error %v", err, tt.wantErr)
			}
			if len(obs) != tt.wantN {
				t.Errorf("Poll returned %d observations, want %d", len(obs), tt.wantN)
			}
			if diff := cmp.Diff([][]string{tt.wantArgv}, r.argvs()); diff != "" {
				t.Errorf("commands (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPollKeepsCompleteOutputOfFailedCommand(t *testing.T) {
	t.Parallel()
	c := readCapture(t, "testdata/qstat/running.txt")
	r := &fakeRunner{respond: func(cmd scheduler.Command) (scheduler.Result, error) {
		c.Exit = 1
		return c.result(cmd.Argv)
	}}
	obs, err := newTest(t, r).Poll(context.Background(), scheduler.Query{})
	if err != nil || len(obs) != 5 {
		t.Fatalf("Poll = %d observations, %v; want the 5 jobs of the complete document", len(obs), err)
	}
}

func TestPollErrorKeepsCommandError(t *testing.T) {
	t.Parallel()
	obs, err := newTest(t, replay(t, "testdata/qstat/qmaster_down.txt")).Poll(context.Background(), scheduler.Query{})
	var ce *scheduler.CommandError
	if obs != nil || !errors.As(err, &ce) || !errors.Is(err, scheduler.ErrClusterAPI) {
		t.Fatalf("Poll = %v, %v; want a *CommandError", obs, err)
	}
}

func TestPollWithoutUser(t *testing.T) {
	t.Parallel()
	r := replay(t, "testdata/qstat/running.txt")
	s := newTest(t, r)
	s.user = ""
	if _, err := s.Poll(context.Background(), scheduler.Query{}); err == nil {
		t.Fatal("Poll without a user name succeeded; want an error that says what to do")
	}
	if _, err := s.Poll(context.Background(), scheduler.Query{AllUsers: true}); err != nil {
		t.Fatalf("Poll of all users needs no user name: %v", err)
	}
}

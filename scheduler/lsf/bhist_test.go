package lsf

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/go-cluster-api/clusterapi/scheduler"
	"github.com/google/go-cmp/cmp"
)

func TestParseBHistGolden(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"l_done", "l_exit", "l_multi", "volclava_done", "summary"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := parseBHist(mustRead(t, "testdata/bhist/"+name+".txt"), testNow)
			if got == nil {
				got = []scheduler.Observation{}
			}
			golden(t, "bhist/"+name+".json", got)
		})
	}
}

func TestUnwrapBHist(t *testing.T) {
	t.Parallel()
	in := "Thu Apr 18 10:00:40: Submitted from host <st-grid03>, to Queue <normal>, CWD <$\n" +
		"                     HOME>;\n" +
		"Thu Apr 18 10:00:42: Running with execution home </private/havb>, Execution CWD\n" +
		"                      </private/havb>, Execution Pid <31337>;\n"
	want := "Thu Apr 18 10:00:40: Submitted from host <st-grid03>, to Queue <normal>, CWD <$HOME>;\n" +
		"Thu Apr 18 10:00:42: Running with execution home </private/havb>, Execution CWD </private/havb>, Execution Pid <31337>;\n"
	if diff := cmp.Diff(want, unwrapBHist(in)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestAccount(t *testing.T) {
	t.Parallel()
	multi := string(mustRead(t, "testdata/bhist/l_multi.txt"))
	t.Run("chunks and parses", func(t *testing.T) {
		t.Parallel()
		ids := make([]string, MaxAccountIDs+1)
		for i := range ids {
			ids[i] = "554997"
		}
		ids[len(ids)-1] = "554998[3]"
		r := &recorder{replies: []reply{{stdout: multi}, {stdout: "", stderr: "No matching job found\n", exit: 255}}}
		s := newTestScheduler(t, r, scheduler.Options{})
		obs, err := s.Account(t.Context(), ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(obs) != 3 {
			t.Errorf("%d observations, want 3", len(obs))
		}
		if len(r.seen) != 2 {
			t.Fatalf("%d commands, want 2 (argv is bounded at %d ids)", len(r.seen), MaxAccountIDs)
		}
		wantHead := []string{"bhist", "-l", "-a", "-n", bhistLogFiles}
		if diff := cmp.Diff(wantHead, r.seen[0].Argv[:5]); diff != "" {
			t.Errorf("argv head (-want +got):\n%s", diff)
		}
		if got := len(r.seen[0].Argv) - 5; got != MaxAccountIDs {
			t.Errorf("first command has %d ids, want %d", got, MaxAccountIDs)
		}
		if last := r.seen[1].Argv[len(r.seen[1].Argv)-1]; last != "554998[3]" {
			t.Errorf("last id %q", last)
		}
	})
	t.Run("bhist missing is an absent source", func(t *testing.T) {
		t.Parallel()
		// What internal/runner returns when bhist is not on PATH.
		notFound := &scheduler.CommandError{Argv: []string{"bhist"}, ExitCode: -1, Err: fmt.Errorf("bhist: %w", exec.ErrNotFound)}
		r := &recorder{replies: []reply{{err: notFound}}}
		s := newTestScheduler(t, r, scheduler.Options{})
		for i := range 3 {
			if obs, err := s.Account(t.Context(), []string{"1"}); obs != nil || err != nil {
				t.Fatalf("call %d: Account = %v, %v; want nothing and no error", i+1, obs, err)
			}
		}
		if len(r.seen) != 1 {
			t.Errorf("bhist was run %d times, want once (the probe)", len(r.seen))
		}
	})
	t.Run("failure", func(t *testing.T) {
		t.Parallel()
		r := &recorder{replies: []reply{{stderr: "LSF is down. Please wait ...\n", exit: 255}}}
		s := newTestScheduler(t, r, scheduler.Options{})
		if _, err := s.Account(t.Context(), []string{"1"}); err == nil {
			t.Fatal("want an error")
		}
	})
	t.Run("bad id", func(t *testing.T) {
		t.Parallel()
		s := newTestScheduler(t, &recorder{}, scheduler.Options{})
		_, err := s.Account(t.Context(), []string{"1; rm -rf"})
		if err == nil || !strings.Contains(err.Error(), "LSF job id") {
			t.Fatalf("err = %v", err)
		}
	})
}

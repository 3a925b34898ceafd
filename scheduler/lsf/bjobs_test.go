package lsf

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-cluster-api/clusterapi/scheduler"
	"github.com/google/go-cmp/cmp"
)

func TestParseBJobsGolden(t *testing.T) {
	t.Parallel()
	cases := []struct{ stdout, stderr string }{
		{"bjobs/roddy_done.json", ""},
		{"bjobs/mixed_states.json", ""},
		{"bjobs/array.json", ""},
		{"bjobs/array_display_enh.json", ""},
		{"bjobs/time_variants.json", ""},
		{"bjobs/with_noise.json", ""},
		{"bjobs/not_found.json", ""},
		{"bjobs/not_found_jobid.json", ""},
		{"bjobs/empty.json", ""},
		{"", "bjobs/no_unfinished.stderr"},
		{"", "bjobs/no_matching.stderr"},
		{"", "bjobs/not_found.stderr"},
		// ert: found rows on stdout, the unknown id on stderr, exit 255.
		{"bjobs/array.json", "bjobs/not_found.stderr"},
	}
	for _, c := range cases {
		base := func(p string) string {
			return strings.NewReplacer("bjobs/", "", ".json", "", ".stderr", "").Replace(p)
		}
		name := base(c.stdout)
		switch {
		case c.stdout == "":
			name = "stderr_" + base(c.stderr)
		case c.stderr != "":
			name += "_with_stderr_" + base(c.stderr)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, _, err := parseBJobs(readOptional(t, c.stdout), readOptional(t, c.stderr), testNow)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				got = []scheduler.Observation{}
			}
			golden(t, "bjobs/"+name+".json", got)
		})
	}
}

func TestParseBJobsRefusesUnusableOutput(t *testing.T) {
	t.Parallel()
	cases := []struct{ stdout, stderr, want string }{
		{"bjobs/truncated.json", "", "cannot be read"},
		{"bjobs/delim_text.txt", "", "no JSON"},
		{"bjobs/delim_text_gc3pie.txt", "", "no JSON"},
		{"", "bjobs/requires_o.stderr", "You cannot use the -json option"},
	}
	for _, c := range cases {
		t.Run(c.stdout+c.stderr, func(t *testing.T) {
			t.Parallel()
			_, _, err := parseBJobs(readOptional(t, c.stdout), readOptional(t, c.stderr), testNow)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
}

// LSF prints "Please wait" lines before bjobs' document, and sites wrap
// bjobs in scripts that print lines of their own, braces included. Those
// lines are skipped; a preamble with "No unfinished job found" on stderr is
// an empty queue.
func TestParseBJobsSkipsNoise(t *testing.T) {
	t.Parallel()
	array := string(mustRead(t, "testdata/bjobs/array.json"))
	want, _, err := parseBJobs([]byte(array), nil, testNow)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, stdout, stderr string
		want                 []scheduler.Observation
		skipped              []string
	}{
		{"around the document",
			"LSF is processing your request. Please wait ...\n{ site: maintenance on Dec 1 }\n" + array + "Additional info: {see https://hpc.example.org}\n", "",
			want, []string{"LSF is processing your request. Please wait ...", "{ site: maintenance on Dec 1 }", "Additional info: {see https://hpc.example.org}"}},
		{"empty queue under a preamble",
			"Site-specific preamble here.\n", "No unfinished job found\n",
			nil, []string{"Site-specific preamble here."}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, skipped, err := parseBJobs([]byte(c.stdout), []byte(c.stderr), testNow)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("observations (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.skipped, skipped); diff != "" {
				t.Errorf("skipped lines (-want +got):\n%s", diff)
			}
		})
	}
}

// Output without bjobs' document and without a "no job" message fails,
// quoting what bjobs printed.
func TestParseBJobsWithoutDocument(t *testing.T) {
	t.Parallel()
	_, _, err := parseBJobs([]byte("Site-specific preamble here.\n{\"RECORDS\":[]}\n"), nil, testNow)
	if err == nil || !strings.Contains(err.Error(), "no JSON job list") || !strings.Contains(err.Error(), `"Site-specific preamble here."`) {
		t.Errorf("err = %v", err)
	}
}

func TestElementKey(t *testing.T) {
	t.Parallel()
	cases := []struct {
		jobID, jobIndex string
		id              string
		index           int
		inArray, ok     bool
	}{
		{"123", "0", "123", 0, false, true},
		{"123", "", "123", 0, false, true},
		{"123", "-", "123", 0, false, true},
		{"123", "4", "123", 4, true, true},
		{"123[4]", "", "123", 4, true, true},
		{"123[4]", "4", "123", 4, true, true},
		{" 123 ", "0", "123", 0, false, true},
		{"", "1", "", 0, false, false},
		{"abc", "0", "", 0, false, false},
		{"123[x]", "", "", 0, false, false},
		{"[4]", "", "", 0, false, false},
		{"123", "x", "", 0, false, false},
	}
	for _, c := range cases {
		id, index, inArray, ok := elementKey(c.jobID, c.jobIndex)
		if id != c.id || index != c.index || inArray != c.inArray || ok != c.ok {
			t.Errorf("elementKey(%q, %q) = %q, %d, %v, %v; want %q, %d, %v, %v",
				c.jobID, c.jobIndex, id, index, inArray, ok, c.id, c.index, c.inArray, c.ok)
		}
	}
}

func TestPollArgv(t *testing.T) {
	t.Parallel()
	cases := []struct {
		q    scheduler.Query
		want []string
	}{
		{scheduler.Query{}, []string{"bjobs", "-a", "-json", "-o", bjobsFields}},
		{scheduler.Query{Prefix: "capi-", AllUsers: true}, []string{"bjobs", "-a", "-json", "-o", bjobsFields, "-u", "all", "-J", "capi-*"}},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, pollArgv(c.q)); diff != "" {
			t.Errorf("pollArgv(%+v) (-want +got):\n%s", c.q, diff)
		}
	}
}

func TestPoll(t *testing.T) {
	t.Parallel()
	array := string(mustRead(t, "testdata/bjobs/array.json"))
	notFound := string(mustRead(t, "testdata/bjobs/not_found.stderr"))
	cases := []struct {
		name    string
		rep     reply
		wantN   int
		wantErr bool
	}{
		{"ok", reply{stdout: array}, 3, false},
		{"rows and not found, exit 255", reply{stdout: array, stderr: notFound, exit: 255}, 3, false},
		{"no unfinished job, exit 255", reply{stderr: "No unfinished job found\n", exit: 255}, 0, false},
		{"no unfinished job, exit 0", reply{stderr: "No unfinished job found\n"}, 0, false},
		{"mbatchd down", reply{stderr: "LSF is down. Please wait ...\n", exit: 255}, 0, true},
		{"exit 255 no output", reply{exit: 255}, 0, true},
		{"timeout", reply{err: &scheduler.TimeoutError{Argv: []string{"bjobs"}}}, 0, true},
		{"not installed", reply{err: &scheduler.CommandError{Argv: []string{"bjobs"}, ExitCode: -1, Err: errors.New("not found")}}, 0, true},
		{"garbage exit 0", reply{stdout: "{\"RECORDS\":[{"}, 0, true},
		{"noise around the document", reply{stdout: "LSF is processing your request. Please wait ...\n" + array + "Additional info: {see https://hpc.example.org}\n"}, 3, false},
		{"preamble, no unfinished job", reply{stdout: "Site-specific preamble here.\n", stderr: "No unfinished job found\n", exit: 255}, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := &recorder{replies: []reply{c.rep}}
			s := newTestScheduler(t, r, scheduler.Options{})
			obs, err := s.Poll(t.Context(), scheduler.Query{Prefix: "capi-"})
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error: %v", err, c.wantErr)
			}
			if len(obs) != c.wantN {
				t.Errorf("%d observations, want %d", len(obs), c.wantN)
			}
			if len(r.seen) != 1 {
				t.Errorf("%d commands per poll, want 1", len(r.seen))
			}
		})
	}
}

package lsf

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/go-cluster-api/clusterapi/scheduler"
	"github.com/go-cluster-api/clusterapi/scheduler/schedtest"
)

func addFixtures(f *testing.F, glob string) {
	paths, _ := filepath.Glob(filepath.Join("testdata", glob))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzParseBJobs(f *testing.F) {
	addFixtures(f, "bjobs/*")
	f.Add([]byte(`{"RECORDS":[{"JOBID":"1","JOBINDEX":"99999999999999999999","STAT":"EXIT","EXIT_CODE":"-5"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		obs, _, err := parseBJobs(b, b, testNow)
		if err != nil {
			return
		}
		for _, o := range obs {
			if o.ID == "" {
				t.Fatalf("observation without id from %q", b)
			}
			if o.InArray && o.Index < 1 {
				t.Fatalf("array element with index %d", o.Index)
			}
			checkStatus(t, o)
		}
	})
}

// FuzzBJobsNoise checks the promise to sites that wrap bjobs: a line of
// their own before bjobs' output, and after a complete document, changes
// nothing but the lines skipped. A noise line that opens with '{' could be
// the document, so it gets an "x" in front.
func FuzzBJobsNoise(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "bjobs", "*"))
	peer, _ := filepath.Glob(filepath.Join("testdata", "peer", "*.json"))
	for _, p := range append(paths, peer...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "LSF is processing your request. Please wait ...")
	}
	f.Add([]byte(`{"COMMAND":"bjobs","JOBS":1,"RECORDS":[{"JOBID":"7","STAT":"RUN","JOB_NAME":"a}{\"b"}]}`), `} {"COMMAND":"bjobs"`)
	stderr := []byte("No unfinished job found\n")
	f.Fuzz(func(t *testing.T, stdout []byte, noise string) {
		parse := func(b []byte) ([]scheduler.Observation, []string, error) { return parseBJobs(b, stderr, testNow) }
		schedtest.NoiseAroundDocument(t, parse, stdout, noise, "{")
	})
}

func FuzzParseBHist(f *testing.F) {
	addFixtures(f, "bhist/*")
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, o := range parseBHist(b, testNow) {
			if o.ID == "" {
				t.Fatalf("observation without id from %q", b)
			}
			checkStatus(t, o)
		}
	})
}

func FuzzParseSubmit(f *testing.F) {
	addFixtures(f, "bsub/*")
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, exit := range []int{0, 255} {
			var runErr error
			if exit != 0 {
				runErr = &scheduler.CommandError{Argv: []string{"bsub"}, ExitCode: exit, Stdout: b}
			}
			id, err := parseSubmit(scheduler.Result{Stdout: b, ExitCode: exit}, runErr)
			if (id == "") == (err == nil) {
				t.Fatalf("parseSubmit(%q) = %q, %v: want exactly one of id and error", b, id, err)
			}
			if id != "" && !digits(id) {
				t.Fatalf("id %q is not a number", id)
			}
		}
	})
}

func FuzzCheckKill(f *testing.F) {
	addFixtures(f, "bkill/*")
	f.Fuzz(func(t *testing.T, b []byte) {
		cerr := &scheduler.CommandError{Argv: []string{"bkill"}, ExitCode: 255, Stderr: b}
		_ = checkKill(scheduler.Result{Stderr: b, ExitCode: 255}, cerr)
	})
}

func checkStatus(t *testing.T, o scheduler.Observation) {
	t.Helper()
	switch o.Status {
	case scheduler.Pending, scheduler.Running, scheduler.Unknown:
		if !o.FinishTime.IsZero() && o.Status != scheduler.Unknown {
			t.Fatalf("non-terminal %s has a finish time", o.Status)
		}
	case scheduler.Done:
		if o.Reason != scheduler.ReasonNone || !o.HasExit || o.ExitCode != 0 {
			t.Fatalf("done with reason %q, exit %d (has %v); want no reason and exit 0, as on every scheduler", o.Reason, o.ExitCode, o.HasExit)
		}
	case scheduler.Failed, scheduler.Killed:
		if o.Reason == scheduler.ReasonNone {
			t.Fatalf("terminal %s without a reason", o.Status)
		}
	default:
		t.Fatalf("status %q is not a portable status", o.Status)
	}
}

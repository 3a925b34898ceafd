package sge

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
	"github.com/go-cluster-api/clusterapi/scheduler/schedtest"
)

// seedStdout adds the standard output of every recorded capture in dir,
// with extra values for targets that take more than the output.
func seedStdout(f *testing.F, dir string, extra ...any) {
	files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.txt"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		c, err := parseCapture(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]any{c.Stdout}, extra...)...)
	}
}

func checkObservation(t *testing.T, o scheduler.Observation) {
	t.Helper()
	if !isJobID(o.ID) {
		t.Fatalf("observation with job id %q", o.ID)
	}
	if o.InArray && o.Index < 1 {
		t.Fatalf("array element %s with index %d", o.ID, o.Index)
	}
	switch o.Status {
	case scheduler.Pending, scheduler.Running, scheduler.Done, scheduler.Failed, scheduler.Killed, scheduler.Unknown:
	default:
		t.Fatalf("observation %s with status %q", o.ID, o.Status)
	}
}

func FuzzParseQstat(f *testing.F) {
	seedStdout(f, "qstat", "Site-specific preamble here.")
	f.Add([]byte("<job_info><job_info><job_list><JB_job_number>1</JB_job_number><state>qw</state><tasks>1-3:1</tasks></job_list></job_info></job_info>"), "<b>warning</b> & more")
	f.Fuzz(func(t *testing.T, in []byte, noise string) {
		parse := func(b []byte) ([]scheduler.Observation, []string, error) { return parseQstat(b, "", time.UTC) }
		obs, _, err := parse(in)
		if err == nil {
			if len(obs) > maxTasks+1 {
				t.Fatalf("%d observations, over the bound", len(obs))
			}
			for _, o := range obs {
				checkObservation(t, o)
			}
		} else if obs != nil {
			t.Fatal("observations returned with an error")
		}
		schedtest.NoiseAroundDocument(t, parse, in, noise, "<")
	})
}

func FuzzParseQacct(f *testing.F) {
	seedStdout(f, "qacct")
	f.Fuzz(func(t *testing.T, in []byte) {
		obs, err := parseQacct(in, time.UTC)
		if err != nil {
			return
		}
		for _, o := range obs {
			checkObservation(t, o)
			if o.Status == scheduler.Pending || o.Status == scheduler.Running {
				t.Fatalf("accounting says %s is %s", o.ID, o.Status)
			}
		}
	})
}

func FuzzParseSubmit(f *testing.F) {
	seedStdout(f, "qsub")
	f.Fuzz(func(t *testing.T, in []byte) {
		id, ok := parseSubmit(in)
		if ok != (id != "") || (ok && strings.TrimLeft(id, "0123456789") != "") {
			t.Fatalf("parseSubmit(%q) = %q, %v", in, id, ok)
		}
	})
}

func FuzzExpandTasks(f *testing.F) {
	for _, s := range []string{"1", "1-3:1", "3,4", "1,5-9:2,12", "2-10:3", "0", "5-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		n := 0
		err := expandTasks(spec, 1000, func(i int) {
			n++
			if i < 1 {
				t.Fatalf("task %d from %q", i, spec)
			}
		})
		if n > 1000 {
			t.Fatalf("%q expanded to %d tasks, over the budget", spec, n)
		}
		if err != nil && n > 0 && !strings.Contains(spec, ",") {
			t.Fatalf("%q: tasks expanded before the error %v", spec, err)
		}
	})
}

func FuzzMapState(f *testing.F) {
	for _, s := range []string{"qw", "hqw", "Eqw", "dr", "r", "t", "z", "hRwq", "X"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, state string) {
		js, keep := mapState("1", state)
		if keep && js.status == "" {
			t.Fatalf("state %q mapped to no status", state)
		}
	})
}

// FuzzDirectives checks the promise of the quoting rules: whatever the
// name, paths, queue and account, the result is either a *ValueError or
// directive lines that qsub reads back as written (one line each, nothing
// qsub would strip or cut).
func FuzzDirectives(f *testing.F) {
	f.Add("job", "/w", "/w/stdout.$JOB_ID.log", "/w/stderr.$JOB_ID.log", "all.q", "acct")
	f.Add("job", "/home/o'brien/#1", "/home/o'brien/#1/o.log", "/tmp/a b/e:rr", "", "")
	f.Add("1st", "", "a\nb", "x,y", "q q", `a"b`)
	f.Fuzz(func(t *testing.T, name, wd, out, errPath, queue, account string) {
		job := &scheduler.Job{
			Name:       name,
			Resources:  scheduler.Resources{WorkDir: wd, Queue: queue, Account: account, CPUs: 2, Memory: scheduler.GB},
			StdoutPath: out, StderrPath: errPath,
		}
		lines, err := directives(job, settings{pe: "smp", mem: "h_vmem", gpu: "gpu"})
		if err != nil {
			var ve *scheduler.ValueError
			if !errors.As(err, &ve) {
				t.Fatalf("error %v is not a *ValueError", err)
			}
			return
		}
		for _, l := range lines {
			body, ok := strings.CutPrefix(l, "#$ ")
			if !ok {
				t.Fatalf("line %q lacks the prefix", l)
			}
			if strings.ContainsAny(body, "\n\r\x00'#") {
				t.Fatalf("line %q holds a character qsub strips or stops at", l)
			}
			// Double quotes appear only as the wrapping of one value.
			if n := strings.Count(body, `"`); n != 0 && (n != 2 || !strings.HasSuffix(body, `"`)) {
				t.Fatalf("line %q has stray double quotes", l)
			}
			if opt, val, _ := strings.Cut(body, " "); (opt == "-o" || opt == "-e") && strings.Contains(val, ",") {
				t.Fatalf("line %q splits into two paths", l)
			}
		}
	})
}

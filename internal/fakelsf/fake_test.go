package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/fakelsf/fakelsftest"
)

// cluster runs the fake's commands as subprocesses, as a user would.
type cluster struct {
	t   *testing.T
	bin string
	env []string
}

func newCluster(t *testing.T, bin string, env ...string) *cluster {
	c := fakelsftest.NewCluster(t, env...)
	return &cluster{t: t, bin: bin, env: c.Env}
}

type result struct {
	stdout, stderr string
	exit           int
}

func (c *cluster) run(stdin string, name string, args ...string) result {
	c.t.Helper()
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

var submitted = regexp.MustCompile(`^Job <(\d+)> is submitted to (default )?queue <(\w+)>\.$`)

func (c *cluster) submit(script string, args ...string) string {
	c.t.Helper()
	r := c.run(script, "bsub", args...)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	m := submitted.FindStringSubmatch(lines[len(lines)-1])
	if r.exit != 0 || m == nil {
		c.t.Fatalf("bsub: %+v", r)
	}
	return m[1]
}

type record map[string]string

func (c *cluster) bjobs(args ...string) ([]record, result) {
	c.t.Helper()
	r := c.run("", "bjobs", append([]string{"-a", "-json", "-o", "jobid jobindex stat job_name exit_code exit_reason exec_host submit_time start_time finish_time max_mem pend_reason"}, args...)...)
	if r.stdout == "" {
		return nil, r
	}
	var doc struct {
		Command string   `json:"COMMAND"`
		Jobs    int      `json:"JOBS"`
		Records []record `json:"RECORDS"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		c.t.Fatalf("bjobs JSON: %v\n%s", err, r.stdout)
	}
	if doc.Command != "bjobs" || doc.Jobs != len(doc.Records) {
		c.t.Fatalf("bjobs JSON shape: %s", r.stdout)
	}
	return doc.Records, r
}

// waitFinished polls until every element of job id is DONE or EXIT.
func (c *cluster) waitFinished(id string) []record {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		recs, _ := c.bjobs(id)
		done := len(recs) > 0
		for _, r := range recs {
			done = done && (r["STAT"] == "DONE" || r["STAT"] == "EXIT")
		}
		if done {
			return recs
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("job %s did not finish: %v", id, recs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFake(t *testing.T) {
	bin := fakelsftest.Build(t)

	t.Run("bsub output", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t, bin, "FAKELSF_QUEUES=normal,short")
		script := "#!/bin/bash\n#BSUB -J a\ntrue\n"
		if r := c.run(script, "bsub"); !submitted.MatchString(strings.TrimSpace(r.stdout)) || !strings.Contains(r.stdout, "default queue <normal>") {
			t.Errorf("default queue: %+v", r)
		}
		if r := c.run(script, "bsub", "-q", "short"); !strings.Contains(r.stdout, "is submitted to queue <short>.") {
			t.Errorf("named queue: %+v", r)
		}
		if r := c.run("#!/bin/bash\n#BSUB -q short # a comment\ntrue\n", "bsub"); !strings.Contains(r.stdout, "to queue <short>.") {
			t.Errorf("#BSUB -q: %+v", r)
		}
		if r := c.run(script, "bsub", "-q", "rhel7"); r.exit != 255 || r.stdout != "" || r.stderr != "rhel7: No such queue. Job not submitted.\n" {
			t.Errorf("unknown queue: %+v", r)
		}
		if r := c.run(script, "bsub", "-z"); r.exit != 255 || !strings.HasPrefix(r.stderr, "bsub: illegal option -- z\nUsage:") {
			t.Errorf("bad option: %+v", r)
		}
		if r := c.run("#!/bin/bash\n#BSUB -J \"a[1-3%2]\"\ntrue\n", "bsub"); r.exit != 255 || !strings.Contains(r.stderr, "Job not submitted.") {
			t.Errorf("slot limit inside the brackets was accepted: %+v", r)
		}
	})

	t.Run("bsub failure modes", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t, bin, "FAKELSF_FAIL_NEXT_BSUB=1", "FAKELSF_LOSE_NEXT_BSUB=1", "FAKELSF_NOISE=1")
		script := "#!/bin/bash\n#BSUB -J lost\ntrue\n"
		if r := c.run(script, "bsub"); r.exit != 255 || r.stdout != "" || r.stderr != "" {
			t.Errorf("transient failure: %+v", r)
		}
		if recs, _ := c.bjobs(); len(recs) != 0 {
			t.Errorf("a failed bsub created a job: %v", recs)
		}
		if r := c.run(script, "bsub"); r.exit != 255 || r.stdout != "" || r.stderr != "" {
			t.Errorf("accept-and-fail: %+v", r)
		}
		if recs, _ := c.bjobs("-J", "lost"); len(recs) != 1 {
			t.Errorf("accept-and-fail created %d jobs, want 1", len(recs))
		}
		r := c.run(script, "bsub")
		if r.exit != 0 || !strings.HasPrefix(r.stdout, "LSF is processing your request. Please wait ...\n") {
			t.Errorf("noise: %+v", r)
		}
	})

	t.Run("runs jobs", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t, bin)
		work := t.TempDir()
		id := c.submit("#!/bin/bash\n#BSUB -J \"my job\"\n#BSUB -o '" + work + "/out.%J.log'\n#BSUB -cwd " + work + "\necho \"$LSB_JOBID $LSB_JOBINDEX $(pwd)\"\necho err >&2\nexit 3\n")
		recs := c.waitFinished(id)
		want := record{"JOBID": id, "JOBINDEX": "0", "STAT": "EXIT", "JOB_NAME": "my job", "EXIT_CODE": "3", "EXIT_REASON": ""}
		for k, v := range want {
			if recs[0][k] != v {
				t.Errorf("%s = %q, want %q", k, recs[0][k], v)
			}
		}
		for _, k := range []string{"SUBMIT_TIME", "START_TIME", "FINISH_TIME"} {
			if !regexp.MustCompile(`^[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d$`).MatchString(recs[0][k]) {
				t.Errorf("%s = %q, not like \"Dec 28 19:56\"", k, recs[0][k])
			}
		}
		if !regexp.MustCompile(`^\d+ Mbytes$`).MatchString(recs[0]["MAX_MEM"]) {
			t.Errorf("MAX_MEM = %q", recs[0]["MAX_MEM"])
		}
		out, err := os.ReadFile(filepath.Join(work, "out."+id+".log"))
		if err != nil || string(out) != id+" 0 "+work+"\nerr\n" {
			t.Errorf("log = %q, %v", out, err)
		}
		raw := c.run("", "bjobs", "-a", "-json", "-o", "jobid exec_cwd", id)
		if !strings.Contains(raw.stdout, `"EXEC_CWD":"\/`) || !strings.Contains(raw.stdout, "\n  \"RECORDS\":[\n    {\n      \"JOBID\":\""+id+"\",\n") {
			t.Errorf("JSON layout differs from LSF's:\n%s", raw.stdout)
		}
	})

	t.Run("array slot limit", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t, bin)
		work := t.TempDir()
		trace := filepath.Join(work, "trace")
		id := c.submit("#!/bin/bash\n#BSUB -J \"arr[1-5]%2\"\n#BSUB -o " + work + "/out.%J.%I\n" +
			"echo start >> " + trace + "\nsleep 0.2\necho end >> " + trace + "\nexit $LSB_JOBINDEX\n")
		recs := c.waitFinished(id)
		if len(recs) != 5 {
			t.Fatalf("%d elements, want 5", len(recs))
		}
		for i, r := range recs {
			if r["JOBINDEX"] != strconv.Itoa(i+1) || r["JOB_NAME"] != "arr["+strconv.Itoa(i+1)+"]" || r["EXIT_CODE"] != strconv.Itoa(i+1) {
				t.Errorf("element %d: %v", i+1, r)
			}
			if b, err := os.ReadFile(filepath.Join(work, "out."+id+"."+strconv.Itoa(i+1))); err != nil || len(b) != 0 {
				t.Errorf("element log: %q, %v", b, err)
			}
		}
		b, _ := os.ReadFile(trace)
		running, peak := 0, 0
		for _, l := range strings.Fields(string(b)) {
			if l == "start" {
				running++
			} else {
				running--
			}
			peak = max(peak, running)
		}
		// Fewer than 2 at once is possible on a loaded machine; more never is.
		if peak < 1 || peak > 2 {
			t.Errorf("%d elements ran at once, want at most the slot limit 2", peak)
		}
	})

	t.Run("bjobs messages", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t, bin)
		if r := c.run("", "bjobs"); r.exit != 255 || r.stderr != "No unfinished job found\n" || r.stdout != "" {
			t.Errorf("no jobs: %+v", r)
		}
		if r := c.run("", "bjobs", "-a", "-json", "-o", "jobid", "-J", "x*"); r.stderr != "No matching job found\n" || r.stdout != "" {
			t.Errorf("no match: %+v", r)
		}
		if r := c.run("", "bjobs", "-json"); r.exit != 255 || !strings.Contains(r.stderr, "You cannot use the -json option") {
			t.Errorf("-json without -o: %+v", r)
		}
		if r := c.run("", "bjobs", "-a", "-json", "-o", "jobid", "77"); r.exit != 0 || r.stderr != "Job <77> is not found\n" {
			t.Errorf("unknown id: %+v", r)
		}
		id := c.submit("#!/bin/bash\n#BSUB -J n\ntrue\n")
		if recs, r := c.bjobs(id, "78"); len(recs) != 1 || r.exit != 255 || r.stderr != "Job <78> is not found\n" {
			t.Errorf("found and not found: %v %+v", recs, r)
		}
	})

	// A job that traps the signals and keeps going shows which ones LSF
	// sends, in which order (scheduler-formats.md): bkill sends SIGINT and
	// SIGTERM, then SIGKILL; the run limit sends SIGUSR2, then SIGKILL. It
	// waits in the wait builtin, which a trapped signal interrupts at once.
	stubborn := "#!/bin/bash\n#BSUB -J stubborn\n" +
		"for s in INT TERM USR2; do trap \"echo $s >> \\\"$PWD/signals.$LSB_JOBID\\\"\" $s; done\n" +
		"touch \"started.$LSB_JOBID\"; while :; do sleep 1 & wait $!; done\n"
	signalsOf := func(t *testing.T, dir, id string) string {
		b, _ := os.ReadFile(filepath.Join(dir, "signals."+id))
		return strings.Join(strings.Fields(string(b)), " ")
	}
	waitStarted := func(t *testing.T, dir, id string) {
		deadline := time.Now().Add(15 * time.Second)
		for {
			if _, err := os.Stat(filepath.Join(dir, "started."+id)); err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s never started", id)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	t.Run("bkill sends INT and TERM, then KILL", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t, bin)
		dir := t.TempDir()
		id := c.submit(stubborn, "-cwd", dir)
		waitStarted(t, dir, id)
		if r := c.run("", "bkill", id); r.exit != 0 {
			t.Fatalf("bkill: %+v", r)
		}
		rec := c.waitFinished(id)[0]
		if got := signalsOf(t, dir, id); got != "INT TERM" {
			t.Errorf("the job caught %q, want INT and TERM", got)
		}
		if rec["STAT"] != "EXIT" || rec["EXIT_REASON"] != "TERM_OWNER: job killed by owner" || rec["EXIT_CODE"] != "137" {
			t.Errorf("a job that survived INT and TERM: %v, want EXIT 137 (SIGKILL) by owner", rec)
		}
	})

	t.Run("run limit sends USR2, then KILL", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t, bin, "FAKELSF_MINUTE=1")
		dir := t.TempDir()
		id := c.submit(stubborn, "-cwd", dir, "-W", "1")
		waitStarted(t, dir, id)
		rec := c.waitFinished(id)[0]
		if got := signalsOf(t, dir, id); got != "USR2" {
			t.Errorf("the job caught %q, want USR2", got)
		}
		if rec["STAT"] != "EXIT" || rec["EXIT_REASON"] != "TERM_RUNLIMIT: job killed after reaching LSF run time limit" || rec["EXIT_CODE"] != "137" {
			t.Errorf("a job past its run limit: %v, want EXIT 137 TERM_RUNLIMIT", rec)
		}
		quick := c.submit("#!/bin/bash\n#BSUB -J quick\ntrue\n", "-W", "1")
		if rec := c.waitFinished(quick)[0]; rec["STAT"] != "DONE" {
			t.Errorf("a job well within its run limit: %v", rec)
		}
	})

	t.Run("bkill", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t, bin)
		long := "#!/bin/bash\n#BSUB -J sleeper\nsleep 30\n"
		a, b, d := c.submit(long), c.submit(long), c.submit("#!/bin/bash\n#BSUB -J other\nsleep 30\n")
		done := c.submit("#!/bin/bash\n#BSUB -J quick\ntrue\n")
		c.waitFinished(done)
		r := c.run("", "bkill", a, done, "999")
		if r.exit != 255 || r.stdout != "Job <"+a+"> is being terminated\n" ||
			r.stderr != "Job <"+done+">: Job has already finished\nJob <999>: No matching job found\n" {
			t.Errorf("mixed bkill: %+v", r)
		}
		rec := c.waitFinished(a)[0]
		if rec["STAT"] != "EXIT" || rec["EXIT_REASON"] != "TERM_OWNER: job killed by owner" || (rec["EXIT_CODE"] != "143" && rec["EXIT_CODE"] != "130") {
			t.Errorf("killed job: %v", rec)
		}
		if r := c.run("", "bkill", "-d", b); r.exit != 0 {
			t.Errorf("bkill -d: %+v", r)
		}
		if rec := c.waitFinished(b)[0]; rec["STAT"] != "DONE" {
			t.Errorf("bkill -d recorded %v", rec)
		}
		if r := c.run("", "bkill", "-J", "oth*", "0"); r.exit != 0 || r.stdout != "Job <"+d+"> is being terminated\n" {
			t.Errorf("bkill -J: %+v", r)
		}
		c.waitFinished(d)
		if r := c.run("", "bkill", "-J", "oth*", "0"); r.exit != 255 || r.stderr != "No matching job found\n" {
			t.Errorf("bkill -J nothing left: %+v", r)
		}
		old := newCluster(t, bin, "FAKELSF_NO_BKILL_D=1")
		if r := old.run("", "bkill", "-d", "1"); r.exit != 255 || !strings.HasPrefix(r.stderr, "bkill: Illegal option -- d\nUsage: bkill") {
			t.Errorf("old LSF bkill -d: %+v", r)
		}
	})

	t.Run("clean period and bhist", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t, bin, "FAKELSF_CLEAN_PERIOD=0")
		id := c.submit("#!/bin/bash\n#BSUB -J aged\nexit 3\n")
		deadline := time.Now().Add(15 * time.Second)
		for {
			r := c.run("", "bhist", "-l", id)
			if strings.Contains(r.stdout, "Completed <exit>") {
				if !strings.Contains(r.stdout, "Exited with exit code 3.") || !strings.HasPrefix(r.stdout, "\nJob <"+id+">, Job Name <aged>") {
					t.Errorf("bhist -l:\n%s", r.stdout)
				}
				for _, l := range strings.Split(r.stdout, "\n") {
					if len(l) > 80 {
						t.Errorf("bhist line longer than 80 columns: %q", l)
					}
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("bhist never showed the end: %+v", r)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if recs, r := c.bjobs(); len(recs) != 0 || r.stderr != "No job found\n" {
			t.Errorf("finished job still visible after CLEAN_PERIOD: %v %+v", recs, r)
		}
		if r := c.run("", "bhist", "-l", "4242"); r.exit != 255 || r.stderr != "No matching job found\n" {
			t.Errorf("bhist unknown: %+v", r)
		}
	})
}

func TestParseJobName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in      string
		name    string
		indices []int
		limit   int
		bad     bool
	}{
		{"job", "job", nil, 0, false},
		{"a[1-3]", "a", []int{1, 2, 3}, 0, false},
		{"a[1-5:2,8]%2", "a", []int{1, 3, 5, 8}, 2, false},
		{"a[1-3%2]", "", nil, 0, true},
		{"a[0-3]", "", nil, 0, true},
		{"a[3-1]", "", nil, 0, true},
		{"[1-2]", "", nil, 0, true},
		{"a[1-2]x", "", nil, 0, true},
	}
	for _, c := range cases {
		name, idx, limit, err := parseJobName(c.in)
		if (err != nil) != c.bad || name != c.name || limit != c.limit || len(idx) != len(c.indices) {
			t.Errorf("parseJobName(%q) = %q %v %d %v", c.in, name, idx, limit, err)
		}
	}
}

func TestSplitDirective(t *testing.T) {
	t.Parallel()
	cases := map[string][]string{
		` -J name`:               {"-J", "name"},
		` -R "span[hosts=1]"`:    {"-R", "span[hosts=1]"},
		` -o "/a b/c" # comment`: {"-o", "/a b/c"},
		` -cwd '/say "hi"'`:      {"-cwd", `/say "hi"`},
		` -q short # queue`:      {"-q", "short"},
		` -o "/run #2/x"`:        {"-o", "/run #2/x"},
		` -J "arr[1-50]%10"`:     {"-J", "arr[1-50]%10"},
	}
	for in, want := range cases {
		got, err := splitDirective(in)
		if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("splitDirective(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := splitDirective(` -o "open`); err == nil {
		t.Error("unmatched quote accepted")
	}
}

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/fakelsf/fakelsftest"
)

// TestFaults covers the fault settings, switched through the settings file
// while the cluster runs, as the fault-injection suite switches them.
func TestFaults(t *testing.T) {
	bin := fakelsftest.Build(t)
	const script = "#!/bin/bash\n#BSUB -J f\ntrue\n"

	t.Run("settings file overrides the environment", func(t *testing.T) {
		t.Parallel()
		fc, c := faultCluster(t, bin, "FAKELSF_DOWN=bjobs")
		if r := c.run("", "bjobs", "-a"); r.exit != 255 || r.stdout != "" || r.stderr != "LSF is down. Please wait ...\n" {
			t.Errorf("bjobs with FAKELSF_DOWN=bjobs in the environment: %+v", r)
		}
		fc.Set(t, "FAKELSF_DOWN=")
		if r := c.run("", "bjobs", "-a"); r.exit != 255 || r.stderr != "No job found\n" {
			t.Errorf("bjobs after the settings file cleared FAKELSF_DOWN: %+v", r)
		}
		fc.Set(t, "FAKELSF_NOISE=1")
		if r := c.run(script, "bsub"); r.exit != 0 || !strings.HasPrefix(r.stdout, "LSF is processing your request") {
			t.Errorf("bsub with FAKELSF_NOISE=1 from the settings file: %+v", r)
		}
	})

	t.Run("down", func(t *testing.T) {
		t.Parallel()
		fc, c := faultCluster(t, bin)
		id := c.submit("#!/bin/bash\n#BSUB -J long\nsleep 30\n")
		fc.Set(t, "FAKELSF_DOWN=bsub, bkill")
		if r := c.run(script, "bsub"); r.exit != 255 || r.stdout != "" || r.stderr != "LSF is down. Please wait ...\n" {
			t.Errorf("bsub while down: %+v", r)
		}
		if r := c.run("", "bkill", id); r.exit != 255 || r.stdout != "" || !strings.Contains(r.stderr, "LSF is down") {
			t.Errorf("bkill while down: %+v", r)
		}
		recs, r := c.bjobs()
		if r.exit != 0 || len(recs) != 1 || recs[0]["JOBID"] != id || recs[0]["STAT"] == "EXIT" {
			t.Errorf("bjobs, which is not down, after bsub and bkill were: %v %+v", recs, r)
		}
		fc.Set(t, "FAKELSF_DOWN=all")
		for _, name := range []string{"bjobs", "bhist"} {
			if r := c.run("", name, id); r.exit != 255 || r.stderr != "LSF is down. Please wait ...\n" {
				t.Errorf("%s with FAKELSF_DOWN=all: %+v", name, r)
			}
		}
		fc.Set(t, "FAKELSF_DOWN=")
		if r := c.run("", "bkill", id); r.exit != 0 {
			t.Errorf("bkill after the outage: %+v", r)
		}
		if rec := c.waitFinished(id)[0]; rec["STAT"] != "EXIT" {
			t.Errorf("killed job: %v", rec)
		}
	})

	t.Run("hang", func(t *testing.T) {
		t.Parallel()
		fc, c := faultCluster(t, bin)
		fc.Set(t, "FAKELSF_BJOBS_HANG=0.5")
		start := time.Now()
		r := c.run("", "bjobs")
		if took := time.Since(start); took < 500*time.Millisecond || r.stderr != "No unfinished job found\n" {
			t.Errorf("bjobs with a 0.5 s hang answered after %v: %+v", took, r)
		}
		fc.Set(t, "FAKELSF_BJOBS_HANG=0.2-0.4")
		start = time.Now()
		c.run("", "bjobs")
		if took := time.Since(start); took < 200*time.Millisecond {
			t.Errorf("bjobs with a 0.2-0.4 s hang answered after %v", took)
		}
		fc.Set(t, "FAKELSF_BJOBS_HANG=", "FAKELSF_BHIST_HANG=0.3")
		start = time.Now()
		if r := c.run("", "bhist", "-l", "1"); time.Since(start) < 300*time.Millisecond || r.stderr != "No matching job found\n" {
			t.Errorf("bhist with a 0.3 s hang answered after %v: %+v", time.Since(start), r)
		}
	})

	t.Run("bjobs slow", func(t *testing.T) {
		t.Parallel()
		fc, c := faultCluster(t, bin)
		long := c.submit("#!/bin/bash\n#BSUB -J long\nsleep 30\n")
		// Running before the slow bjobs reads the state (under load the
		// supervisor may take a while to start it).
		deadline := time.Now().Add(15 * time.Second)
		for recs, _ := c.bjobs(long); len(recs) != 1 || recs[0]["STAT"] != "RUN"; recs, _ = c.bjobs(long) {
			if time.Now().After(deadline) {
				t.Fatalf("job %s never ran: %v", long, recs)
			}
			time.Sleep(20 * time.Millisecond)
		}
		fc.Set(t, "FAKELSF_BJOBS_SLOW=1")
		start := time.Now()
		late, out := c.start("", "bjobs", "-a", "-json", "-o", "jobid stat", long)
		time.Sleep(300 * time.Millisecond) // bjobs has read the state by now
		if r := c.run("", "bkill", long); r.exit != 0 {
			t.Errorf("bkill: %+v", r)
		}
		c.waitFinished(long)
		late.Wait()
		// What it printed after the kill is how the job was before it.
		if time.Since(start) < time.Second || !strings.Contains(out.String(), `"STAT":"RUN"`) {
			t.Errorf("a late bjobs answered after %v: %s", time.Since(start), out.String())
		}
	})

	t.Run("bjobs truncated", func(t *testing.T) {
		t.Parallel()
		fc, c := faultCluster(t, bin)
		c.waitFinished(c.submit(script))
		whole := c.run("", "bjobs", "-a", "-json", "-o", "jobid stat")
		fc.Set(t, "FAKELSF_BJOBS_TRUNCATE=40")
		cut := c.run("", "bjobs", "-a", "-json", "-o", "jobid stat")
		if len(whole.stdout) <= 40 || cut.stdout != whole.stdout[:40] || cut.exit != 0 {
			t.Errorf("truncated to 40 bytes: %+v, whole: %+v", cut, whole)
		}
		fc.Set(t, "FAKELSF_BJOBS_TRUNCATE=100000")
		if r := c.run("", "bjobs", "-a", "-json", "-o", "jobid stat"); r.stdout != whole.stdout {
			t.Errorf("a limit above the output's size cut it: %q", r.stdout)
		}
	})

	t.Run("pend", func(t *testing.T) {
		t.Parallel()
		fc, c := faultCluster(t, bin)
		fc.Set(t, "FAKELSF_PEND=1")
		start := time.Now()
		id := c.submit(script)
		if recs, _ := c.bjobs(id); len(recs) != 1 || (recs[0]["STAT"] != "PEND" && time.Since(start) < time.Second) {
			t.Errorf("a job right after bsub with FAKELSF_PEND=1: %v", recs)
		}
		c.waitFinished(id)
		if time.Since(start) < time.Second {
			t.Errorf("the job ended %v after bsub, before FAKELSF_PEND passed", time.Since(start))
		}
		pending := c.submit(script)
		if r := c.run("", "bkill", pending); r.exit != 0 {
			t.Errorf("bkill of a pending job: %+v", r)
		}
		if rec := c.waitFinished(pending)[0]; rec["STAT"] != "EXIT" || rec["EXIT_REASON"] != "TERM_OWNER: job killed by owner" {
			t.Errorf("a job killed while it pended: %v", rec)
		}
	})

	t.Run("bsub delay", func(t *testing.T) {
		t.Parallel()
		fc, c := faultCluster(t, bin)
		fc.Set(t, "FAKELSF_BSUB_DELAY=1")
		start := time.Now()
		bsub, out := c.start(script, "bsub")
		// bjobs answers within moments; the job is not there yet.
		if recs, _ := c.bjobs(); len(recs) != 0 && time.Since(start) < time.Second {
			t.Errorf("the job exists before FAKELSF_BSUB_DELAY passed: %v", recs)
		}
		if err := bsub.Wait(); err != nil || time.Since(start) < time.Second || !submitted.MatchString(strings.TrimSpace(out.String())) {
			t.Errorf("bsub: %v after %v: %q", err, time.Since(start), out.String())
		}
	})

	t.Run("bsub reply delay", func(t *testing.T) {
		t.Parallel()
		fc, c := faultCluster(t, bin)
		fc.Set(t, "FAKELSF_BSUB_REPLY_DELAY=30")
		bsub, out := c.start(script, "bsub")
		deadline := time.Now().Add(15 * time.Second)
		for {
			if recs, _ := c.bjobs(); len(recs) == 1 {
				break
			}
			if time.Now().After(deadline) {
				bsub.Process.Kill()
				bsub.Wait()
				t.Fatal("the job never appeared while bsub waited to answer")
			}
			time.Sleep(20 * time.Millisecond)
		}
		// The caller gives up (or is killed) before the answer: the job
		// exists and runs, and nothing was printed.
		bsub.Process.Kill()
		bsub.Wait()
		if out.Len() != 0 {
			t.Errorf("bsub printed %q before its reply delay", out.String())
		}
		recs := c.waitFinished("1")
		if len(recs) != 1 || recs[0]["STAT"] != "DONE" || recs[0]["JOB_NAME"] != "f" {
			t.Errorf("the job whose bsub was killed: %v", recs)
		}
	})
}

// start runs an LSF command without waiting for it; its standard output
// and error go to the returned buffer.
func (c *cluster) start(stdin, name string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	c.t.Helper()
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	return cmd, &out
}

// faultCluster is a fake cluster of its own with settings (fault knobs
// switched later with fc.Set), and the commands run against it.
func faultCluster(t *testing.T, bin string, settings ...string) (*fakelsftest.Cluster, *cluster) {
	fc := fakelsftest.NewCluster(t, settings...)
	return fc, &cluster{t: t, bin: bin, env: fc.Env}
}

package integration

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/fakelsf/fakelsftest"
)

// TestFaultInjection drives the capi binary end to end on the fake LSF
// through the faults of issue #12: bjobs down, hung, late or answering half
// a document, bhist hung, bsub failing before or after it created the job
// or outliving a capi that was SIGKILLed in the middle of submits, several
// capi processes on the same jobs, and jobs that end and leave bjobs while
// no capi runs. Every
// scenario checks what capi recorded against how each job really ended and
// against the cluster's own list, and logs a summary line of its figures:
// wrong final states, lost and duplicated jobs, crashes, and records that
// moved backwards (in `capi status` samples and in the store's history).
//
// Zombie time is 3 s (zombie_timeout_minutes 0.05) and polls every 0.2 s,
// so each fault lasts well beyond the zombie timeout.
func TestFaultInjection(t *testing.T) {
	capiBin := buildCapi(t)
	fakeBin := fakelsftest.Build(t)

	t.Run("bjobs outage longer than zombie_timeout", func(t *testing.T) {
		t.Parallel()
		faultWindow(t, capiBin, fakeBin, "", "FAKELSF_DOWN=all")
	})
	t.Run("bjobs hangs past command_timeout", func(t *testing.T) {
		t.Parallel()
		faultWindow(t, capiBin, fakeBin, "command_timeout: 1\n", "FAKELSF_BJOBS_HANG=3")
	})
	t.Run("bjobs prints truncated JSON", func(t *testing.T) {
		t.Parallel()
		faultWindow(t, capiBin, fakeBin, "", "FAKELSF_BJOBS_TRUNCATE=120")
	})
	t.Run("bjobs answers later than the poll lease lasts", func(t *testing.T) {
		t.Parallel()
		lateBjobs(t, capiBin, fakeBin)
	})
	t.Run("bhist hangs while jobs end", func(t *testing.T) {
		t.Parallel()
		bhistHangs(t, capiBin, fakeBin)
	})
}

// faultWindow submits jobs, starts a `capi wait` for all of them and a
// status sampler, then applies the fault (fakelsftest settings) for 6 s,
// twice the zombie timeout: meanwhile most jobs end and leave bjobs
// (CLEAN_PERIOD 1 s), among them a program killed by SIGKILL (the job's
// shell records 137) and a job whose shell itself is SIGKILLed, which
// leaves no exit file (bhist knows it). After the fault a `capi cancel`
// ends the last one. Nothing may be declared vanished because of the fault,
// and everything must end as it really did.
func faultWindow(t *testing.T, capiBin, fakeBin, config string, fault ...string) {
	e := newFaultEnv(t, capiBin, fakeBin, config, "FAKELSF_CLEAN_PERIOD=1")
	ids := []string{
		e.submit("ok", "sleep 2", wantDone()),
		e.submit("fail", "sleep 2; exit 3", wantFailed(3)),
		e.submit("late", "sleep 4", wantDone()),
		e.submit("progkill", "sleep 2; kill -KILL $$", wantFailed(137)),
		e.submit("shellkill", "sleep 2; kill -KILL $PPID", wantFailed(137)),
	}
	long := e.submit("long", "sleep 60", wantKilled())
	e.waitFake("the jobs to start", 15*time.Second, running("ok", "fail", "late", "progkill", "shellkill", "long"))
	stop := e.sample()
	defer stop()
	wait := e.start(append([]string{"wait"}, append(ids, long)...)...)
	time.Sleep(500 * time.Millisecond) // the wait and the sampler see the jobs running

	polls := e.calls("bjobs")
	e.cluster.Set(t, fault...)
	time.Sleep(6 * time.Second)
	if !ended("ok", "fail", "progkill", "shellkill")(e.accepted()) {
		t.Errorf("the short jobs did not end during the fault: %+v", e.accepted())
	}
	var clear []string
	for _, kv := range fault {
		k, _, _ := strings.Cut(kv, "=")
		clear = append(clear, k+"=")
	}
	e.cluster.Set(t, clear...)
	// capi kept asking meanwhile (every 0.2 s, or every second when each
	// bjobs is killed at the 1 s command_timeout).
	if n := e.calls("bjobs") - polls; n < 4 {
		t.Errorf("capi ran bjobs %d times during the 6 s fault; want it to keep polling", n)
	}

	if o := e.run(nil, "cancel", long); o.code != 0 {
		t.Errorf("capi cancel %s after the fault: exit %d: %s", long, o.code, o.stderr)
	}
	if o := e.wait(wait, 30*time.Second, 1); o.code != 1 {
		t.Errorf("capi wait: exit %d, want 1 (a job failed)\n%s%s", o.code, o.stdout, o.stderr)
	}
	stop()
	e.status()
	e.check()
}

// bhistHangs: accounting hangs (bhist past command_timeout) while jobs
// end. One job ended and left bjobs before capi looked, without an exit
// file, so every poll asks bhist about it and waits for the 1 s timeout,
// longer than a poll lease of 0.3 s. Three waits and a sampler follow the
// jobs. When bhist answers again, that job is settled from it.
//
// Final states in the job store used to go back (done -> pending -> done
// -> running -> done), each written by a `capi wait` whose poll had read
// bjobs before the job ended: the lease expired while its holder waited
// for bhist, so several processes polled at once, and the store took the
// scheduler's later word over its final state as if for a requeue.
func bhistHangs(t *testing.T, capiBin, fakeBin string) {
	e := newFaultEnv(t, capiBin, fakeBin, "command_timeout: 1\n", "FAKELSF_CLEAN_PERIOD=1", "FAKELSF_PEND=1")
	ids := []string{e.submit("gone", "kill -KILL $PPID", wantFailed(137))}
	e.waitFake("the first job to end", 15*time.Second, allFinished(1))
	time.Sleep(1500 * time.Millisecond) // it leaves bjobs
	e.cluster.Set(t, "FAKELSF_BHIST_HANG=5")
	var names []string
	for i := range 6 {
		w, script := wantDone(), "sleep 0.5"
		if i%3 == 2 {
			w, script = wantFailed(4), "sleep 0.5; exit 4"
		}
		names = append(names, "end"+strconv.Itoa(i))
		ids = append(ids, e.submit(names[i], script, w))
	}
	stop := e.sample()
	defer stop()
	args := append([]string{"wait"}, ids...)
	waits := []*background{e.start(args...), e.start(args...), e.start(args...)}
	e.waitFake("the jobs to end", 15*time.Second, ended(names...))
	time.Sleep(time.Second)
	e.cluster.Set(t, "FAKELSF_BHIST_HANG=")
	for i, w := range waits {
		if o := e.wait(w, 30*time.Second, 1); o.code != 1 {
			t.Errorf("capi wait #%d: exit %d, want 1\n%s%s", i+1, o.code, o.stdout, o.stderr)
		}
	}
	stop()
	e.status()
	e.check()
}

// lateBjobs: every bjobs answers 0.1 to 0.9 s after it read the queue,
// often later than a poll lease lasts (one and a half poll intervals of
// 0.2 s); jobs pend for a second before they run. Three waits and two samplers follow them: an
// answer that arrives late must not write over a newer one.
func lateBjobs(t *testing.T, capiBin, fakeBin string) {
	e := newFaultEnv(t, capiBin, fakeBin, "", "FAKELSF_PEND=1", "FAKELSF_BJOBS_SLOW=0.1-0.9")
	var ids []string
	for i := range 6 {
		w, script := wantDone(), fmt.Sprintf("sleep %.1f", 0.5+0.2*float64(i))
		if i%3 == 2 {
			w, script = wantFailed(4), script+"; exit 4"
		}
		ids = append(ids, e.submit("late"+strconv.Itoa(i), script, w))
	}
	stop1, stop2 := e.sample(), e.sample()
	defer stop1()
	defer stop2()
	args := append([]string{"wait"}, ids...)
	waits := []*background{e.start(args...), e.start(args...), e.start(args...)}
	for i, w := range waits {
		if o := e.wait(w, 30*time.Second, 1); o.code != 1 {
			t.Errorf("capi wait #%d: exit %d, want 1\n%s%s", i+1, o.code, o.stdout, o.stderr)
		}
	}
	stop1()
	stop2()
	e.status()
	e.check()
}

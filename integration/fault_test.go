package integration

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
	noBhist := fakelsftest.Without(t, fakeBin, "bhist")

	for _, c := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"bjobs outage longer than zombie_timeout", func(t *testing.T) { faultWindow(t, capiBin, fakeBin, "", "FAKELSF_DOWN=all") }},
		{"bjobs hangs past command_timeout", func(t *testing.T) { faultWindow(t, capiBin, fakeBin, "command_timeout: 1\n", "FAKELSF_BJOBS_HANG=3") }},
		{"bjobs prints truncated JSON", func(t *testing.T) { faultWindow(t, capiBin, fakeBin, "", "FAKELSF_BJOBS_TRUNCATE=120") }},
		{"bsub fails transiently or accepts then fails", func(t *testing.T) { bsubFaults(t, capiBin, fakeBin) }},
		{"200 submits in 20 processes SIGKILLed half way", func(t *testing.T) { sigkilledSubmits(t, capiBin, fakeBin) }},
		{"bjobs answers later than the poll lease lasts", func(t *testing.T) { lateBjobs(t, capiBin, fakeBin) }},
		{"bhist hangs while jobs end", func(t *testing.T) { bhistHangs(t, capiBin, fakeBin) }},
		{"bsub reply lost while other jobs have the same name", func(t *testing.T) { sameNameLostReply(t, capiBin, fakeBin) }},
		{"SIGKILLed while bsub waits for mbatchd", func(t *testing.T) { sigkilledWhileBsubWaits(t, capiBin, fakeBin) }},
		{"two waits and a status sampler", func(t *testing.T) { twoWaits(t, capiBin, fakeBin) }},
		{"jobs age out of bjobs while no capi runs", func(t *testing.T) { agedOut(t, capiBin, fakeBin, true) }},
		{"jobs age out of bjobs while no capi runs, without bhist", func(t *testing.T) { agedOut(t, capiBin, noBhist, false) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t)
		})
	}
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

// bsubFaults: bsub exits 255 without creating the job (twice), then
// creates it and still exits 255 without a word (twice), then mbatchd is
// down for bsub for a while; every capi submit must end with exactly one
// job.
func bsubFaults(t *testing.T, capiBin, fakeBin string) {
	e := newFaultEnv(t, capiBin, fakeBin, "", "FAKELSF_FAIL_NEXT_BSUB=2", "FAKELSF_LOSE_NEXT_BSUB=2")
	var ids []string
	// The first uses up both silent failures and one lost reply; the
	// second meets the other lost reply.
	ids = append(ids, e.submit("a", "exit 0", wantDone()), e.submit("b", "exit 3", wantFailed(3)), e.submit("c", "exit 0", wantDone()))

	e.cluster.Set(t, "FAKELSF_DOWN=bsub")
	e.expect("down", wantDone())
	sub := e.start("submit", "--name", "down", "--", "sh", "-c", "exit 0")
	time.Sleep(1500 * time.Millisecond)
	e.cluster.Set(t, "FAKELSF_DOWN=")
	if o := e.wait(sub, 30*time.Second); o.code != 0 {
		t.Errorf("capi submit while bsub was down for 1.5 s: exit %d: %s", o.code, o.stderr)
	} else {
		ids = append(ids, strings.TrimSpace(o.stdout))
	}

	if o := e.run([]int{1}, append([]string{"wait"}, ids...)...); o.code != 1 {
		t.Errorf("capi wait: exit %d, want 1\n%s%s", o.code, o.stdout, o.stderr)
	}
	e.status()
	e.check()
}

// twoWaits: two `capi wait` processes and a status sampler follow the same
// jobs, which end in every way: done, failed, cancelled by capi (killed,
// and as done), killed by bkill behind capi's back, and stopped at their
// run limit.
func twoWaits(t *testing.T, capiBin, fakeBin string) {
	e := newFaultEnv(t, capiBin, fakeBin, "", "FAKELSF_MINUTE=2")
	ids := []string{
		e.submit("quick", "exit 0", wantDone()),
		e.submit("slow", "sleep 2", wantDone()),
		e.submit("three", "sleep 1; exit 3", wantFailed(3)),
		e.submit("five", "exit 5", wantFailed(5)),
	}
	cancelled := e.submit("cancelled", "sleep 60", wantKilled())
	asDone := e.submit("asdone", "sleep 60", want{status: "done"})
	bkilled := e.submit("bkilled", "sleep 60", wantKilled())
	e.expect("runlimit", want{status: "failed", reasons: []string{"timeout"}})
	o := e.run(nil, "submit", "--name", "runlimit", "--walltime", "0:01", "--", "sleep", "60")
	if o.code != 0 {
		t.Fatalf("capi submit --walltime: exit %d: %s", o.code, o.stderr)
	}
	ids = append(ids, cancelled, asDone, bkilled, strings.TrimSpace(o.stdout))

	stop := e.sample()
	defer stop()
	args := append([]string{"wait"}, ids...)
	w1, w2 := e.start(args...), e.start(args...)
	e.waitFake("the long jobs to start", 15*time.Second, running("cancelled", "asdone", "bkilled"))
	time.Sleep(500 * time.Millisecond)
	if o := e.run(nil, "cancel", cancelled); o.code != 0 {
		t.Errorf("capi cancel: exit %d: %s", o.code, o.stderr)
	}
	if o := e.run(nil, "cancel", "--done", asDone); o.code != 0 {
		t.Errorf("capi cancel --done: exit %d: %s", o.code, o.stderr)
	}
	if o := e.lsf("bkill", bkilled); o.code != 0 {
		t.Errorf("bkill %s: %+v", bkilled, o)
	}
	for i, w := range []*background{w1, w2} {
		o := e.wait(w, 30*time.Second, 1)
		if o.code != 1 || strings.Count(o.stdout, "\n") != len(ids) {
			t.Errorf("capi wait #%d: exit %d, want 1 and one line per job\n%s%s", i+1, o.code, o.stdout, o.stderr)
		}
	}
	stop()
	e.status()
	e.check()
}

// agedOut: jobs end, one killed by bkill, one whose program is killed by
// SIGKILL and one whose shell is (it leaves no exit file), and leave bjobs
// while no capi process runs; then capi looks. With bhist the scheduler's
// accounting says how each ended; without it the exit files do, and the
// job without one, which no source knows, is failed and vanished after the
// zombie timeout.
func agedOut(t *testing.T, capiBin, fakeBin string, bhist bool) {
	e := newFaultEnv(t, capiBin, fakeBin, "", "FAKELSF_CLEAN_PERIOD=1")
	shellKilled := wantFailed(137)
	if !bhist {
		shellKilled = want{status: "failed", reasons: []string{"vanished"}}
	}
	ids := []string{
		e.submit("ok", "exit 0", wantDone()),
		e.submit("fail", "sleep 0.5; exit 3", wantFailed(3)),
		e.submit("progkill", "kill -KILL $$", wantFailed(137)),
		e.submit("shellkill", "kill -KILL $PPID", shellKilled),
	}
	// The command marks that it runs: the job script's traps, which
	// record the signal bkill sends, are set before it. LSF saying RUN is
	// not enough under load: a signal between the job's start and its
	// traps ends it with no exit file, and it vanishes.
	started := filepath.Join(e.dir, "bkilled.started")
	bkilled := e.submit("bkilled", ": > "+started+"; sleep 60", wantKilled())
	ids = append(ids, bkilled)
	e.waitFake("the job to kill to start", 15*time.Second, running("bkilled"))
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the job to kill never ran its command")
		}
	}
	if o := e.lsf("bkill", bkilled); o.code != 0 {
		t.Errorf("bkill %s: %+v", bkilled, o)
	}
	e.waitFake("every job to end", 15*time.Second, allFinished(len(ids)))
	time.Sleep(2 * time.Second) // CLEAN_PERIOD 1 s: bjobs has forgotten them

	stop := e.sample()
	defer stop()
	if o := e.run([]int{1}, append([]string{"wait"}, ids...)...); o.code != 1 {
		t.Errorf("capi wait: exit %d, want 1\n%s%s", o.code, o.stdout, o.stderr)
	}
	stop()
	e.status()
	e.check()
}

// sigkilledSubmits: 20 processes submit 10 jobs each, one `capi submit`
// after another; when the cluster has accepted half of the 200, every
// capi submit still running is SIGKILLed, between any two of its steps
// (bsub takes 0.2 s to answer, so many die while bsub is out). The bsubs
// they started finish on their own. Then a new `capi status` must list
// every job the cluster accepted exactly once (by id, or as an unknown
// submission of its name until a poll settles it), and `capi wait` on all
// of them must end with their real states.
func sigkilledSubmits(t *testing.T, capiBin, fakeBin string) {
	e := newFaultEnv(t, capiBin, fakeBin, "", "FAKELSF_BSUB_REPLY_DELAY=0.2")
	const procs, each = 20, 10
	var (
		mu      sync.Mutex
		stopped bool
		live    = map[*exec.Cmd]bool{}
		wg      sync.WaitGroup
	)
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				name, code := fmt.Sprintf("k%02d-%d", p, i), 0
				if (p+i)%3 == 0 {
					code = 3
				}
				w := wantDone()
				if code != 0 {
					w = wantFailed(code)
				}
				args := []string{"submit", "--name", name, "--", "sh", "-c", "exit " + strconv.Itoa(code)}
				cmd := e.command(args...)
				var errOut bytes.Buffer
				cmd.Stderr = &errOut
				mu.Lock()
				if stopped {
					mu.Unlock()
					return
				}
				e.expect(name, w)
				start := time.Now()
				if err := cmd.Start(); err != nil {
					mu.Unlock()
					t.Errorf("capi submit: %v", err)
					return
				}
				live[cmd] = true
				mu.Unlock()
				cmd.Wait()
				mu.Lock()
				delete(live, cmd)
				mu.Unlock()
				ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
				e.record(capiRun{args: args, start: start, end: time.Now(), code: cmd.ProcessState.ExitCode(),
					stderr: errOut.String(), killed: ws.Signaled() && ws.Signal() == syscall.SIGKILL})
			}
		}()
	}
	e.waitFake("half the submissions", time.Minute, func(jobs []fakeJob) bool { return len(jobs) >= procs*each/2 })
	mu.Lock()
	stopped = true
	killed := len(live)
	for cmd := range live {
		cmd.Process.Signal(syscall.SIGKILL)
	}
	mu.Unlock()
	wg.Wait()
	e.orphans(15 * time.Second)
	interrupted := e.openIntents()

	// The new process: everything the cluster accepted is listed once.
	recs := e.status()
	byID, byName := map[string]int{}, map[string]int{}
	unsettled := 0
	for _, r := range recs {
		if r.ID != "" {
			byID[r.ID]++
		} else {
			byName[r.Name]++
			unsettled++
		}
	}
	jobs := e.accepted()
	for _, j := range jobs {
		if n := byID[strconv.Itoa(j.ID)] + byName[j.Name]; n != 1 {
			t.Errorf("the first capi status after the kill lists job %d (%s) %d times, want once", j.ID, j.Name, n)
		}
	}
	t.Logf("%d capi submit processes SIGKILLed, leaving %d submissions without an outcome; the cluster accepted %d jobs; the first capi status after listed %d records, %d of them without an id yet",
		killed, interrupted, len(jobs), len(recs), unsettled)

	// Polls settle them; then every accepted job can be waited for.
	ids := e.settled(jobs, 30*time.Second)
	if o := e.run([]int{1}, append([]string{"wait"}, ids...)...); o.code != 1 {
		t.Errorf("capi wait on the %d jobs: exit %d, want 1 (some exit 3)\n%s", len(ids), o.code, o.stderr)
	}
	e.status()
	e.check()
}

// sameNameLostReply: `capi submit -- sh -c ...` names every job "flt-sh".
// bsub creates a job and exits 255 without a word, as LSF does when its
// reply is lost; capi must find the job it created before retrying. Two
// jobs of that name exist already, but capi's store has both with their
// ids: the new one is the only job of that name that capi does not know.
//
// Capi used to count as tracked only the jobs in its own memory: submit
// exited 3 ("3 untracked jobs are named flt-sh (1, 2, 3) ... not
// resubmitting") and the job stayed unknown.
func sameNameLostReply(t *testing.T, capiBin, fakeBin string) {
	e := newFaultEnv(t, capiBin, fakeBin, "")
	var ids []string
	lost := 0
	for _, loseReply := range []bool{true, false, true} {
		if loseReply {
			lost++
			e.cluster.Set(t, "FAKELSF_LOSE_NEXT_BSUB="+strconv.Itoa(lost))
		}
		e.expect("sh", wantDone())
		o := e.run(nil, "submit", "--", "sh", "-c", "exit 0")
		if o.code != 0 {
			t.Errorf("capi submit -- sh -c 'exit 0' (bsub's reply lost: %v), with %d jobs of that name in the store: exit %d: %s", loseReply, len(ids), o.code, o.stderr)
			continue
		}
		ids = append(ids, strings.TrimSpace(o.stdout))
	}
	if o := e.run(nil, append([]string{"wait"}, ids...)...); o.code != 0 {
		t.Errorf("capi wait: exit %d, want 0\n%s%s", o.code, o.stdout, o.stderr)
	}
	e.status()
	e.check()
}

// sigkilledWhileBsubWaits: capi submit is SIGKILLed while its bsub still
// waits for mbatchd (FAKELSF_BSUB_DELAY; a real bsub retries for as long
// as LSB_NTRIES allows, unlimited by default), and a new capi process
// looks before that bsub has created the job. The bsub goes on and creates
// it a moment later: capi must still end up knowing it (README: "a crash
// at any instant loses no submitted job").
//
// The owner's death does not end its bsub. Capi used to record such a
// submission as failed at the first poll after the kill that saw no job
// of its name, and every one of these jobs was lost.
func sigkilledWhileBsubWaits(t *testing.T, capiBin, fakeBin string) {
	e := newFaultEnv(t, capiBin, fakeBin, "", "FAKELSF_BSUB_DELAY=2")
	const n = 5
	var subs []*background
	for i := range n {
		name := "w" + strconv.Itoa(i)
		e.expect(name, wantDone())
		subs = append(subs, e.start("submit", "--name", name, "--", "sh", "-c", "exit 0"))
	}
	deadline := time.Now().Add(15 * time.Second)
	for e.bsubs() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d bsubs started", e.bsubs(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, b := range subs {
		b.cmd.Process.Signal(syscall.SIGKILL)
		<-b.done
		e.record(capiRun{args: b.args, start: b.start, end: time.Now(), code: -1, killed: true})
	}
	if jobs := e.accepted(); len(jobs) != 0 {
		t.Fatalf("the cluster has jobs before bsub's delay passed: %+v", jobs)
	}

	// The new process runs while the orphaned bsubs still wait.
	listed := map[string]int{}
	for _, r := range e.status() {
		listed[r.Name]++
	}
	for i := range n {
		if name := faultPrefix + "-w" + strconv.Itoa(i); listed[name] != 1 {
			t.Errorf("capi status while bsub still waits lists %s %d times, want once", name, listed[name])
		}
	}
	e.orphans(15 * time.Second)
	e.waitFake("the orphaned bsubs' jobs", 15*time.Second, allFinished(n))

	ids := e.settled(e.accepted(), 10*time.Second)
	if len(ids) > 0 {
		if o := e.run(nil, append([]string{"wait"}, ids...)...); o.code != 0 {
			t.Errorf("capi wait: exit %d\n%s", o.code, o.stderr)
		}
	}
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

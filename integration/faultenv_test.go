package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/fakelsf/fakelsftest"
	"github.com/go-cluster-api/clusterapi/internal/proctest"
	"github.com/go-cluster-api/clusterapi/internal/store"
)

// faultPrefix is the job_name_prefix of every fault scenario: the fake
// cluster's jobs of that name are the ones capi must know.
const faultPrefix = "flt"

// faultEnv is one fault scenario: a fake LSF cluster, and a home (work
// dir, config, state dir) shared by every capi process the scenario runs.
// It records every capi run, samples what `capi status --json` shows
// while faults come and go, and knows how each job must end (the truth),
// so that check can count wrong, lost and duplicated jobs, crashes and
// records that moved backwards.
type faultEnv struct {
	t       *testing.T
	began   time.Time
	name    string
	capi    string
	cluster *fakelsftest.Cluster
	dir     string
	env     []string

	mu sync.Mutex
	// truth says how the job of each name (without the prefix) must end.
	truth map[string]want
	// intended counts the jobs the scenario means to create per name
	// (without the prefix): more in the cluster are duplicates.
	intended  map[string]int
	submitted int
	runs      []capiRun
	// seen is what each observer (a sampler, or the scenario's own
	// status commands) saw of each job id, in order, with repeats left
	// out. Each observer runs one capi status after another, so its
	// sequence is in time order; two observers' are not comparable (the
	// one that started later may have read the store before the other
	// wrote what its own bjobs said).
	seen     map[string]map[string][]seenState
	samples  int
	samplers int
}

// want is how a job must end: a status, and when set an exit code and a
// reason (a list: any of them).
type want struct {
	status  string
	exit    *int
	reasons []string
}

func wantDone() want { return want{status: "done"} }

func wantFailed(code int) want {
	return want{status: "failed", exit: &code, reasons: []string{"exit_code"}}
}

func wantKilled() want { return want{status: "killed", reasons: []string{"cancelled"}} }

func (w want) String() string {
	s := w.status
	if w.exit != nil {
		s += " exit " + strconv.Itoa(*w.exit)
	}
	if len(w.reasons) > 0 {
		s += " (" + strings.Join(w.reasons, "|") + ")"
	}
	return s
}

// seenState is a job's state as one observer showed it.
type seenState struct {
	status, reason string
	exit           *int
	by             string    // "status" (a sample) or "store" (the event log)
	at             time.Time // when the sample was taken or the event recorded
}

func (s seenState) String() string {
	out := s.status
	if s.exit != nil {
		out += " exit " + strconv.Itoa(*s.exit)
	}
	if s.reason != "" {
		out += " (" + s.reason + ")"
	}
	return out
}

func (s seenState) same(o seenState) bool {
	return s.status == o.status && s.reason == o.reason && sameExit(s.exit, o.exit)
}

func sameExit(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// capiRun is one finished capi process.
type capiRun struct {
	args       []string
	start, end time.Time
	code       int
	stderr     string
	allowed    []int // exit codes that are outcomes, not failures of capi
	killed     bool  // the scenario killed it
}

// crashed says whether the run is a crash: a panic or runtime error on
// stderr, or an exit code at or above 2 that the scenario did not expect.
func (r capiRun) crashed() bool {
	if strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "fatal error:") || strings.Contains(r.stderr, "goroutine ") {
		return true
	}
	return !r.killed && r.code >= 2 && !slices.Contains(r.allowed, r.code)
}

// newFaultEnv builds a scenario's world. fakeBin holds the fake LSF
// commands; clusterEnv are the cluster's FAKELSF_* settings; config adds
// lines to capi's cluster_api.yaml.
func newFaultEnv(t *testing.T, capiBin, fakeBin string, config string, clusterEnv ...string) *faultEnv {
	t.Helper()
	dir := jobDir(t)
	cfg := "executor: lsf\njob_name_prefix: " + faultPrefix + "\npoll_interval: 0.2\nzombie_timeout_minutes: 0.05\n" + config
	if err := os.WriteFile(filepath.Join(dir, "cluster_api.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cluster := fakelsftest.NewCluster(t, clusterEnv...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CLUSTER_API_CONFIG=") && !strings.HasPrefix(kv, "XDG_") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	env = append(env, "PATH="+fakeBin+string(os.PathListSeparator)+os.Getenv("PATH"), "HOME="+dir,
		"XDG_STATE_HOME="+filepath.Join(dir, "state"), faultMarker+"="+dir, "FAKELSF_CALL_LOG="+filepath.Join(dir, "calls.log"))
	env = append(env, cluster.Env...)
	return &faultEnv{t: t, began: time.Now(), name: t.Name(), capi: capiBin, cluster: cluster, dir: dir, env: env,
		truth: map[string]want{}, intended: map[string]int{}, seen: map[string]map[string][]seenState{}}
}

// faultMarker is set in the environment of every process a scenario
// starts (capi, and through it bsub and the fake's job supervisors), so
// that the scenario can find the ones a killed capi left behind.
const faultMarker = "CAPI_FAULT_SCENARIO"

func (e *faultEnv) command(args ...string) *exec.Cmd {
	cmd := exec.Command(e.capi, args...)
	cmd.Dir, cmd.Env = e.dir, e.env
	return cmd
}

// outcome is what a capi process did.
type outcome struct {
	stdout, stderr string
	code           int
}

// run runs capi to its end. allowed are the exit codes that are outcomes
// of the command (0 always is); any other code of 2 or more counts as a
// crash.
func (e *faultEnv) run(allowed []int, args ...string) outcome {
	e.t.Helper()
	cmd := e.command(args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("capi %s: %v", strings.Join(args, " "), err)
	}
	cmd.Wait()
	o := outcome{out.String(), errOut.String(), cmd.ProcessState.ExitCode()}
	e.record(capiRun{args: args, start: start, end: time.Now(), code: o.code, stderr: o.stderr, allowed: allowed})
	return o
}

func (e *faultEnv) record(r capiRun) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.runs = append(e.runs, r)
}

// expect records how the job named name must end, and that the scenario
// means to create one more job of that name.
func (e *faultEnv) expect(name string, w want) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.truth[name] = w
	e.intended[name]++
	e.submitted++
}

// submit runs `capi submit --name name -- sh -c script` and returns the
// job id, after recording how the job must end.
func (e *faultEnv) submit(name, script string, w want) string {
	e.t.Helper()
	e.expect(name, w)
	o := e.run(nil, "submit", "--name", name, "--", "sh", "-c", script)
	if o.code != 0 {
		e.t.Errorf("capi submit %s: exit %d: %s", name, o.code, o.stderr)
		return ""
	}
	return strings.TrimSpace(o.stdout)
}

// background is a capi process running while the scenario goes on.
type background struct {
	start    time.Time
	cmd      *exec.Cmd
	args     []string
	out, err bytes.Buffer
	done     chan struct{}
}

// start starts capi without waiting for it. The scenario must call wait;
// a test that ends early kills it.
func (e *faultEnv) start(args ...string) *background {
	e.t.Helper()
	b := &background{start: time.Now(), cmd: e.command(args...), args: args, done: make(chan struct{})}
	b.cmd.Stdout, b.cmd.Stderr = &b.out, &b.err
	if err := b.cmd.Start(); err != nil {
		e.t.Fatalf("capi %s: %v", strings.Join(args, " "), err)
	}
	go func() {
		b.cmd.Wait()
		close(b.done)
	}()
	e.t.Cleanup(func() {
		b.cmd.Process.Kill()
		<-b.done
	})
	return b
}

// wait waits up to timeout for the process to end by itself (then kills
// it and fails the test) and records the run.
func (e *faultEnv) wait(b *background, timeout time.Duration, allowed ...int) outcome {
	e.t.Helper()
	select {
	case <-b.done:
	case <-time.After(timeout):
		b.cmd.Process.Kill()
		<-b.done
		e.t.Errorf("capi %s still running after %v; killed. stderr:\n%s", strings.Join(b.args, " "), timeout, b.err.String())
	}
	o := outcome{b.out.String(), b.err.String(), b.cmd.ProcessState.ExitCode()}
	e.record(capiRun{args: b.args, start: b.start, end: time.Now(), code: o.code, stderr: o.stderr, allowed: allowed})
	return o
}

// listed is a record of `capi status --json`.
type listed struct {
	ID       string `json:"job_id"`
	Name     string `json:"name"`
	Status   string `json:"status"`
	Reason   string `json:"reason"`
	ExitCode *int   `json:"exit_code"`
	Detail   string `json:"detail"`
}

// status runs `capi status --json` once, adds what it shows to the
// scenario's own samples and returns it.
func (e *faultEnv) status() []listed {
	e.t.Helper()
	return e.statusAs("status")
}

// statusAs runs `capi status --json` for the observer named who.
func (e *faultEnv) statusAs(who string) []listed {
	e.t.Helper()
	at := time.Now()
	o := e.run(nil, "status", "--json")
	if o.code != 0 {
		return nil
	}
	var recs []listed
	if err := json.Unmarshal([]byte(o.stdout), &recs); err != nil {
		e.t.Errorf("capi status --json printed what is not a list of records (%v):\n%s", err, o.stdout)
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.samples++
	seen := e.seen[who]
	if seen == nil {
		seen = map[string][]seenState{}
		e.seen[who] = seen
	}
	for _, r := range recs {
		if r.ID == "" {
			continue // a submission not settled yet: it has no id to follow
		}
		s := seenState{status: r.Status, reason: r.Reason, exit: r.ExitCode, by: who, at: at}
		if h := seen[r.ID]; len(h) == 0 || !h[len(h)-1].same(s) {
			seen[r.ID] = append(h, s)
		}
	}
	return recs
}

// sample runs `capi status --json` over and over until the returned stop
// is called (which waits for the last one to end).
func (e *faultEnv) sample() (stop func()) {
	e.mu.Lock()
	e.samplers++
	who := "sampler" + strconv.Itoa(e.samplers)
	e.mu.Unlock()
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			e.statusAs(who)
			select {
			case <-quit:
				return
			case <-time.After(150 * time.Millisecond):
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(quit) })
		<-done
	}
}

// fakeJob is a job as the fake cluster recorded it.
type fakeJob struct {
	ID       int    `json:"id"`
	Name     string `json:"name"`
	Elements []struct {
		Stat     string `json:"stat"`
		ExitCode string `json:"exit_code"`
	} `json:"elements"`
}

func (j fakeJob) finished() bool {
	for _, el := range j.Elements {
		if el.Stat != "DONE" && el.Stat != "EXIT" {
			return false
		}
	}
	return true
}

// accepted returns the jobs of the scenario (named with faultPrefix) that
// the fake cluster accepted.
func (e *faultEnv) accepted() []fakeJob {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.cluster.Dir, "state.json"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	var st struct {
		Jobs []fakeJob `json:"jobs"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		e.t.Fatalf("fake LSF state: %v", err)
	}
	var out []fakeJob
	for _, j := range st.Jobs {
		if strings.HasPrefix(j.Name, faultPrefix+"-") {
			out = append(out, j)
		}
	}
	return out
}

// waitFake waits until cond holds for the fake cluster's jobs.
func (e *faultEnv) waitFake(what string, timeout time.Duration, cond func([]fakeJob) bool) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond(e.accepted()) {
		if time.Now().After(deadline) {
			e.t.Fatalf("waited %v for %s; the fake cluster has %+v", timeout, what, e.accepted())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// allFinished holds when n jobs exist and all have ended.
func allFinished(n int) func([]fakeJob) bool {
	return func(jobs []fakeJob) bool {
		if len(jobs) < n {
			return false
		}
		for _, j := range jobs {
			if !j.finished() {
				return false
			}
		}
		return true
	}
}

// running holds when the named jobs (without the prefix) have started.
func running(names ...string) func([]fakeJob) bool {
	return func(jobs []fakeJob) bool {
		n := 0
		for _, j := range jobs {
			if slices.Contains(names, strings.TrimPrefix(j.Name, faultPrefix+"-")) && len(j.Elements) > 0 && j.Elements[0].Stat != "PEND" {
				n++
			}
		}
		return n == len(names)
	}
}

// ended holds when the named jobs (without the prefix) have ended.
func ended(names ...string) func([]fakeJob) bool {
	return func(jobs []fakeJob) bool {
		n := 0
		for _, j := range jobs {
			if slices.Contains(names, strings.TrimPrefix(j.Name, faultPrefix+"-")) && j.finished() {
				n++
			}
		}
		return n == len(names)
	}
}

// calls counts the commands called name that the fake cluster has run.
func (e *faultEnv) calls(name string) int {
	b, _ := os.ReadFile(filepath.Join(e.dir, "calls.log"))
	return strings.Count("\n"+string(b), "\n"+name+" ")
}

// orphans waits until no bsub that a killed capi left runs any more.
func (e *faultEnv) orphans(timeout time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for e.bsubs() > 0 {
		if time.Now().After(deadline) {
			e.t.Fatalf("%d bsub processes still running after %v", e.bsubs(), timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// figures are a scenario's counts, logged in one summary line.
type figures struct {
	submitted, accepted, wrong, lost, duplicated, crashes, backward int
}

// check compares what capi recorded with the truth and with the fake
// cluster, reports every problem, and logs the scenario's figures.
func (e *faultEnv) check() figures {
	e.t.Helper()
	ctx := context.Background()
	db := e.openStore()
	defer db.Close()
	recs, err := db.List(ctx, store.Filter{IncludePurged: true})
	if err != nil {
		e.t.Fatal(err)
	}
	open, err := db.PendingSubmits(ctx)
	if err != nil {
		e.t.Fatal(err)
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	var f figures
	f.submitted = e.submitted
	byID := map[string][]store.Record{}
	for _, r := range recs {
		if r.JobID != "" {
			byID[r.JobID] = append(byID[r.JobID], r)
		}
	}
	for id, rs := range byID {
		if len(rs) > 1 {
			f.duplicated += len(rs) - 1
			e.t.Errorf("duplicated: capi's store has %d records of job %s", len(rs), id)
		}
	}

	jobs := e.accepted()
	f.accepted = len(jobs)
	perName := map[string][]int{}
	showRuns := false
	for _, j := range jobs {
		name := strings.TrimPrefix(j.Name, faultPrefix+"-")
		perName[name] = append(perName[name], j.ID)
		id := strconv.Itoa(j.ID)
		rs := byID[id]
		if len(rs) == 0 {
			f.lost++
			e.t.Errorf("lost: the cluster accepted job %s (%s, %+v) but capi's store has no record of it (open submissions: %s)", id, j.Name, j.Elements, describeOpen(open))
			continue
		}
		r := rs[0]
		events, err := db.Events(ctx, r.Key())
		if err != nil {
			e.t.Fatal(err)
		}
		var history []seenState
		for _, ev := range events {
			if ev.Index == nil {
				history = append(history, seenState{status: string(ev.Status), reason: string(ev.Reason), exit: ev.ExitCode, by: "store", at: ev.Time})
			}
		}
		final := seenState{status: string(r.Status), reason: string(r.Reason), exit: r.ExitCode}
		w, ok := e.truth[name]
		switch {
		case !ok:
			e.t.Errorf("job %s (%s) is not one the scenario submitted", id, j.Name)
		case !w.matches(final.status, final.reason, final.exit):
			f.wrong++
			e.t.Errorf("wrong final state: job %s (%s) is %s, want %s; detail %q; the cluster says %+v", id, j.Name, final, w, r.Detail, j.Elements)
		default:
			// A final state shown on the way counts too: a job declared
			// vanished during an outage and put right later was shown
			// wrong meanwhile (and a later source could have been missing).
			for _, seq := range e.sequences(id, history) {
				if s, bad := w.contradiction(seq); bad {
					f.wrong++
					e.t.Errorf("wrong state on the way: job %s (%s) showed %s (%s), want %s; all it showed:\n%s", id, j.Name, s, s.by, w, e.timeline(seq))
					showRuns = true
					break
				}
			}
		}
		for _, seq := range e.sequences(id, history) {
			if moves := backward(seq); len(moves) > 0 {
				f.backward += len(moves)
				e.t.Errorf("job %s (%s) moved backwards: %s; all it showed:\n%s", id, j.Name, strings.Join(moves, "; "), e.timeline(seq))
				showRuns = true
			}
		}
	}
	if showRuns {
		e.t.Logf("capi runs:\n%s", e.runTimeline())
	}
	for name, ids := range perName {
		if extra := len(ids) - e.intended[name]; extra > 0 {
			f.duplicated += extra
			e.t.Errorf("duplicated: the cluster has %d jobs named %s-%s (%v), the scenario submitted %d", len(ids), faultPrefix, name, ids, e.intended[name])
		}
	}
	for _, r := range e.runs {
		if r.crashed() {
			f.crashes++
			e.t.Errorf("crash: capi %s exited %d:\n%s", strings.Join(r.args, " "), r.code, r.stderr)
		}
	}
	e.t.Logf("summary %s: submitted %d, accepted %d, wrong final states %d, lost %d, duplicated %d, crashes %d, backward moves %d (%d capi runs, %d status samples)",
		e.name[strings.IndexByte(e.name, '/')+1:], f.submitted, f.accepted, f.wrong, f.lost, f.duplicated, f.crashes, f.backward, len(e.runs), e.samples)
	return f
}

func describeOpen(open []store.Record) string {
	if len(open) == 0 {
		return "none"
	}
	var names []string
	for _, r := range open {
		names = append(names, r.Name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// contradiction returns the first final state of seq that the job's real
// end rules out: another status, or vanished when the job did not vanish.
// Reasons and exit codes may otherwise differ on the way (capi's cancel
// record, then the scheduler's; the exit file, then accounting).
func (w want) contradiction(seq []seenState) (seenState, bool) {
	for _, s := range seq {
		if rank(s.status) == 3 && (s.status != w.status || (s.reason == "vanished" && !slices.Contains(w.reasons, "vanished"))) {
			return s, true
		}
	}
	return seenState{}, false
}

func (w want) matches(status, reason string, exit *int) bool {
	return status == w.status && (w.exit == nil || sameExit(w.exit, exit)) && (len(w.reasons) == 0 || slices.Contains(w.reasons, reason))
}

// rank orders statuses: a job's record may only move up, except that the
// scheduler may requeue a job (none of these scenarios does).
func rank(status string) int {
	switch status {
	case "pending":
		return 1
	case "running":
		return 2
	case "done", "failed", "killed":
		return 3
	}
	return 0 // unknown: the scheduler lost track of it
}

// backward lists the moves of seq that go back: to a lower rank (a final
// state to one that is not, running to pending, anything to unknown), or
// from one final state to another that only a weaker source, or a source
// contradicting itself, could have written (README, "Precedence": the
// scheduler > capi's cancel record > the exit file > vanished). Samples do
// not say which source a state came from, so the moves allowed between
// final states are those a stronger source makes:
//   - from vanished (every source outranks it) to anything;
//   - from a cancel (capi's record of it, or an exit file's caught signal)
//     to another reason: the scheduler's own word, such as done after
//     `bkill -d`, or the end of a job that finished before the kill;
//   - within one status and reason, to another exit code or detail (the
//     scheduler's exit code after the exit file's).
func backward(seq []seenState) []string {
	var moves []string
	for i := 1; i < len(seq); i++ {
		a, b := seq[i-1], seq[i]
		back := rank(b.status) < rank(a.status)
		if rank(a.status) == 3 && !back {
			back = (a.status != b.status || a.reason != b.reason) && a.reason != "vanished" &&
				(a.reason != "cancelled" || b.reason == "cancelled")
		}
		if back {
			moves = append(moves, fmt.Sprintf("%s -> %s (%s)", a, b, b.by))
		}
	}
	return moves
}

// lsf runs one of the fake's commands as a user at the cluster would
// (bkill, say), with no capi process involved.
func (e *faultEnv) lsf(name string, args ...string) outcome {
	e.t.Helper()
	var path string
	for _, kv := range e.env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = filepath.Join(filepath.SplitList(p)[0], name)
		}
	}
	cmd := exec.Command(path, args...)
	cmd.Env = e.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			e.t.Fatalf("%s: %v", name, err)
		}
	}
	return outcome{out.String(), errOut.String(), cmd.ProcessState.ExitCode()}
}

// timeline shows states with the time of each since the scenario began.
func (e *faultEnv) timeline(seq []seenState) string {
	var b strings.Builder
	for _, s := range seq {
		fmt.Fprintf(&b, "  %7.3fs %-6s %s\n", s.at.Sub(e.began).Seconds(), s.by, s)
	}
	return b.String()
}

// runTimeline lists the capi runs, in the order they started.
func (e *faultEnv) runTimeline() string {
	runs := slices.Clone(e.runs)
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].start.Before(runs[j].start) })
	var b strings.Builder
	for _, r := range runs {
		fmt.Fprintf(&b, "  %7.3fs-%7.3fs exit %3d capi %s\n", r.start.Sub(e.began).Seconds(), r.end.Sub(e.began).Seconds(), r.code, strings.Join(r.args, " "))
	}
	return b.String()
}

// settled runs `capi status` until capi knows every one of jobs by its id,
// or timeout passes, and returns the ids it knows.
func (e *faultEnv) settled(jobs []fakeJob, timeout time.Duration) []string {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		known := map[string]bool{}
		for _, r := range e.status() {
			known[r.ID] = r.ID != ""
		}
		var ids []string
		for _, j := range jobs {
			if id := strconv.Itoa(j.ID); known[id] {
				ids = append(ids, id)
			}
		}
		if len(ids) == len(jobs) || time.Now().After(deadline) {
			return ids
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// bsubs counts the scenario's bsub processes that run now.
func (e *faultEnv) bsubs() int {
	n := 0
	for _, p := range proctest.Running(faultMarker, e.dir) {
		if f := strings.Fields(p.Command); len(f) > 0 && filepath.Base(f[0]) == "bsub" {
			n++
		}
	}
	return n
}

// openStore opens capi's job store of this environment.
func (e *faultEnv) openStore() *store.Store {
	e.t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(e.dir, "state", "cluster_api", "jobs.db"), nil)
	if err != nil {
		e.t.Fatalf("opening capi's job store: %v", err)
	}
	return db
}

// openIntents counts the submissions capi's store holds without an outcome
// (a capi killed between recording a submission and recording bsub's
// answer leaves one).
func (e *faultEnv) openIntents() int {
	e.t.Helper()
	ctx := context.Background()
	db := e.openStore()
	defer db.Close()
	open, err := db.PendingSubmits(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return len(open)
}

// sequences are the states of job id as each observer saw them, and as
// the store's history has them.
func (e *faultEnv) sequences(id string, history []seenState) [][]seenState {
	seqs := [][]seenState{history}
	for _, who := range slices.Sorted(maps.Keys(e.seen)) {
		if seq := e.seen[who][id]; len(seq) > 0 {
			seqs = append(seqs, seq)
		}
	}
	return seqs
}

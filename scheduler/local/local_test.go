package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/go-cluster-api/clusterapi/internal/proctest"
	"github.com/go-cluster-api/clusterapi/internal/script"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		helperMain()
		return
	}
	goleak.VerifyTestMain(proctest.Wrap(m))
}

// waitFor polls cond until it holds; the deadline is generous and only
// there so that a broken executor fails the test instead of hanging it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// env is one test's scheduler, work dir and script writer.
type env struct {
	t     *testing.T
	s     *Scheduler
	state string
	wd    string
	w     *script.Writer
	rec   *recorder
}

func newEnv(t *testing.T, slots int) *env {
	t.Helper()
	state := t.TempDir()
	e := &env{t: t, state: state, wd: t.TempDir(), w: &script.Writer{}}
	e.s = openSched(t, state, slots)
	e.rec = newRecorder()
	e.s.Subscribe(e.rec.observe)
	return e
}

func openSched(t *testing.T, state string, slots int) *Scheduler {
	t.Helper()
	s, err := New(scheduler.Options{StateDir: state, Slots: slots})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// submit writes a real job script (as the engine does) and submits it.
func (e *env) submit(name, cmd string, arr *scheduler.Array) string {
	e.t.Helper()
	return e.submitOn(e.s, name, cmd, arr)
}

// submitOn is submit through another Scheduler of the same spool (another
// process, in the tests of several).
func (e *env) submitOn(s *Scheduler, name, cmd string, arr *scheduler.Array) string {
	e.t.Helper()
	id, err := submitTo(context.Background(), s, e.w, e.wd, name, cmd, arr)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// newSpool is an env for tests that open their Schedulers themselves
// (several on one spool): its s is nil.
func newSpool(t *testing.T) *env {
	return &env{t: t, state: t.TempDir(), wd: t.TempDir(), w: &script.Writer{}, rec: newRecorder()}
}

func submitTo(ctx context.Context, s *Scheduler, w *script.Writer, wd, name, cmd string, arr *scheduler.Array) (string, error) {
	return submitRes(ctx, s, w, scheduler.Resources{WorkDir: wd}, name, cmd, arr)
}

// submitRes is submitTo with resources (and the work dir in them).
func submitRes(ctx context.Context, s *Scheduler, w *script.Writer, res scheduler.Resources, name, cmd string, arr *scheduler.Array) (string, error) {
	d := s.Dialect()
	wd := res.WorkDir
	path, err := w.Reserve(s.ScriptDir(), name)
	if err != nil {
		return "", err
	}
	content, err := script.Render(script.Spec{ExitFileBase: script.ExitFileBase(path), Dialect: d, Array: arr != nil, Command: cmd})
	if err != nil {
		return "", err
	}
	if err := w.Fill(path, content); err != nil {
		return "", err
	}
	suffix := d.LogJobID + ".log"
	if arr != nil {
		suffix = d.LogJobID + "." + d.LogIndex + ".log"
	}
	return s.Submit(ctx, &scheduler.Job{
		Name: name, Command: cmd, Array: arr, Token: "token-" + name,
		Resources:  res,
		ScriptPath: path, Script: content,
		StdoutPath: filepath.Join(wd, "stdout."+suffix),
		StderrPath: filepath.Join(wd, "stderr."+suffix),
	})
}

func key(o scheduler.Observation) string {
	if o.InArray {
		return o.ID + "." + strconv.Itoa(o.Index)
	}
	return o.ID
}

// recorder keeps the notifications a scheduler published.
type recorder struct {
	mu        sync.Mutex
	terminal  map[string]int // terminal notifications per job/element
	final     map[string]scheduler.Observation
	onRunning func(scheduler.Observation)
}

func newRecorder() *recorder {
	return &recorder{terminal: map[string]int{}, final: map[string]scheduler.Observation{}}
}

func (r *recorder) observe(o scheduler.Observation) {
	r.mu.Lock()
	on := r.onRunning
	if o.Status.Terminal() {
		r.terminal[key(o)]++
		r.final[key(o)] = o
	}
	r.mu.Unlock()
	if o.Status == scheduler.Running && on != nil {
		on(o)
	}
}

func (r *recorder) ended() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.final)
}

func (r *recorder) get(k string) (scheduler.Observation, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.final[k], r.terminal[k]
}

// maxOverlap replays "s KEY" / "e KEY" lines that jobs appended to a shared
// file and returns the most jobs that were between their two lines at once.
// Each job writes its lines while it runs, so this never exceeds the real
// number of concurrently running jobs.
func maxOverlap(t *testing.T, path string) (peak int, starts map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	starts = map[string]string{}
	cur := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.SplitN(sc.Text(), " ", 3)
		if len(fields) < 2 {
			t.Fatalf("garbled line %q", sc.Text())
		}
		switch fields[0] {
		case "s":
			cur++
			rest := ""
			if len(fields) == 3 {
				rest = fields[2]
			}
			starts[fields[1]] = rest
		case "e":
			cur--
		}
		peak = max(peak, cur)
	}
	return peak, starts
}

// slotEntries counts the running elements in the journal (of the job
// with id prefix+".", or of every job for "").
func slotEntries(s *Scheduler, prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.catchUpLocked()
	n := 0
	for _, j := range s.book.order {
		if prefix == "" || j.job.ID+"." == prefix {
			n += j.running
		}
	}
	return n
}

// elemOf is element el of job id as the journal says now.
func elemOf(s *Scheduler, id, el string) elem {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.catchUpLocked()
	if e := s.elemLocked(id, el); e != nil {
		return *e
	}
	return elem{}
}

// pidOf is the process (group) id of a started element, 0 before.
func pidOf(s *Scheduler, id, el string) int { return elemOf(s, id, el).pid }

// runFile is where element el of job id has its run file (and exit status).
func runFile(s *Scheduler, id, el string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.catchUpLocked()
	j := s.book.jobs[id]
	if j == nil {
		return filepath.Join(s.sp.dir, "no-such-job")
	}
	n, _ := strconv.Atoi(el)
	return script.ExitFilePath(j.job.Script, id, n, j.job.Array)
}

func TestManyJobs(t *testing.T) {
	t.Parallel()
	const n, slots = 1000, 2
	e := newEnv(t, slots)
	var mu sync.Mutex
	worst := 0
	e.rec.onRunning = func(scheduler.Observation) {
		k := slotEntries(e.s, "")
		mu.Lock()
		worst = max(worst, k)
		mu.Unlock()
	}
	log := filepath.Join(e.wd, "overlap.log")
	cmd := fmt.Sprintf(`echo "s $CAPI_JOB_ID" >> %[1]s; echo "e $CAPI_JOB_ID" >> %[1]s`, log)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = e.submit("many", cmd, nil)
	}
	waitFor(t, "every job to end", func() bool { return e.rec.ended() == n })
	for _, id := range ids {
		o, count := e.rec.get(id)
		if count != 1 || o.Status != scheduler.Done || !o.HasExit || o.ExitCode != 0 {
			t.Errorf("job %s: %d terminal notifications, last %+v", id, count, o)
		}
	}
	mu.Lock()
	if worst > slots {
		t.Errorf("slot table held %d entries, more than %d slots", worst, slots)
	}
	mu.Unlock()
	peak, starts := maxOverlap(t, log)
	if peak > slots {
		t.Errorf("%d jobs ran at once, more than %d slots", peak, slots)
	}
	if len(starts) != n {
		t.Errorf("%d distinct jobs ran, want %d", len(starts), n)
	}
	obs, err := e.s.Poll(context.Background(), scheduler.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(obs) != n {
		t.Errorf("Poll lists %d jobs, want %d", len(obs), n)
	}
	for _, o := range obs {
		if o.Status != scheduler.Done {
			t.Errorf("Poll: %+v", o)
			break
		}
	}
}

func TestArrayMaxConcurrent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 4)
	var mu sync.Mutex
	worst := 0
	var id string
	e.rec.onRunning = func(o scheduler.Observation) {
		k := slotEntries(e.s, o.ID+".")
		mu.Lock()
		worst = max(worst, k)
		mu.Unlock()
	}
	log := filepath.Join(e.wd, "overlap.log")
	cmd := fmt.Sprintf(`echo "s $ARRAY_INDEX $CAPI_ARRAY_INDEX" >> %[1]s; sleep 0.2; echo "e $ARRAY_INDEX" >> %[1]s; exit $((ARRAY_INDEX %% 3 == 2))`, log)
	id = e.submit("arr", cmd, &scheduler.Array{First: 3, Last: 10, MaxConcurrent: 2})
	waitFor(t, "every element to end", func() bool { return e.rec.ended() == 8 })
	for i := 3; i <= 10; i++ {
		o, count := e.rec.get(id + "." + strconv.Itoa(i))
		wantExit := 0
		if i%3 == 2 {
			wantExit = 1
		}
		if count != 1 || o.ExitCode != wantExit || !o.InArray || o.Index != i {
			t.Errorf("element %d: %d terminal notifications, %+v", i, count, o)
		}
		out, err := os.ReadFile(filepath.Join(e.wd, fmt.Sprintf("stdout.%s.%d.log", id, i)))
		if err != nil || len(out) != 0 {
			t.Errorf("element %d log: %q, %v", i, out, err)
		}
	}
	peak, starts := maxOverlap(t, log)
	if peak > 2 {
		t.Errorf("%d elements ran at once, max-concurrent is 2", peak)
	}
	mu.Lock()
	if worst > 2 {
		t.Errorf("slot table held %d elements of the array, max-concurrent is 2", worst)
	}
	mu.Unlock()
	for i := 3; i <= 10; i++ {
		idx := strconv.Itoa(i)
		if got, ok := starts[idx]; !ok || got != idx {
			t.Errorf("element %d saw CAPI_ARRAY_INDEX %q (ran: %v)", i, got, ok)
		}
	}
}

// groupAlive reports whether any live (non-zombie) process is in process
// group pgid.
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	if runtime.GOOS != "linux" {
		return true
	}
	// Orphaned members are reparented to pid 1, which may not reap them in
	// a container: a zombie has no process left to kill.
	ents, _ := os.ReadDir("/proc")
	for _, d := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:]) // state ppid pgrp ...
		if len(f) >= 3 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" && f[0] != "X" {
			return true
		}
	}
	return false
}

func TestCancelKillsProcessTree(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cmd  string
	}{
		{"background grandchild", `sleep 300 & echo $! > bg.pid; sleep 300`},
		{"ignores SIGTERM", `trap '' TERM; sleep 300 & echo $! > bg.pid; sleep 300`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 2)
			e.s.grace = 200 * time.Millisecond
			id := e.submit("tree", c.cmd, nil)
			bgFile := filepath.Join(e.wd, "bg.pid")
			var bg int
			waitFor(t, "the background process", func() bool {
				if o, n := e.rec.get(id); n > 0 {
					t.Fatalf("job ended before it was cancelled: %+v", o)
				}
				b, err := os.ReadFile(bgFile)
				if err != nil || !strings.HasSuffix(string(b), "\n") {
					return false
				}
				bg, _ = strconv.Atoi(strings.TrimSpace(string(b)))
				return bg > 0
			})
			var pgid int
			waitFor(t, "the job's pid in its run file", func() bool {
				pgid = pidOf(e.s, id, "job")
				return pgid > 0
			})
			if !groupAlive(pgid) {
				t.Fatalf("job's process group %d not alive", pgid)
			}
			if g, err := syscall.Getpgid(bg); err != nil || g != pgid {
				t.Fatalf("grandchild %d in group %d (%v), want %d", bg, g, err, pgid)
			}
			if err := e.s.Cancel(context.Background(), scheduler.CancelRequest{Targets: []scheduler.Target{{ID: id}}}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "every process of the job to die", func() bool { return !groupAlive(pgid) })
			waitFor(t, "the job's end", func() bool { return e.rec.ended() == 1 })
			if o, n := e.rec.get(id); n != 1 || o.Status != scheduler.Killed || o.Reason != scheduler.ReasonCancelled {
				t.Errorf("cancelled job: %d notifications, %+v", n, o)
			}
			// Cancelling again is not an error.
			if err := e.s.Cancel(context.Background(), scheduler.CancelRequest{Targets: []scheduler.Target{{ID: id}}}); err != nil {
				t.Errorf("second cancel: %v", err)
			}
		})
	}
}

func TestCancelPending(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	e.s.grace = 200 * time.Millisecond
	blocker := e.submit("blocker", "sleep 300", nil)
	pending := e.submit("pending", "touch started", nil)
	arr := e.submit("arr", "touch started-$ARRAY_INDEX", &scheduler.Array{First: 1, Last: 3})
	waitFor(t, "the blocker to run", func() bool { return locked(runFile(e.s, blocker, "job")) })
	ctx := context.Background()
	err := e.s.Cancel(ctx, scheduler.CancelRequest{Targets: []scheduler.Target{{ID: pending}, {ID: arr, Index: 2, InArray: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.s.Cancel(ctx, scheduler.CancelRequest{Targets: []scheduler.Target{{ID: blocker}}}); err != nil {
		t.Fatal(err)
	}
	status := func() map[string]scheduler.Status {
		obs, err := e.s.Poll(ctx, scheduler.Query{})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]scheduler.Status{}
		for _, o := range obs {
			m[key(o)] = o.Status
		}
		return m
	}
	var got map[string]scheduler.Status
	waitFor(t, "every job to end", func() bool {
		got = status()
		for _, st := range got {
			if !st.Terminal() {
				return false
			}
		}
		return len(got) == 5
	})
	want := map[string]scheduler.Status{
		blocker: scheduler.Killed, pending: scheduler.Killed,
		arr + ".1": scheduler.Done, arr + ".2": scheduler.Killed, arr + ".3": scheduler.Done,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %s, want %s", k, got[k], w)
		}
	}
	for _, f := range []string{"started", "started-2"} {
		if _, err := os.Stat(filepath.Join(e.wd, f)); err == nil {
			t.Errorf("a cancelled pending job ran (%s exists)", f)
		}
	}
	if err := e.s.Cancel(ctx, scheduler.CancelRequest{Targets: []scheduler.Target{{ID: "999999"}}}); !errors.Is(err, scheduler.ErrNotFound) {
		t.Errorf("cancel of an unknown id: %v, want ErrNotFound", err)
	}
}

func TestTooManyCPUs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	_, err := e.s.Directives(&scheduler.Job{Resources: scheduler.Resources{CPUs: 3}})
	if !errors.As(err, new(*scheduler.ValueError)) {
		t.Errorf("Directives with more cpus than slots: %v, want a ValueError", err)
	}
	_, err = e.s.Submit(context.Background(), &scheduler.Job{ExtraArgs: []string{"-x"}})
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("extra_args: %v, want ErrUnsupported", err)
	}
}

// pollUntilTerminal polls s until every listed key is terminal and returns
// the final observations by key.
func pollUntilTerminal(t *testing.T, s *Scheduler, keys []string) map[string]scheduler.Observation {
	t.Helper()
	var got map[string]scheduler.Observation
	waitFor(t, "every job to be terminal", func() bool {
		obs, err := s.Poll(context.Background(), scheduler.Query{})
		if err != nil {
			t.Fatal(err)
		}
		got = map[string]scheduler.Observation{}
		for _, o := range obs {
			got[key(o)] = o
		}
		for _, k := range keys {
			if !got[k].Status.Terminal() {
				return false
			}
		}
		return true
	})
	return got
}

func TestNewSchedulerSeesJobsOfAClosedOne(t *testing.T) {
	t.Parallel()
	state, wd := t.TempDir(), t.TempDir()
	w := &script.Writer{}
	s1, err := New(scheduler.Options{StateDir: state, Slots: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var ids []string
	for i := range 3 {
		id, err := submitTo(ctx, s1, w, wd, "j", fmt.Sprintf("sleep 0.2; exit %d", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// The first runs; the others are pending when s1 goes away.
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openSched(t, state, 1)
	got := pollUntilTerminal(t, s2, ids)
	for i, id := range ids {
		if o := got[id]; !o.HasExit || o.ExitCode != i {
			t.Errorf("job %s: %+v, want exit %d", id, o, i)
		}
	}
	// A third scheduler reads the same results from the spool.
	s3 := openSched(t, t.TempDir(), 1) // a different spool knows nothing
	if obs, _ := s3.Poll(ctx, scheduler.Query{}); len(obs) != 0 {
		t.Errorf("another state dir lists %d jobs", len(obs))
	}
}

const (
	helperEnv   = "CAPI_LOCAL_TEST_HELPER"
	helperState = "CAPI_LOCAL_TEST_STATE"
	helperWork  = "CAPI_LOCAL_TEST_WORK"
	crashJobs   = 20
)

// helperMain runs in a child process: it submits jobs, prints their ids
// and waits to be killed.
func helperMain() {
	if os.Getenv(helperEnv) == "walltime" {
		helperWalltime()
		return
	}
	s, err := New(scheduler.Options{StateDir: os.Getenv(helperState), Slots: 2})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	w := &script.Writer{}
	wd := os.Getenv(helperWork)
	ctx := context.Background()
	id, err := submitTo(ctx, s, w, wd, "arr", "echo $ARRAY_INDEX >> ran.log; sleep 1; exit $ARRAY_INDEX", &scheduler.Array{First: 0, Last: 3})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	fmt.Println("ARRAY", id)
	for i := range crashJobs {
		id, err := submitTo(ctx, s, w, wd, "crash", fmt.Sprintf("sleep 0.2; exit %d", i), nil)
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		fmt.Println("JOB", id, i)
	}
	fmt.Println("READY")
	select {}
}

func TestCrashedSubmitterJobsAreAdopted(t *testing.T) {
	t.Parallel()
	state, wd := t.TempDir(), t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1", helperState+"="+state, helperWork+"="+wd)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	wantExit := map[string]int{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if f[0] == "READY" {
			break
		}
		switch f[0] {
		case "ARRAY":
			for i := range 4 {
				wantExit[f[1]+"."+strconv.Itoa(i)] = i
			}
		case "JOB":
			wantExit[f[1]], _ = strconv.Atoi(f[2])
		default:
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("helper: %s", sc.Text())
		}
	}
	// Two array elements are running (slots 2); the rest is pending.
	waitFor(t, "the first array elements to start", func() bool {
		b, _ := os.ReadFile(filepath.Join(wd, "ran.log"))
		return len(strings.Fields(string(b))) >= 2
	})
	// SIGKILL: no cleanup at all, with jobs running and pending.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if len(wantExit) != crashJobs+4 {
		t.Fatalf("helper reported %d jobs", len(wantExit))
	}

	s := openSched(t, state, 2)
	// One poll adopts the pending work. Then no polls until the pending
	// elements have started: their dispatch must not start the elements
	// that were already running a second time.
	if _, err := s.Poll(context.Background(), scheduler.Query{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the pending array elements to start", func() bool {
		b, _ := os.ReadFile(filepath.Join(wd, "ran.log"))
		return len(strings.Fields(string(b))) >= 4
	})
	keys := make([]string, 0, len(wantExit))
	for k := range wantExit {
		keys = append(keys, k)
	}
	got := pollUntilTerminal(t, s, keys)
	for k, want := range wantExit {
		o := got[k]
		wantSt := scheduler.Done
		if want != 0 {
			wantSt = scheduler.Failed
		}
		if o.Status != wantSt || !o.HasExit || o.ExitCode != want {
			t.Errorf("%s: %s exit %d (has %v) %q, want %s exit %d", k, o.Status, o.ExitCode, o.HasExit, o.Detail, wantSt, want)
		}
	}
	// Every array element ran exactly once, though some were running and
	// some pending when their submitter died.
	ran, err := os.ReadFile(filepath.Join(wd, "ran.log"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(string(ran)); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"0", "1", "2", "3"}) {
		t.Errorf("array elements started: %q, want each of 0-3 once", got)
	}
}

// victimBehindBlocker opens a one-slot Scheduler s1 on a new spool (the
// caller closes it), runs a blocker job there until release is called,
// and submits a victim job running cmd, which waits behind it: the tests
// then fake what a dispatcher killed while starting the victim leaves
// behind.
func victimBehindBlocker(t *testing.T, cmd string) (s1 *Scheduler, state, blocker, victim string, release func()) {
	t.Helper()
	state, wd := t.TempDir(), t.TempDir()
	w := &script.Writer{}
	ctx := context.Background()
	s1, err := New(scheduler.Options{StateDir: state, Slots: 1})
	if err != nil {
		t.Fatal(err)
	}
	gate := filepath.Join(wd, "release")
	if blocker, err = submitTo(ctx, s1, w, wd, "blocker", "while [ ! -e "+gate+" ]; do sleep 0.01; done", nil); err != nil {
		t.Fatal(err)
	}
	release = func() {
		if err := os.WriteFile(gate, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(release) // a test that fails early must not leave it running
	waitFor(t, "the blocker to run", func() bool { return locked(runFile(s1, blocker, "job")) })
	if victim, err = submitTo(ctx, s1, w, wd, "victim", cmd, nil); err != nil {
		t.Fatal(err)
	}
	return s1, state, blocker, victim, release
}

// A dispatcher killed inside its start sequence leaves a run file that no
// process ever held: the element must run, not be declared failed.
func TestElementNeverStartedByDeadOwnerRuns(t *testing.T) {
	t.Parallel()
	s1, state, blocker, id, release := victimBehindBlocker(t, "exit 5")
	// What a SIGKILL between creating the run file and starting the
	// process leaves behind.
	if err := os.WriteFile(runFile(s1, id, "job"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	release()
	s2 := openSched(t, state, 1)
	got := pollUntilTerminal(t, s2, []string{blocker, id})
	if o := got[id]; o.Status != scheduler.Failed || !o.HasExit || o.ExitCode != 5 {
		t.Errorf("never-started job: %s exit %d (has %v) %q, want it run: failed exit 5", o.Status, o.ExitCode, o.HasExit, o.Detail)
	}
}

// A job submitted while a slot is free has started when Submit returns, and
// one submitted while every slot is busy is still pending: callers that
// exit right after submitting (capi submit) rely on this to know whether a
// process must stay to start the job later.
func TestSubmitStartsAtOnceWhenASlotIsFree(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	first := e.submit("first", "sleep 30", nil)
	if !elemOf(e.s, first, "job").started {
		t.Fatal("job submitted with a free slot had not started when Submit returned")
	}
	second := e.submit("second", "true", nil)
	if elemOf(e.s, second, "job").started {
		t.Fatal("job submitted with no free slot started anyway")
	}
	if err := e.s.Cancel(context.Background(), scheduler.CancelRequest{Targets: []scheduler.Target{{ID: first}, {ID: second}}}); err != nil {
		t.Fatal(err)
	}
}

// A process that saw another process's job running learns of its end from
// the spool at once (its dispatch loop), not at its next poll: callbacks of
// a service with a long poll_interval do not wait for it.
func TestEndsOfOtherProcessesAreTold(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	other := openSched(t, e.state, 2)
	rec := newRecorder()
	other.Subscribe(rec.observe)
	id := e.submit("elsewhere", "sleep 0.5", nil)
	obs, err := other.Poll(context.Background(), scheduler.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(obs) != 1 || obs[0].Status.Terminal() {
		t.Fatalf("the other process polled %+v, want the job not ended yet", obs)
	}
	// No more polls from here on.
	waitFor(t, "the end told to the other process", func() bool { return rec.ended() == 1 })
	if o, n := rec.get(id); n != 1 || o.Status != scheduler.Done {
		t.Errorf("told %d times: %+v, want once, done", n, o)
	}
}

// One instance at a time holds the dispatcher role and starts every
// instance's jobs, oldest first: a library service and a capi command on
// the same state dir share one dispatcher and one slot table. When the
// holder closes, another instance with work waiting takes the role.
func TestOneDispatcherForEveryInstance(t *testing.T) {
	t.Parallel()
	e := newSpool(t)
	state, wd := e.state, e.wd
	a, err := New(scheduler.Options{StateDir: state, Slots: 1})
	if err != nil {
		t.Fatal(err)
	}
	b := openSched(t, state, 1)
	log := filepath.Join(wd, "order.log")
	cmd := func(tag string) string { return fmt.Sprintf("echo %s >> %s; sleep 0.1", tag, log) }
	var ids []string
	for i, s := range []*Scheduler{a, b, a, b, b} {
		id := e.submitOn(s, fmt.Sprintf("j%d", i), cmd(fmt.Sprint(i)), nil)
		ids = append(ids, id)
	}
	pollUntilTerminal(t, b, ids)
	for _, id := range ids {
		if e := elemOf(b, id, "job"); e.owner != a.ownerID {
			t.Errorf("job %s was started by %q, want by the role's holder %q", id, e.owner, a.ownerID)
		}
	}
	got, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if want := "0\n1\n2\n3\n4\n"; string(got) != want {
		t.Errorf("start order %q, want submission order %q", got, want)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	id := e.submitOn(b, "after", "true", nil)
	pollUntilTerminal(t, b, []string{id})
	if e := elemOf(b, id, "job"); e.owner != b.ownerID {
		t.Errorf("after the holder closed, job %s was started by %q, want %q", id, e.owner, b.ownerID)
	}
}

// An array too large for the book is refused before anything is written,
// with the limit in the message; the journal never holds it.
func TestHugeArrayRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	huge := &scheduler.Array{First: 1, Last: 100_000_000}
	_, err := e.s.Directives(&scheduler.Job{Array: huge})
	var ve *scheduler.ValueError
	if !errors.As(err, &ve) || ve.Kind != "array" || !strings.Contains(err.Error(), "100000") {
		t.Errorf("Directives of a 1e8 array: %v, want a ValueError naming the limit", err)
	}
	_, err = submitTo(context.Background(), e.s, e.w, e.wd, "huge", "true", huge)
	var se *scheduler.SubmitError
	if !errors.As(err, &se) {
		t.Errorf("Submit of a 1e8 array: %v, want a SubmitError", err)
	}
	if b, _ := os.ReadFile(e.s.sp.journalPath()); len(b) != 0 {
		t.Errorf("the journal holds %q after a refused array", b)
	}
}

// An instance is told of its jobs' ends whichever of its calls reads them
// from the journal first: here its own next Submit, before its loop looks.
// (Each catch-up used to keep what it read for itself, so the end reached
// no subscriber.)
func TestEndsReadByAnyCallAreTold(t *testing.T) {
	t.Parallel()
	e := newSpool(t)
	state := e.state
	ctx := context.Background()
	holder := openSched(t, state, 4)
	blocker := e.submitOn(holder, "blocker", "sleep 30", nil)
	a := openSched(t, state, 4)
	rec := newRecorder()
	a.Subscribe(rec.observe)
	x := e.submitOn(a, "x", "sleep 0.2", nil)
	waitFor(t, "x's end in the journal", func() bool {
		b, _ := os.ReadFile(a.sp.journalPath())
		return strings.Contains(string(b), `{"ev":"end","id":"`+x+`"`)
	})
	y := e.submitOn(a, "y", "true", nil)
	waitFor(t, "x's end told", func() bool { _, n := rec.get(x); return n == 1 })
	if err := holder.Cancel(ctx, scheduler.CancelRequest{Targets: []scheduler.Target{{ID: blocker}}}); err != nil {
		t.Fatal(err)
	}
	// Every job ended, so that none writes in the spool as it is removed.
	pollUntilTerminal(t, a, []string{x, y, blocker})
}

// A line left without its newline (a writer killed mid-write, a full disk)
// stays one damaged line: the next submissions get their own ids and run.
// (The next append used to join it, and the submission was lost and its id
// handed out again.)
func TestTornJournalLineLosesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	f, err := os.OpenFile(e.s.sp.journalPath(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"ev":"start","id":"1","el":"jo`)
	f.Close()
	one := e.submit("one", "true", nil)
	two := e.submit("two", "true", nil)
	if one == two {
		t.Fatalf("two submissions got the same id %s", one)
	}
	got := pollUntilTerminal(t, e.s, []string{one, two})
	for _, id := range []string{one, two} {
		if got[id].Status != scheduler.Done {
			t.Errorf("job %s: %+v, want done", id, got[id])
		}
	}
}

// A job accepted by a process with more slots than the dispatcher's ends
// failed with a reason naming both settings, instead of waiting forever
// (and keeping a background dispatcher alive).
func TestJobLargerThanTheDispatcherFails(t *testing.T) {
	t.Parallel()
	e := newSpool(t)
	state, wd := e.state, e.wd
	ctx := context.Background()
	small := openSched(t, state, 1)
	first := e.submitOn(small, "first", "true", nil)
	big := openSched(t, state, 4)
	id, err := submitRes(ctx, big, e.w, scheduler.Resources{WorkDir: wd, CPUs: 2}, "big", "true", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := pollUntilTerminal(t, small, []string{first, id})
	if o := got[id]; o.Status != scheduler.Failed || o.Reason != scheduler.ReasonScheduler || !strings.Contains(o.Detail, "local_slots") {
		t.Errorf("2-cpu job under a 1-slot dispatcher: %s/%s %q, want failed/scheduler naming local_slots", o.Status, o.Reason, o.Detail)
	}
}

// A job gets its submitter's environment, whichever process starts it, as
// on a cluster: here another instance holds the dispatcher role, and the
// submitter's environment differs from the holder's.
func TestJobsGetTheirSubmittersEnvironment(t *testing.T) {
	t.Parallel()
	e := newSpool(t)
	state, wd := e.state, e.wd
	holder := openSched(t, state, 1)
	holder.environ = func() []string { return append(os.Environ(), "CAPI_TEST_SHELL=holder") }
	blocker := e.submitOn(holder, "blocker", "sleep 0.2", nil)
	other := openSched(t, state, 1)
	other.environ = func() []string { return append(os.Environ(), "CAPI_TEST_SHELL=submitter") }
	out := filepath.Join(wd, "shell")
	id := e.submitOn(other, "env", `printf %s "$CAPI_TEST_SHELL" > `+out, nil)
	pollUntilTerminal(t, other, []string{blocker, id})
	if e := elemOf(other, id, "job"); e.owner != holder.ownerID {
		t.Fatalf("the job was started by %q, want by the role's holder", e.owner)
	}
	if b, _ := os.ReadFile(out); string(b) != "submitter" {
		t.Errorf("the job saw CAPI_TEST_SHELL=%q, want the submitter's", b)
	}
	// Each environment is written once, however many jobs use it.
	var again []string
	for range 3 {
		again = append(again, e.submitOn(other, "again", "true", nil))
	}
	pollUntilTerminal(t, other, again)
	if b, _ := os.ReadFile(other.sp.journalPath()); strings.Count(string(b), `"ev":"env"`) != 2 {
		t.Errorf("%d environments in the journal, want 2 (one per shell)", strings.Count(string(b), `"ev":"env"`))
	}
}

// An instance being closed keeps its journal open until its loop has
// stopped, even when the last element it started ends in between: the
// loop may be reading the journal right then. (A CI run of capi array
// --wait logged "stat .../journal: file already closed".)
func TestJournalOutlivesTheLoop(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	gate := filepath.Join(e.wd, "go")
	id := e.submit("gated", "while [ ! -e "+gate+" ]; do sleep 0.01; done", nil)
	waitFor(t, "the job to start", func() bool { return elemOf(e.s, id, "job").started })
	// The state between Close's first step and its loop's end, held still.
	e.s.mu.Lock()
	e.s.closed = true
	e.s.mu.Unlock()
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the job's end to be recorded", func() bool {
		e.s.mu.Lock()
		defer e.s.mu.Unlock()
		return len(e.s.running) == 0
	})
	e.s.mu.Lock()
	err := e.s.catchUpLocked() // what the loop does at its next look
	e.s.closed = false         // so that the cleanup's Close runs in full
	e.s.mu.Unlock()
	if err != nil {
		t.Errorf("the loop of a closing instance cannot read the journal: %v", err)
	}
}

// A dispatcher killed between starting an element and recording its start
// leaves a running job that no journal line names a process of. The next
// dispatcher records the start with the job's process group, found from
// the process that holds the run file, so that a cancel stops it.
func TestCancelStopsAJobWhoseStartWasNotRecorded(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc: such a job cannot be found (documented)")
	}
	ctx := context.Background()
	s1, state, _, id, release := victimBehindBlocker(t, "true")
	// What the dead dispatcher left: the victim's process running in a
	// session of its own, holding the locked run file, with no start in
	// the journal.
	run, err := os.OpenFile(runFile(s1, id, "job"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(run.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	job := exec.Command("sh", "-c", "sleep 60; exit 7")
	job.ExtraFiles = []*os.File{run}
	job.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := job.Start(); err != nil {
		t.Fatal(err)
	}
	run.Close() // the job keeps the lock through its copy
	ended := make(chan struct{})
	go func() {
		job.Wait()
		close(ended)
	}()
	t.Cleanup(func() {
		syscall.Kill(-job.Process.Pid, syscall.SIGKILL)
		<-ended
	})
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	release()

	s2 := openSched(t, state, 1)
	waitFor(t, "the victim's start to be recorded", func() bool {
		s2.Poll(ctx, scheduler.Query{})
		return elemOf(s2, id, "job").started
	})
	if pid := pidOf(s2, id, "job"); pid != job.Process.Pid {
		t.Fatalf("start recorded with process group %d, want the job's %d", pid, job.Process.Pid)
	}
	if err := s2.Cancel(ctx, scheduler.CancelRequest{Targets: []scheduler.Target{{ID: id}}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ended:
		if ws, ok := job.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Errorf("the job ended with %v, want killed by the cancel's signal", job.ProcessState)
		}
	case <-time.After(30 * time.Second):
		t.Error("the cancelled job still runs 30 s after the cancel returned")
	}
}

// runSession takes only what a job is: a session leader of this user whose
// descriptor 3 is the run file; the oldest, when a job's setsid daemon
// inherited it. A process that merely has the file open (this one, a
// look at its lock) or holds it outside a session of its own is never
// taken: a cancel would signal it.
func TestRunSessionTakesOnlyTheJob(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc")
	}
	dir := t.TempDir()
	run, err := os.Create(filepath.Join(dir, "run"))
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close() // open here too, as a look at its lock has it
	other, err := os.Create(filepath.Join(dir, "other"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	start := func(fd3 *os.File, session bool) *exec.Cmd {
		cmd := exec.Command("sleep", "60")
		cmd.ExtraFiles = []*os.File{fd3}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: session}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
		return cmd
	}
	start(run, false)  // holds it, in this session
	start(other, true) // a session of its own, another file
	if got := runSession(run.Name()); got != 0 {
		t.Fatalf("no job holds the run file, runSession = %d", got)
	}
	job := start(run, true)
	start(run, true) // a daemon the job started, later
	if got := runSession(run.Name()); got != job.Process.Pid {
		t.Errorf("runSession = %d, want the job's session %d", got, job.Process.Pid)
	}
}

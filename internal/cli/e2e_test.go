package cli_test

import (
	"bytes"
	"encoding/json"
	"errors"
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
	"github.com/go-cluster-api/clusterapi/internal/proctest"
)

// capiBin is the capi binary built once for the end-to-end tests.
var capiBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "capi-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	capiBin = filepath.Join(dir, "capi")
	build := exec.Command("go", "build", "-o", capiBin, "github.com/go-cluster-api/clusterapi/cmd/capi")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building capi:", err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := proctest.Wrap(m).Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// shell is a user at a login node: a home, a state dir and a work dir of
// their own, nothing from the machine's configuration.
type shell struct {
	t   *testing.T
	dir string
	env []string
}

func newShell(t *testing.T) *shell {
	t.Helper()
	dir := proctest.TempDir(t)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CLUSTER_API_CONFIG=") && !strings.HasPrefix(kv, "XDG_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	env = append(env, "HOME="+dir, "XDG_STATE_HOME="+filepath.Join(dir, "state"))
	return &shell{t: t, dir: dir, env: env}
}

// useFakeLSF puts a fake LSF cluster of its own (settings env) first on
// the shell's PATH.
func (s *shell) useFakeLSF(env ...string) {
	s.t.Helper()
	bin := fakelsftest.Build(s.t)
	cluster := fakelsftest.NewCluster(s.t, env...)
	for i, kv := range s.env {
		if strings.HasPrefix(kv, "PATH=") {
			s.env[i] = "PATH=" + bin + string(os.PathListSeparator) + strings.TrimPrefix(kv, "PATH=")
		}
	}
	s.env = append(s.env, cluster.Env...)
}

func (s *shell) command(args ...string) *exec.Cmd {
	cmd := exec.Command(capiBin, args...)
	cmd.Dir, cmd.Env = s.dir, s.env
	return cmd
}

type outcome struct {
	stdout, stderr string
	code           int
}

func (s *shell) capi(args ...string) outcome {
	s.t.Helper()
	cmd := s.command(args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		s.t.Fatalf("capi %q: %v", args, err)
	}
	return outcome{out.String(), errOut.String(), cmd.ProcessState.ExitCode()}
}

func (o outcome) want(t *testing.T, code int) {
	t.Helper()
	if o.code != code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", o.code, code, o.stdout, o.stderr)
	}
}

// checkRecord checks a JSON job record field by field, as a user's script
// would read it.
func checkRecord(t *testing.T, raw json.RawMessage, want map[string]any) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	for k, v := range want {
		got, ok := m[k]
		switch v := v.(type) {
		case absent:
			if ok {
				t.Errorf("%s = %v, want absent", k, got)
			}
		case rfc3339:
			s, _ := got.(string)
			if _, err := time.Parse(time.RFC3339, s); err != nil {
				t.Errorf("%s = %v, want an RFC 3339 time", k, got)
			}
		default:
			if !ok || fmt.Sprint(got) != fmt.Sprint(v) {
				t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
			}
		}
	}
	return m
}

type absent struct{}
type rfc3339 struct{}

func TestE2ESubmitThenWaitElsewhere(t *testing.T) {
	t.Parallel()
	sh := newShell(t)
	o := sh.capi("submit", "--json", "--name", "hello", "--meta", "sample=S1", "--", "sh", "-c", "sleep 0.2; echo hi")
	o.want(t, 0)
	rec := checkRecord(t, json.RawMessage(o.stdout), map[string]any{
		"name": "hello", "executor": "local", "submit_time": rfc3339{}, "exit_code": nil,
		"finish_time": absent{}, "reason": absent{},
	})
	id, _ := rec["job_id"].(string)
	if id == "" {
		t.Fatalf("no job_id in %s", o.stdout)
	}
	if st := rec["status"]; st != "pending" && st != "running" {
		t.Errorf("status right after submit = %v", st)
	}

	// Another process, which did not submit the job, waits for it.
	o = sh.capi("wait", id)
	o.want(t, 0)
	if !strings.Contains(o.stdout, id+" hello done exit 0") {
		t.Errorf("wait output %q", o.stdout)
	}

	o = sh.capi("status", "--json", id)
	o.want(t, 0)
	var recs []json.RawMessage
	if err := json.Unmarshal([]byte(o.stdout), &recs); err != nil || len(recs) != 1 {
		t.Fatalf("status --json: %v\n%s", err, o.stdout)
	}
	checkRecord(t, recs[0], map[string]any{
		"job_id": id, "name": "hello", "status": "done", "exit_code": 0, "reason": absent{},
		"exec_host": "localhost", "submit_time": rfc3339{}, "start_time": rfc3339{}, "finish_time": rfc3339{},
		"metadata": map[string]any{"sample": "S1"}, "command": "sh -c 'sleep 0.2; echo hi'",
	})

	o = sh.capi("logs", id)
	o.want(t, 0)
	if o.stdout != "hi\n" {
		t.Errorf("logs = %q", o.stdout)
	}
}

func TestE2EFailedJob(t *testing.T) {
	t.Parallel()
	sh := newShell(t)
	o := sh.capi("submit", "--", "sh", "-c", "exit 3")
	o.want(t, 0)
	id := strings.TrimSpace(o.stdout)
	sh.capi("wait", id).want(t, 1)
	o = sh.capi("status", "--json", "--status", "failed")
	o.want(t, 0)
	var recs []json.RawMessage
	if err := json.Unmarshal([]byte(o.stdout), &recs); err != nil || len(recs) != 1 {
		t.Fatalf("status --json: %v\n%s", err, o.stdout)
	}
	checkRecord(t, recs[0], map[string]any{"job_id": id, "status": "failed", "exit_code": 3, "reason": "exit_code", "name": "sh"})
}

func TestE2EArray200(t *testing.T) {
	t.Parallel()
	sh := newShell(t)
	o := sh.capi("array", "--range", "1-200", "--max-concurrent", "4", "--wait", "--",
		"sh", "-c", "exit $((CAPI_ARRAY_INDEX % 50 == 0))")
	o.want(t, 1)
	if strings.ContainsAny(o.stdout, "\x1b\r") {
		t.Errorf("progress written to a pipe has escape codes:\n%q", o.stdout)
	}
	lines := strings.Split(strings.TrimSpace(o.stdout), "\n")
	if len(lines) < 4 {
		t.Fatalf("output:\n%s", o.stdout)
	}
	tail := lines[len(lines)-3:]
	if !strings.Contains(tail[0], "200/200 finished: done 196, failed 4, running 0, pending 0") ||
		!strings.Contains(tail[1], "failed: 196 done, 4 failed, 0 killed of 200") ||
		tail[2] != "failed indices: 50,100,150,200" {
		t.Errorf("end of output:\n%s", strings.Join(tail, "\n"))
	}
}

func TestE2ECancelWhileWaiting(t *testing.T) {
	t.Parallel()
	sh := newShell(t)
	o := sh.capi("submit", "--", "sleep", "60")
	o.want(t, 0)
	id := strings.TrimSpace(o.stdout)

	wait := sh.command("wait", id)
	var waitOut bytes.Buffer
	wait.Stdout, wait.Stderr = &waitOut, &waitOut
	if err := wait.Start(); err != nil {
		t.Fatal(err)
	}
	// Poll until the job runs, then cancel it from a third process.
	deadline := time.Now().Add(10 * time.Second)
	for {
		o := sh.capi("status", "--json", id)
		if strings.Contains(o.stdout, `"status": "running"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job never ran: %s %s", o.stdout, o.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	sh.capi("cancel", id).want(t, 0)
	err := wait.Wait()
	if code := wait.ProcessState.ExitCode(); code != 130 {
		t.Errorf("wait exited %d (%v), want 130: %s", code, err, waitOut.String())
	}
	o = sh.capi("status", "--json", id)
	if !strings.Contains(o.stdout, `"status": "killed"`) || !strings.Contains(o.stdout, `"reason": "cancelled"`) {
		t.Errorf("status after cancel: %s", o.stdout)
	}
}

func TestE2EMisuse(t *testing.T) {
	t.Parallel()
	sh := newShell(t)
	for _, args := range [][]string{
		{"submit"},
		{"--bogus", "status"},
		{"wait"},
		{"array", "--range", "x", "--", "true"},
		{"--config", "/nonexistent/capi.yaml", "status"},
		{"--executor", "pbs", "status"},
		{"status", "77"},
	} {
		o := sh.capi(args...)
		if o.code != 2 {
			t.Errorf("capi %q: exit %d, want 2 (%s)", args, o.code, o.stderr)
		}
		if !strings.HasPrefix(o.stderr, "capi: ") || strings.Count(o.stderr, "\n") != 1 || strings.Contains(o.stderr, "goroutine") {
			t.Errorf("capi %q: stderr is not one line: %q", args, o.stderr)
		}
	}
}

func TestE2EArrayWithoutWaitRunsToTheEnd(t *testing.T) {
	t.Parallel()
	sh := newShell(t)
	// One cpu slot: capi array exits long before the last element can
	// start; its background dispatcher starts them.
	o := sh.capi("--set", "local_slots=1", "array", "--range", "1-5", "--",
		"sh", "-c", `sleep 0.1; touch "done.$CAPI_ARRAY_INDEX"`)
	o.want(t, 0)
	deadline := time.Now().Add(20 * time.Second)
	for {
		n := 0
		for i := 1; i <= 5; i++ {
			if _, err := os.Stat(filepath.Join(sh.dir, fmt.Sprintf("done.%d", i))); err == nil {
				n++
			}
		}
		if n == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of 5 elements ran", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	sh.capi("wait", strings.TrimSpace(o.stdout)).want(t, 0)
}

// TestE2EFakeLSF drives capi against the fake LSF (bsub, bjobs, bkill,
// bhist on PATH), through the same commands a user at an LSF site runs.
func TestE2EFakeLSF(t *testing.T) {
	t.Parallel()
	sh := newShell(t)
	sh.useFakeLSF()
	config := filepath.Join(sh.dir, "cluster_api.yaml")
	if err := os.WriteFile(config, []byte("executor: lsf\njob_name_prefix: e2e\npoll_interval: 0.2\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	o := sh.capi("doctor")
	o.want(t, 0)
	if !strings.Contains(o.stdout, "[ok  ] lsf ") {
		t.Errorf("doctor:\n%s", o.stdout)
	}

	o = sh.capi("submit", "--json", "--", "sh", "-c", "exit 2")
	o.want(t, 0)
	rec := checkRecord(t, json.RawMessage(o.stdout), map[string]any{"name": "e2e-sh", "executor": "lsf", "submit_time": rfc3339{}})
	failed, _ := rec["job_id"].(string)
	sh.capi("wait", failed).want(t, 1)

	o = sh.capi("submit", "--", "sleep", "60")
	o.want(t, 0)
	long := strings.TrimSpace(o.stdout)
	sh.capi("cancel", long).want(t, 0)
	sh.capi("wait", long).want(t, 130)

	o = sh.capi("status", "--json", failed, long)
	o.want(t, 0)
	var recs []json.RawMessage
	if err := json.Unmarshal([]byte(o.stdout), &recs); err != nil || len(recs) != 2 {
		t.Fatalf("status --json: %v\n%s", err, o.stdout)
	}
	checkRecord(t, recs[0], map[string]any{"job_id": failed, "status": "failed", "exit_code": 2, "reason": "exit_code", "finish_time": rfc3339{}})
	checkRecord(t, recs[1], map[string]any{"job_id": long, "status": "killed", "reason": "cancelled"})

	o = sh.capi("status", "--reconnect")
	o.want(t, 0)
	if !strings.Contains(o.stdout, failed) || !strings.Contains(o.stdout, long) {
		t.Errorf("status --reconnect:\n%s", o.stdout)
	}
}

// Ctrl-C on `capi run` cancels the job: capi exits 130 and no process of the
// job is left, not even a grandchild it put in the background.
func TestE2ERunInterruptKillsProcessTree(t *testing.T) {
	t.Parallel()
	sh := newShell(t)
	pids := filepath.Join(sh.dir, "pids")
	cmd := sh.command("run", "--cpus", "1", "--", "sh", "-c", `sleep 300 & echo $! > "$0"; echo $$ >> "$0"; sleep 301`, pids)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var jobPids []int
	deadline := time.Now().Add(20 * time.Second)
	for len(jobPids) < 2 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("job never started: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
		b, _ := os.ReadFile(pids)
		jobPids = jobPids[:0]
		for _, f := range strings.Fields(string(b)) {
			if p, err := strconv.Atoi(f); err == nil {
				jobPids = append(jobPids, p)
			}
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("capi run exited %d after Ctrl-C, want 130: %s", code, out.String())
	}
	for _, p := range jobPids {
		deadline := time.Now().Add(10 * time.Second)
		for alive(p) {
			if time.Now().After(deadline) {
				t.Errorf("process %d of the cancelled job is still alive", p)
				syscall.Kill(p, syscall.SIGKILL)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// alive reports whether pid is a live process. A zombie (ended, waiting for
// its parent or init to reap it) is not alive: it runs nothing.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no /proc (macOS): trust kill
	}
	// The state letter follows the ")" that ends the command name.
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}

// TestE2EDispatcherEndsWithItsStateDir: a background dispatcher whose
// state dir is removed (a test's temporary home, a user's rm -rf) stops
// instead of waiting forever for jobs that went with the spool.
func TestE2EDispatcherEndsWithItsStateDir(t *testing.T) {
	t.Parallel()
	sh := newShell(t)
	mine := func() []proctest.Process { return proctest.Running("HOME", sh.dir) }
	t.Cleanup(func() {
		for _, p := range mine() {
			syscall.Kill(p.PID, syscall.SIGKILL)
		}
	})
	// One slot held by a long job: the second job stays pending and its
	// submit leaves a dispatcher behind.
	sh.capi("--set", "local_slots=1", "submit", "--", "sleep", "300").want(t, 0)
	sh.capi("--set", "local_slots=1", "submit", "--", "true").want(t, 0)
	dispatchers := func() (n int) {
		for _, p := range mine() {
			if strings.Contains(p.Command, "local-dispatch") {
				n++
			}
		}
		return n
	}
	if dispatchers() == 0 {
		t.Fatalf("no dispatcher after a submit that left a pending job: %+v", mine())
	}
	// Remove the state dir only once every dispatcher has opened the job
	// store: one still starting would fail to open it and exit anyway.
	deadline := time.Now().Add(20 * time.Second)
	for !allHoldStore(mine()) {
		if time.Now().After(deadline) {
			t.Fatalf("the dispatchers never opened the job store: %+v", mine())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The dispatcher and the running job keep writing there: retry until
	// the directory is gone.
	state := filepath.Join(sh.dir, "state")
	for i := 0; os.RemoveAll(state) != nil; i++ {
		if i == 50 {
			t.Fatalf("cannot remove %s", state)
		}
		time.Sleep(20 * time.Millisecond)
	}
	deadline = time.Now().Add(20 * time.Second)
	for dispatchers() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the dispatcher outlived its state dir by 20 s: %+v", mine())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// allHoldStore reports whether every local-dispatch process among procs
// has a jobs.db open.
func allHoldStore(procs []proctest.Process) bool {
	for _, p := range procs {
		if !strings.Contains(p.Command, "local-dispatch") {
			continue
		}
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.PID))
		open := false
		for _, fd := range fds {
			if target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", p.PID, fd.Name())); strings.HasSuffix(target, "jobs.db") {
				open = true
			}
		}
		if !open {
			return false
		}
	}
	return true
}

// A command does its work once: capi status (with or without --reconnect)
// runs one status command however many jobs it shows, and settles the
// submissions a killed capi left from that same command.
func TestE2EStatusRunsOneStatusCommand(t *testing.T) {
	t.Parallel()
	sh := newShell(t)
	calls := filepath.Join(sh.dir, "calls.log")
	sh.useFakeLSF("FAKELSF_CALL_LOG=" + calls)
	config := filepath.Join(sh.dir, "cluster_api.yaml")
	if err := os.WriteFile(config, []byte("executor: lsf\njob_name_prefix: once\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		sh.capi("submit", "--", "sleep", "30").want(t, 0)
	}
	statusCommands := func() int {
		b, _ := os.ReadFile(calls)
		n := 0
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "bjobs ") {
				n++
			}
		}
		os.Remove(calls)
		return n
	}
	statusCommands()
	for _, args := range [][]string{{"status"}, {"status", "--reconnect"}, {"status", "--json"}} {
		o := sh.capi(args...)
		o.want(t, 0)
		if n := statusCommands(); n != 1 {
			t.Errorf("capi %s ran bjobs %d times, want once", strings.Join(args, " "), n)
		}
	}
	o := sh.capi("doctor")
	if !strings.Contains(o.stdout, "shared poll") || !strings.Contains(o.stdout, "lease held by") {
		t.Errorf("doctor does not show the shared poll:\n%s", o.stdout)
	}

	// A site limit: the second status within a minute reads what the first
	// recorded instead of asking bjobs, and a poll_interval below the
	// limit is raised with one notice line.
	if err := os.WriteFile(config, []byte("executor: lsf\njob_name_prefix: once\npoll_interval: 2\nmin_poll_interval: 60\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o = sh.capi("status")
	o.want(t, 0)
	if !strings.Contains(o.stderr, "poll_interval 2s is below this site's min_poll_interval; polling every 1m0s") || strings.Count(o.stderr, "\n") != 1 {
		t.Errorf("stderr %q, want one notice line about the raised poll_interval", o.stderr)
	}
	if n := statusCommands(); n > 1 {
		t.Errorf("a status right after another ran bjobs %d times under min_poll_interval 60", n)
	}
	sh.capi("status").want(t, 0)
	if n := statusCommands(); n != 0 {
		t.Errorf("a second status within min_poll_interval ran bjobs %d times, want none", n)
	}
	sh.capi("cancel", "--all").want(t, 0)
}

// One dispatcher per spool, jobs in submission order: a loop of submits on
// one slot leaves a single background dispatcher, and the jobs start in
// the order they were submitted.
func TestE2ESubmitLoopOneDispatcherFIFO(t *testing.T) {
	t.Parallel()
	sh := newShell(t)
	dispatchers := func() int { return countDispatchers(sh) }
	const n = 30
	var ids []string
	most := 0
	for i := range n {
		o := sh.capi("--set", "local_slots=1", "submit", "--name", fmt.Sprintf("many-%d", i), "--",
			"sh", "-c", fmt.Sprintf(`date +%%s%%N > started.%d; sleep 0.05`, i))
		o.want(t, 0)
		ids = append(ids, strings.TrimSpace(o.stdout))
		most = max(most, dispatchers())
	}
	if most > 1 {
		t.Errorf("%d background dispatchers at once after %d submits, want at most 1", most, n)
	}
	// The same local_slots as the submits, as one config file gives every
	// process: a waiting process adopts jobs whose submitter ended.
	sh.capi(append([]string{"--set", "local_slots=1", "wait"}, ids...)...).want(t, 0)
	var prev int64
	for i := range n {
		b, err := os.ReadFile(filepath.Join(sh.dir, fmt.Sprintf("started.%d", i)))
		if err != nil {
			t.Fatalf("job %d never started: %v", i, err)
		}
		at, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if at < prev {
			t.Errorf("many-%d started before many-%d, want submission order", i, i-1)
		}
		prev = at
	}
}

// 200 capi submit processes at once: never more than one dispatcher, and
// every job runs.
func TestE2EConcurrentSubmitsOneDispatcher(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts 200 processes")
	}
	sh := newShell(t)
	const n = 200
	ids := make([]string, n)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	most := make(chan int, 1)
	go func() {
		m := 0
		for {
			select {
			case <-stop:
				most <- m
				return
			default:
			}
			m = max(m, countDispatchers(sh))
			time.Sleep(20 * time.Millisecond)
		}
	}()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := sh.command("--set", "local_slots=1", "submit", "--", "true")
			out, err := cmd.Output()
			if err != nil {
				t.Errorf("submit %d: %v", i, err)
				return
			}
			ids[i] = strings.TrimSpace(string(out))
		}()
	}
	wg.Wait()
	sh.capi(append([]string{"--set", "local_slots=1", "wait"}, ids...)...).want(t, 0)
	close(stop)
	if m := <-most; m > 1 {
		t.Errorf("%d background dispatchers at once, want at most 1", m)
	}
}

// countDispatchers counts the background dispatchers of a shell's spool.
// A process a dispatcher forks to start a job shows the dispatcher's
// command line until it execs the job: it is not one.
func countDispatchers(sh *shell) int {
	procs := proctest.Running("HOME", sh.dir)
	isDispatcher := map[int]bool{}
	for _, p := range procs {
		isDispatcher[p.PID] = strings.Contains(p.Command, "local-dispatch")
	}
	n := 0
	for _, p := range procs {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
		if err != nil || !isDispatcher[p.PID] {
			continue
		}
		// The parent pid is the 4th field after the parenthesised name.
		f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:]))
		if ppid, _ := strconv.Atoi(f[1]); !isDispatcher[ppid] {
			n++
		}
	}
	return n
}

// A command that holds the dispatcher role hands it over when it exits with
// other processes' jobs still waiting: here `capi run` holds it while two
// submits from another shell wait for its slot. Nothing else polls, so only
// a dispatcher left behind can start them. (The role used to be dropped
// when the exiting command's own job was not waiting.)
func TestE2ERoleHandedOverWhenOthersWait(t *testing.T) {
	t.Parallel()
	sh := newShell(t)
	run := sh.command("--set", "local_slots=1", "run", "--", "sleep", "1")
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(sh.dir, "state", "cluster_api", "local", "journal")
	waitForFile := func(what string, cond func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			b, _ := os.ReadFile(journal)
			if cond(string(b)) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting for %s; journal:\n%s", what, b)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitForFile("capi run's job to start", func(j string) bool { return strings.Contains(j, `"ev":"start"`) })
	var ids []string
	for range 2 {
		o := sh.capi("--set", "local_slots=1", "submit", "--", "true")
		o.want(t, 0)
		ids = append(ids, strings.TrimSpace(o.stdout))
	}
	if err := run.Wait(); err != nil {
		t.Fatalf("capi run: %v", err)
	}
	for _, id := range ids {
		waitForFile("job "+id+" to end", func(j string) bool { return strings.Contains(j, `{"ev":"end","id":"`+id+`"`) })
	}
}

package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/script"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

// submitWith submits cmd with resources res in the env's work dir.
func (e *env) submitWith(name, cmd string, res scheduler.Resources, arr *scheduler.Array) string {
	e.t.Helper()
	res.WorkDir = e.wd
	id, err := submitRes(context.Background(), e.s, e.w, res, name, cmd, arr)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// waitEnd waits for the terminal notification of key.
func (e *env) waitEnd(key string) scheduler.Observation {
	e.t.Helper()
	waitFor(e.t, "job "+key+" to end", func() bool { _, n := e.rec.get(key); return n > 0 })
	o, _ := e.rec.get(key)
	return o
}

// Bug: the walltime was ignored; a job ran on past it. Now the job is
// stopped at its walltime and reads failed/timeout. The 60 s bound of
// waitFor is far below the job's 120 s: a job that was not stopped fails
// the test.
func TestWalltimeStopsJob(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, cmd string
	}{
		// The shell's trap records the TERM; sleep dies of it.
		{"ends on SIGTERM", "sleep 120"},
		// Nothing ends on TERM: SIGKILL after the grace period.
		{"ignores SIGTERM", "trap '' TERM; sleep 120 & sleep 120"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 2)
			e.s.grace = time.Second
			id := e.submitWith("wall", c.cmd, scheduler.Resources{Walltime: 2 * time.Second}, nil)
			var pgid int
			waitFor(t, "the job's pid", func() bool { pgid = pidOf(e.s, id, "job"); return pgid > 0 })
			o := e.waitEnd(id)
			if o.Status != scheduler.Failed || o.Reason != scheduler.ReasonTimeout || !strings.Contains(o.Detail, "walltime limit of 00:00:02") {
				t.Errorf("job at its walltime: %s/%s %q, want failed/timeout naming the limit", o.Status, o.Reason, o.Detail)
			}
			// The end is read back from the spool the same way.
			if got := pollUntilTerminal(t, e.s, []string{id})[id]; got.Status != scheduler.Failed || got.Reason != scheduler.ReasonTimeout {
				t.Errorf("Poll: %s/%s, want failed/timeout", got.Status, got.Reason)
			}
			waitFor(t, "every process of the job, its watchdog included, to end", func() bool { return !groupAlive(pgid) })
		})
	}
}

// A job that ends before its walltime is not touched, and its watchdog
// goes with it.
func TestWalltimeNotReached(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	id := e.submitWith("quick", "exit 3", scheduler.Resources{Walltime: time.Hour}, nil)
	var pgid int
	waitFor(t, "the job's pid", func() bool { pgid = pidOf(e.s, id, "job"); return pgid > 0 })
	if o := e.waitEnd(id); o.Status != scheduler.Failed || o.Reason != scheduler.ReasonExitCode || o.ExitCode != 3 {
		t.Errorf("job within its walltime: %+v, want failed/exit_code 3", o)
	}
	waitFor(t, "the watchdog to end", func() bool { return !groupAlive(pgid) })
	if exists(e.s.sp.timeoutPath(id, "job")) {
		t.Error("timeout marker written for a job that ended in time")
	}
}

// helperWalltime runs in a child process, as `capi submit --walltime`
// does: it submits a job that would run past its walltime, prints its id
// and exits, leaving no capi process behind.
func helperWalltime() {
	s, err := New(scheduler.Options{StateDir: os.Getenv(helperState), Slots: 1})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	id, err := submitRes(context.Background(), s, &script.Writer{},
		scheduler.Resources{WorkDir: os.Getenv(helperWork), Walltime: 2 * time.Second}, "wall", "sleep 120", nil)
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	s.Close()
	fmt.Println("JOB", id)
}

// Bug: `capi submit --walltime 0:01 -- sleep 120` was still running after
// 74 s. The submitting process is gone: the job itself must keep its
// walltime, and whoever looks later finds failed/timeout.
func TestWalltimeWithoutSubmitter(t *testing.T) {
	t.Parallel()
	state, wd := t.TempDir(), t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=walltime", helperState+"="+state, helperWork+"="+wd)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v: %s", err, out)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 || f[0] != "JOB" {
		t.Fatalf("helper said %q", out)
	}
	id := f[1]
	s := openSched(t, state, 1)
	pgid := pidOf(s, id, "job")
	if pgid <= 0 {
		t.Fatalf("job %s has no pid in its run file", id)
	}
	o := pollUntilTerminal(t, s, []string{id})[id]
	if o.Status != scheduler.Failed || o.Reason != scheduler.ReasonTimeout {
		t.Errorf("job past its walltime, submitter gone: %s/%s %q, want failed/timeout", o.Status, o.Reason, o.Detail)
	}
	waitFor(t, "every process of the job to end", func() bool { return !groupAlive(pgid) })
}

// hog is a job that allocates about 512 MB in bash strings (bash is what
// every job script runs, so no other program is needed).
const hog = `s=x; for i in $(seq 28); do s=$s$s; done; echo "allocated ${#s}"`

// A job allocating more than its memory limit ends out_of_memory where a
// cgroup holds it, and failed with the limit named where RLIMIT_AS does.
// Every mechanism this machine has is tried: cgroups when capi may make
// them, and RLIMIT_AS forced.
func TestMemoryLimit(t *testing.T) {
	t.Parallel()
	for _, forceRlimit := range []bool{false, true} {
		name := "best available"
		if forceRlimit {
			name = "RLIMIT_AS"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, 2)
			if forceRlimit {
				e.s.mu.Lock()
				e.s.mem = memState{detected: true, why: "the test asked for RLIMIT_AS"}
				e.s.mu.Unlock()
			}
			res := scheduler.Resources{Memory: 64 * scheduler.MB}
			// Within the limit, a job runs as usual.
			small := e.submitWith("small", `s=x; for i in $(seq 20); do s=$s$s; done; echo "allocated ${#s}"`, res, nil)
			if o := e.waitEnd(small); o.Status != scheduler.Done {
				t.Fatalf("job within its memory limit: %+v, want done", o)
			}
			mem, ok := memOf(e.s, small, "job")
			if !ok {
				t.Fatal("no record of how the memory limit applied")
			}
			t.Logf("memory limit applied as: %s", mem)
			switch {
			case mem.Kind == memNone:
				t.Skipf("no memory limit can be applied on this machine: neither a cgroup nor RLIMIT_AS (%s)", mem.Note)
			case forceRlimit && mem.Kind != memRlimit:
				t.Fatalf("forced RLIMIT_AS, got %s", mem.Kind)
			}
			id := e.submitWith("hog", hog, res, nil)
			o := e.waitEnd(id)
			switch mem.Kind {
			case memCgroup1, memCgroup2:
				if o.Status != scheduler.Failed || o.Reason != scheduler.ReasonOutOfMemory || !strings.Contains(o.Detail, "64 MB") {
					t.Errorf("job over its memory limit: %s/%s %q, want failed/out_of_memory naming the limit", o.Status, o.Reason, o.Detail)
				}
				waitFor(t, "the job's cgroup to be removed", func() bool { return !exists(mem.Cgroup) && !exists(e.cgroupOf(id)) })
				// With a walltime too, its watchdog leaves and the cgroup goes.
				both := e.submitWith("both", "true", scheduler.Resources{Memory: res.Memory, Walltime: time.Hour}, nil)
				if o := e.waitEnd(both); o.Status != scheduler.Done {
					t.Errorf("job with memory and walltime limits: %+v", o)
				}
				waitFor(t, "its cgroup to be removed", func() bool { return !exists(e.cgroupOf(both)) })
			case memRlimit:
				if o.Status != scheduler.Failed || o.Reason != scheduler.ReasonExitCode || !strings.Contains(o.Detail, "RLIMIT_AS") {
					t.Errorf("job over its memory limit: %s/%s %q, want failed/exit_code naming RLIMIT_AS", o.Status, o.Reason, o.Detail)
				}
			}
			if got := pollUntilTerminal(t, e.s, []string{id})[id]; got.Reason != o.Reason {
				t.Errorf("Poll: reason %s, notification %s", got.Reason, o.Reason)
			}
			if b, _ := os.ReadFile(filepath.Join(e.wd, "stdout."+id+".log")); strings.Contains(string(b), "allocated") {
				t.Errorf("the job allocated beyond its limit: %q", b)
			}
		})
	}
}

// cgroupOf is the directory the job's cgroup had, from its record.
func (e *env) cgroupOf(id string) string {
	m, _ := memOf(e.s, id, "job")
	if m.Cgroup == "" {
		return filepath.Join(e.t.TempDir(), "none")
	}
	return m.Cgroup
}

// Mount and cgroup tables, and where job cgroups go.
func TestCgroupPlaces(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name               string
		mountinfo, cgroups string
		subtreeMemory      []string // directories whose subtree_control enables memory
		want               []hierarchy
	}{{
		// Recorded in the container these tests were written in
		// (/proc/self/mountinfo, /proc/self/cgroup): cgroup v2 mounted
		// without the memory controller, v1 memory hierarchy.
		name: "hybrid, v1 memory",
		mountinfo: `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`,
		cgroups: `9:name=systemd:/
4:memory:/process_api/8f929446a72c1cd1f1f1591f414b5629
1:cpu:/
0::/
`,
		want: []hierarchy{{dir: "/sys/fs/cgroup/memory/process_api/8f929446a72c1cd1f1f1591f414b5629"}},
	}, {
		// Made up after the layout of a systemd host where a user's
		// terminal runs in a delegated scope: memory is enabled for the
		// scope's siblings, not below it (it holds processes).
		name:          "unified, user session",
		mountinfo:     "25 20 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
		cgroups:       "0::/user.slice/user-1000.slice/user@1000.service/app.slice/vte-spawn-1.scope\n",
		subtreeMemory: []string{"/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice"},
		want:          []hierarchy{{v2: true, dir: "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice"}},
	}, {
		// Made up: a container with its own cgroup namespace, at the root
		// of what it sees, where memory is enabled below.
		name:          "unified, namespace root",
		mountinfo:     `100 90 0:40 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw` + "\n",
		cgroups:       "0::/\n",
		subtreeMemory: []string{"/sys/fs/cgroup"},
		want:          []hierarchy{{v2: true, dir: "/sys/fs/cgroup"}},
	}, {
		name:          "mount shows another part of the hierarchy",
		mountinfo:     `100 90 0:40 /other /sys/fs/cgroup rw - cgroup2 cgroup2 rw` + "\n",
		cgroups:       "0::/mine\n",
		subtreeMemory: []string{"/sys/fs/cgroup", "/sys/fs/cgroup/mine"},
	}, {
		name:      "no cgroups (macOS has no /proc)",
		mountinfo: "", cgroups: "",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := cgroupPlaces(c.mountinfo, c.cgroups, func(dir string) bool { return slices.Contains(c.subtreeMemory, dir) })
			if !slices.Equal(got, c.want) {
				t.Errorf("places = %+v, want %+v", got, c.want)
			}
		})
	}
	if got := unescapeMount(`/mnt/a\040b\`); got != `/mnt/a b\` {
		t.Errorf("unescapeMount = %q", got)
	}
}

// GPUs are slots: a job holds the devices it asked for, sees them (and
// only them) in CUDA_VISIBLE_DEVICES, and no device is held twice. Two GPU
// slots are configured on a machine that may have none: local_gpus may
// exceed the devices found.
func TestGPUSlots(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	s, err := New(scheduler.Options{StateDir: state, Slots: 8, GPUs: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	e := &env{t: t, s: s, state: state, wd: t.TempDir(), w: &script.Writer{}, rec: newRecorder()}
	s.Subscribe(e.rec.observe)
	log := filepath.Join(e.wd, "gpus.log")
	cmd := fmt.Sprintf(`echo "s $CAPI_JOB_ID [${CUDA_VISIBLE_DEVICES-unset}]" >> %[1]s; sleep 0.3; echo "e $CAPI_JOB_ID" >> %[1]s`, log)
	var ids []string
	for range 5 {
		ids = append(ids, e.submitWith("gpu", cmd, scheduler.Resources{GPUs: 1}, nil))
	}
	both := e.submitWith("gpu2", cmd, scheduler.Resources{GPUs: 2}, nil)
	none := e.submitWith("cpu", cmd, scheduler.Resources{}, nil)
	for _, id := range append(ids, both, none) {
		if o := e.waitEnd(id); o.Status != scheduler.Done {
			t.Errorf("job %s: %+v", id, o)
		}
	}
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	held := map[string]string{} // device -> job holding it
	seen := map[string]string{} // job -> its devices
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		switch {
		case len(fl) == 3 && fl[0] == "s":
			devs := strings.Trim(fl[2], "[]")
			seen[fl[1]] = devs
			if devs == "" {
				continue
			}
			for _, d := range strings.Split(devs, ",") {
				if other, busy := held[d]; busy {
					t.Errorf("job %s got GPU %s while job %s held it", fl[1], d, other)
				}
				held[d] = fl[1]
			}
		case len(fl) == 2 && fl[0] == "e":
			for d, j := range held {
				if j == fl[1] {
					delete(held, d)
				}
			}
		default:
			t.Fatalf("garbled line %q", sc.Text())
		}
	}
	for _, id := range ids {
		if d := seen[id]; d != "0" && d != "1" {
			t.Errorf("1-GPU job %s saw CUDA_VISIBLE_DEVICES %q", id, d)
		}
	}
	if d := seen[both]; d != "0,1" {
		t.Errorf("2-GPU job saw CUDA_VISIBLE_DEVICES %q, want 0,1", d)
	}
	if d := seen[none]; d != "" {
		t.Errorf("job without GPUs saw CUDA_VISIBLE_DEVICES %q, want it set and empty", d)
	}
}

// What the local executor can never give is refused before anything is
// written: more cpus or GPUs than it has, and a queue (it has none).
func TestRefusedResources(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	cases := []struct {
		kind string
		res  scheduler.Resources
	}{
		{"cpus", scheduler.Resources{CPUs: 3}},
		{"gpus", scheduler.Resources{GPUs: e.s.gpus + 1}},
		{"queue", scheduler.Resources{Queue: "long"}},
	}
	for _, c := range cases {
		_, err := e.s.Directives(&scheduler.Job{Resources: c.res})
		var ve *scheduler.ValueError
		if !errors.As(err, &ve) || ve.Kind != c.kind {
			t.Errorf("Directives with %+v: %v, want a ValueError about %s", c.res, err, c.kind)
		}
		_, err = e.s.Submit(context.Background(), &scheduler.Job{Resources: c.res})
		var se *scheduler.SubmitError
		if !errors.As(err, &se) || !strings.Contains(se.Error(), c.kind[:3]) {
			t.Errorf("Submit with %+v: %v, want a SubmitError naming %s", c.res, err, c.kind)
		}
	}
	_, err := e.s.Submit(context.Background(), &scheduler.Job{Resources: scheduler.Resources{Queue: "long"}})
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "--queue") {
		t.Errorf("Submit with a queue: %v, want ErrUnsupported naming --queue", err)
	}
	if _, err := New(scheduler.Options{StateDir: t.TempDir(), GPUs: -1}); err == nil {
		t.Error("New with -1 GPUs: no error")
	}
	if s := openSched(t, t.TempDir(), 1); s.gpus != nvidiaDevices() {
		t.Errorf("default GPU slots = %d, want the %d devices found", s.gpus, nvidiaDevices())
	}
}

// The "#CAPI" comment shows the limits the job runs with.
func TestDirectivesShowLimits(t *testing.T) {
	t.Parallel()
	s := openSched(t, t.TempDir(), 4)
	s.gpus = 2
	got, err := s.Directives(&scheduler.Job{Resources: scheduler.Resources{CPUs: 2, GPUs: 1, Memory: 1536 * scheduler.MB, Walltime: 90 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"#CAPI cpus=2 gpus=1 memory=1536MB walltime=01:30:00"}; !slices.Equal(got, want) {
		t.Errorf("directives = %q, want %q", got, want)
	}
}

func TestDeadline(t *testing.T) {
	t.Parallel()
	start := time.Unix(100, 900_000_000)
	if got := deadline(start, 2*time.Second); got != 103 {
		t.Errorf("deadline = %d, want 103 (never before the walltime)", got)
	}
	if got := deadline(time.Unix(100, 0), 2*time.Second); got != 102 {
		t.Errorf("deadline = %d, want 102", got)
	}
	if got := graceSeconds(200 * time.Millisecond); got != 1 {
		t.Errorf("graceSeconds = %d, want 1", got)
	}
}

// memOf is how element el of job id had its memory limit applied, from its
// start in the journal.
func memOf(s *Scheduler, id, el string) (memRecord, bool) {
	e := elemOf(s, id, el)
	return e.mem, e.mem.Kind != ""
}

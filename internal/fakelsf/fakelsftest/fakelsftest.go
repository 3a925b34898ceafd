// Package fakelsftest builds the fake LSF (internal/fakelsf) for tests and
// gives each test its own fake cluster.
package fakelsftest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// Commands are the names the fake answers to.
var Commands = []string{"bsub", "bjobs", "bkill", "bhist"}

// Build compiles the fake into a temporary directory and links it under
// every LSF command name. Put the returned directory first on PATH.
func Build(t testing.TB) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go command is not on PATH, cannot build the fake LSF: %v", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "fakelsf")
	cmd := exec.Command(gobin, "build", "-o", bin, "github.com/go-cluster-api/clusterapi/internal/fakelsf")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the fake LSF: %v\n%s", err, out)
	}
	for _, name := range Commands {
		if err := os.Symlink("fakelsf", filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Without returns a directory like bin (from Build) that lacks the named
// commands: a site where users cannot run bhist, say.
func Without(t testing.TB, bin string, missing ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range Commands {
		if slices.Contains(missing, name) {
			continue
		}
		if err := os.Symlink(filepath.Join(bin, "fakelsf"), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Cluster is one fake LSF cluster: its state directory and the settings
// (FAKELSF_* variables) every command run against it gets.
type Cluster struct {
	Dir string
	Env []string

	mu       sync.Mutex
	settings map[string]string // what Set wrote to the settings file
}

// NewCluster creates an empty cluster in a temporary directory. env holds
// extra settings such as "FAKELSF_NO_BKILL_D=1". When the test ends, every
// job still running is killed and the cluster's processes are waited for.
func NewCluster(t testing.TB, env ...string) *Cluster {
	t.Helper()
	dir := t.TempDir()
	c := &Cluster{Dir: dir, Env: append([]string{"FAKELSF_DIR=" + dir}, env...)}
	t.Cleanup(func() {
		if err := c.Stop(10 * time.Second); err != nil {
			t.Error(err)
		}
	})
	return c
}

// Set changes settings while the cluster runs: each "KEY=VALUE" overrides
// the environment's KEY for every command from now on, an empty VALUE
// brings back the default ("FAKELSF_DOWN=" ends an outage). The fake reads
// them from the file "settings" in the cluster's directory at every call
// (see internal/fakelsf), which Set replaces atomically.
func (c *Cluster) Set(t testing.TB, kv ...string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.settings == nil {
		c.settings = map[string]string{}
	}
	for _, s := range kv {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			t.Fatalf("fakelsftest: setting %q is not KEY=VALUE", s)
		}
		c.settings[k] = v
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(c.settings)) {
		b.WriteString(k + "=" + c.settings[k] + "\n")
	}
	tmp := filepath.Join(c.Dir, "settings.tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(c.Dir, "settings")); err != nil {
		t.Fatal(err)
	}
}

// Runner wraps base so that every command it runs talks to this cluster.
func (c *Cluster) Runner(base scheduler.Runner) scheduler.Runner {
	return scheduler.RunnerFunc(func(ctx context.Context, cmd scheduler.Command) (scheduler.Result, error) {
		cmd.Env = append(append([]string(nil), c.Env...), cmd.Env...)
		return base.Run(ctx, cmd)
	})
}

// running reports whether pid is a live process. A supervisor that has
// exited stays a zombie until init reaps it, which some container inits do
// slowly; on Linux /proc tells the two apart.
func running(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state letter follows the command name in parentheses.
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}

// Stop kills every running job's process group and waits up to timeout
// for the job supervisors to exit.
func (c *Cluster) Stop(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var st struct {
			Jobs []struct {
				Supervisor int `json:"supervisor_pid"`
				Elements   []struct {
					Stat string `json:"stat"`
					PID  int    `json:"pid"`
				} `json:"elements"`
			} `json:"jobs"`
		}
		b, err := os.ReadFile(filepath.Join(c.Dir, "state.json"))
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &st); err != nil {
			return err
		}
		alive := false
		for _, j := range st.Jobs {
			for _, e := range j.Elements {
				if e.Stat == "RUN" && e.PID > 0 {
					syscall.Kill(-e.PID, syscall.SIGKILL)
				}
			}
			if j.Supervisor > 0 && running(j.Supervisor) {
				alive = true
			}
		}
		if !alive {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("fake LSF job supervisors still running after " + timeout.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

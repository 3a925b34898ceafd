// Package fakelsftest builds the fake LSF (internal/fakelsf) for tests and
// gives each test its own fake cluster.
package fakelsftest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

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

// Cluster is one fake LSF cluster: its state directory and the settings
// (FAKELSF_* variables) every command run against it gets.
type Cluster struct {
	Dir string
	Env []string
}

// NewCluster creates an empty cluster in a temporary directory. env holds
// extra settings such as "FAKELSF_NO_BKILL_D=1".
func NewCluster(t testing.TB, env ...string) *Cluster {
	t.Helper()
	dir := t.TempDir()
	return &Cluster{Dir: dir, Env: append([]string{"FAKELSF_DIR=" + dir}, env...)}
}

// Runner wraps base so that every command it runs talks to this cluster.
func (c *Cluster) Runner(base scheduler.Runner) scheduler.Runner {
	return scheduler.RunnerFunc(func(ctx context.Context, cmd scheduler.Command) (scheduler.Result, error) {
		cmd.Env = append(append([]string(nil), c.Env...), cmd.Env...)
		return base.Run(ctx, cmd)
	})
}

//go:build integration

package integration

import (
	"os"
	"os/exec"
	"testing"
)

// require skips when the scheduler's commands are missing, unless the
// environment demands it (CI), where a missing scheduler is a failure.
func require(t *testing.T, command, env string) {
	t.Helper()
	if _, err := exec.LookPath(command); err != nil {
		if os.Getenv(env) == "1" {
			t.Fatalf("%s not on PATH but %s=1: start the cluster with scripts/", command, env)
		}
		t.Skipf("%s not on PATH: start the cluster with scripts/ (as root), or set %s=1 to make this a failure", command, env)
	}
}

func TestSLURM(t *testing.T) {
	require(t, "sbatch", "CAPI_REQUIRE_SLURM")
	runSuite(t, target{executor: "slurm", holdArgs: []string{"--hold"}})
}

func TestGridEngine(t *testing.T) {
	require(t, "qsub", "CAPI_REQUIRE_SGE")
	runSuite(t, target{executor: "sge", holdArgs: []string{"-h"}})
}

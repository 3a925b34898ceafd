//go:build integration

package integration

import (
	"os"
	"os/exec"
	"testing"
	"time"

	capi "github.com/go-cluster-api/clusterapi"
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
	// .ci/integration starts SLURM with MinJobAge=5; finished jobs leave
	// squeue 1-2 s after that.
	runSuite(t, target{executor: "slurm", holdArgs: []string{"--hold"}, ageOut: 8 * time.Second,
		cancel: func(id string) []string { return []string{"scancel", id} }, signalsFirst: true,
		listed: func(id string) []string { return []string{"squeue", "-h", "-t", "all", "-j", id, "-o", "%i"} }})
}

// TestLiveLSF runs the suite against a real LSF cluster, for users at LSF
// sites: it needs bsub on PATH and CAPI_LSF_LIVE=1. Site settings (queue,
// lsf_units, lsf_explicit_units, extra_args, ...) go in
// integration/cluster_config.yaml, which git ignores:
//
//	queue: short
//	lsf_units: MB
//
//	CAPI_LSF_LIVE=1 go test -tags integration -run TestLiveLSF -v ./integration/
func TestLiveLSF(t *testing.T) {
	if os.Getenv("CAPI_LSF_LIVE") != "1" {
		t.Skip("set CAPI_LSF_LIVE=1 (with bsub on PATH) to run against a live LSF cluster")
	}
	require(t, "bsub", "CAPI_LSF_LIVE")
	site := capi.Config{}
	if _, err := os.Stat("cluster_config.yaml"); err == nil {
		var err error
		if site, _, err = capi.LoadConfig(capi.LoadOptions{Path: "cluster_config.yaml", Strict: true}); err != nil {
			t.Fatal(err)
		}
	}
	runSuite(t, target{
		executor: "lsf",
		holdArgs: []string{"-H"},
		timeout:  10 * time.Minute,
		config: func(c *capi.Config) {
			c.Queue, c.Account, c.LSFUnits, c.LSFExplicitUnits = site.Queue, site.Account, site.LSFUnits, site.LSFExplicitUnits
			c.ExtraArgs, c.ExtraDirectives, c.ScriptPrologue = site.ExtraArgs, site.ExtraDirectives, site.ScriptPrologue
			c.PollInterval = 5 * time.Second
		},
	})
}

func TestGridEngine(t *testing.T) {
	require(t, "qsub", "CAPI_REQUIRE_SGE")
	// qdel sends SIGKILL at once: no exit file, qacct knows.
	runSuite(t, target{executor: "sge", holdArgs: []string{"-h"},
		cancel: func(id string) []string { return []string{"qdel", id} }})
}

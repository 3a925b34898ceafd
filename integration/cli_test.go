//go:build integration

package integration

import "testing"

func TestCLISLURM(t *testing.T) {
	require(t, "sbatch", "CAPI_REQUIRE_SLURM")
	runCLISuite(t, "slurm")
}

func TestCLIGridEngine(t *testing.T) {
	require(t, "qsub", "CAPI_REQUIRE_SGE")
	runCLISuite(t, "sge")
}

package integration

import (
	"os"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/fakelsf/fakelsftest"
	"github.com/go-cluster-api/clusterapi/internal/runner"
)

// TestFakeLSF runs the suite against the fake LSF on PATH: the same
// commands, output formats and quirks as real LSF (see internal/fakelsf).
func TestFakeLSF(t *testing.T) {
	bin := fakelsftest.Build(t)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cluster := fakelsftest.NewCluster(t, "FAKELSF_CLEAN_PERIOD=2")
	runSuite(t, target{
		executor: "lsf",
		runner:   cluster.Runner(&runner.Exec{Timeout: 30 * time.Second}),
		timeout:  time.Minute,
		ageOut:   3 * time.Second, // FAKELSF_CLEAN_PERIOD=2 plus a margin
	})
}

// TestCLIFakeLSF drives the capi binary against the fake LSF on PATH.
func TestCLIFakeLSF(t *testing.T) {
	bin := fakelsftest.Build(t)
	cluster := fakelsftest.NewCluster(t, "FAKELSF_CLEAN_PERIOD=2")
	env := append([]string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}, cluster.Env...)
	runCLISuite(t, "lsf", env...)
}

package lsf_test

import (
	"os"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/fakelsf/fakelsftest"
	"github.com/go-cluster-api/clusterapi/internal/runner"
	"github.com/go-cluster-api/clusterapi/scheduler"
	"github.com/go-cluster-api/clusterapi/scheduler/lsf"
	"github.com/go-cluster-api/clusterapi/scheduler/schedtest"
)

// The scheduler contract, on the fake LSF (a real LSF runs it through
// integration's TestLiveLSF suite).
func TestConformance(t *testing.T) {
	bin := fakelsftest.Build(t)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	schedtest.Run(t, schedtest.Target{
		New: func(t *testing.T) (scheduler.Scheduler, string) {
			work := t.TempDir() // before the cluster: removed after its jobs stop
			cluster := fakelsftest.NewCluster(t, "FAKELSF_CLEAN_PERIOD=1")
			s, err := lsf.New(scheduler.Options{Runner: cluster.Runner(&runner.Exec{Timeout: 20 * time.Second}), SuppressJobEmail: true})
			if err != nil {
				t.Fatal(err)
			}
			return s, work
		},
		Timeout: time.Minute,
	})
}

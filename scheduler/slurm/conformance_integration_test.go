//go:build integration

package slurm

import (
	"testing"

	"github.com/go-cluster-api/clusterapi/scheduler"
	"github.com/go-cluster-api/clusterapi/scheduler/schedtest"
)

// The scheduler contract on the real SLURM of scripts/slurm-up.sh.
func TestConformance(t *testing.T) {
	schedtest.Run(t, schedtest.Target{New: func(t *testing.T) (scheduler.Scheduler, string) {
		return requireSlurm(t).s, schedtest.Dir(t)
	}})
}

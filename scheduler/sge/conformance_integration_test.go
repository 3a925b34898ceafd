//go:build integration

package sge

import (
	"testing"

	"github.com/go-cluster-api/clusterapi/scheduler"
	"github.com/go-cluster-api/clusterapi/scheduler/schedtest"
)

// The scheduler contract on the real Grid Engine of scripts/sge-up.sh.
func TestConformance(t *testing.T) {
	schedtest.Run(t, schedtest.Target{New: func(t *testing.T) (scheduler.Scheduler, string) {
		return realScheduler(t), schedtest.Dir(t)
	}})
}

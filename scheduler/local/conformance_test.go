package local

import (
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
	"github.com/go-cluster-api/clusterapi/scheduler/schedtest"
)

func TestConformance(t *testing.T) {
	schedtest.Run(t, schedtest.Target{
		New: func(t *testing.T) (scheduler.Scheduler, string) {
			work := t.TempDir()
			return openSched(t, t.TempDir(), 2), work
		},
		Timeout: time.Minute,
	})
}

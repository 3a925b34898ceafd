package lsf

import (
	"os"
	"testing"

	"github.com/go-cluster-api/clusterapi/internal/proctest"
)

// TestMain fails the run when a process its tests started outlives them.
func TestMain(m *testing.M) { os.Exit(proctest.Wrap(m).Run()) }

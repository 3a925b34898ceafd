package integration

import "testing"

// TestLocal runs the suite against the local executor.
func TestLocal(t *testing.T) {
	runSuite(t, target{executor: "local"})
}

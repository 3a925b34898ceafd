package integration

import "testing"

// TestLocal runs the suite against the local executor.
func TestLocal(t *testing.T) {
	runSuite(t, target{executor: "local"})
}

// TestCLILocal drives the capi binary against the local executor.
func TestCLILocal(t *testing.T) {
	runCLISuite(t, "local")
}

package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Ctrl-C exits 130 on every command. These send a real SIGINT to the capi
// binary: once while array --wait runs an array with a failed element
// (130, not 1, and the killed elements counted), and once while a command
// that does not wait for jobs (doctor) waits for a scheduler command.

func TestE2EInterruptArrayWaitAfterAFailure(t *testing.T) {
	t.Parallel()
	sh := newShell(t)
	cmd := sh.command("array", "--range", "1-100", "--max-concurrent", "2", "--wait", "--",
		"sh", "-c", `[ "$CAPI_ARRAY_INDEX" = 1 ] && exit 1; touch "ran.$CAPI_ARRAY_INDEX"; sleep 0.1`)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, filepath.Join(sh.dir, "ran.4"))
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit %d after Ctrl-C, want 130\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), " killed of 100") || strings.Contains(out.String(), " 0 killed of 100") ||
		!strings.Contains(out.String(), "failed indices: 1\n") || !strings.Contains(out.String(), "killed indices: ") {
		t.Errorf("report:\n%s", out.String())
	}
}

func TestE2EInterruptWhileASchedulerCommandRuns(t *testing.T) {
	t.Parallel()
	sh := newShell(t)
	bin := filepath.Join(sh.dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(sh.dir, "asked")
	// A bsub that hangs, as one does when the LSF master is unreachable.
	hang := "#!/bin/sh\ntouch " + marker + "\nexec sleep 60\n"
	for _, name := range []string{"bsub", "bjobs", "bkill"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(hang), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, kv := range sh.env {
		if strings.HasPrefix(kv, "PATH=") {
			sh.env[i] = "PATH=" + bin + string(os.PathListSeparator) + strings.TrimPrefix(kv, "PATH=")
		}
	}
	cmd := sh.command("--executor", "lsf", "doctor", "--timeout", "60s")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, marker)
	start := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit %d after Ctrl-C, want 130\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("capi took %v to stop after Ctrl-C", d)
	}
	if !strings.HasSuffix(errOut.String(), "capi: interrupted\n") {
		t.Errorf("stderr %q", errOut.String())
	}
}

// waitFor waits for a file a job or a fake command creates.
func waitFor(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

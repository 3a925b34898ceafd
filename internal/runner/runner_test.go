package runner

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

func TestRunCapturesBothStreamsAndExitCode(t *testing.T) {
	t.Parallel()
	r := &Exec{}
	res, err := r.Run(context.Background(), scheduler.Command{
		Argv: []string{"sh", "-c", `echo out; echo err >&2; exit 3`},
	})
	var cerr *scheduler.CommandError
	if !errors.As(err, &cerr) {
		t.Fatalf("err = %v, want *CommandError", err)
	}
	if !errors.Is(err, scheduler.ErrClusterAPI) {
		t.Error("CommandError does not match ErrClusterAPI")
	}
	if cerr.ExitCode != 3 || res.ExitCode != 3 {
		t.Errorf("exit = %d/%d, want 3", cerr.ExitCode, res.ExitCode)
	}
	if string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" {
		t.Errorf("stdout %q stderr %q", res.Stdout, res.Stderr)
	}
	if !strings.Contains(err.Error(), "err") || !strings.Contains(err.Error(), "exited 3") {
		t.Errorf("message %q lacks the stderr text or exit code", err)
	}
}

func TestRunFeedsStdinAndEnv(t *testing.T) {
	t.Parallel()
	r := &Exec{}
	res, err := r.Run(context.Background(), scheduler.Command{
		Argv:  []string{"sh", "-c", `cat; echo "$CAPI_TEST_VAR"`},
		Stdin: []byte("from stdin\n"),
		Env:   []string{"CAPI_TEST_VAR=from env"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.Stdout); got != "from stdin\nfrom env\n" {
		t.Errorf("stdout = %q", got)
	}
}

func TestRunMissingCommand(t *testing.T) {
	t.Parallel()
	r := &Exec{}
	_, err := r.Run(context.Background(), scheduler.Command{Argv: []string{"capi-no-such-command-xyz"}})
	if !errors.Is(err, exec.ErrNotFound) {
		t.Fatalf("err = %v, want exec.ErrNotFound inside", err)
	}
	if !strings.Contains(err.Error(), "capi-no-such-command-xyz") || !strings.Contains(err.Error(), "PATH") {
		t.Errorf("message %q should name the command and PATH", err)
	}
}

// A command that hangs is killed at the timeout together with the children
// it started, and the error says which command and which timeout.
func TestRunTimeoutKillsProcessGroup(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	r := &Exec{Timeout: 300 * time.Millisecond}
	_, err := r.Run(context.Background(), scheduler.Command{
		Argv: []string{"sh", "-c", `sleep 60 & echo $! > "$1"; wait`, "sh", pidFile},
	})
	var terr *scheduler.TimeoutError
	if !errors.As(err, &terr) {
		t.Fatalf("err = %v, want *TimeoutError", err)
	}
	if !errors.Is(err, scheduler.ErrTransient) {
		t.Error("a timeout must be transient")
	}
	if terr.Timeout != 300*time.Millisecond || terr.Argv[0] != "sh" {
		t.Errorf("timeout error lost its facts: %+v", terr)
	}
	b, rerr := os.ReadFile(pidFile)
	if rerr != nil {
		t.Fatal(rerr)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	// The kill is delivered before Run returns; give the kernel a moment to
	// reap by polling (no fixed sleep decides the result).
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("grandchild %d still alive after timeout", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRunCallerCancellationIsNotTimeout(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := &Exec{Timeout: time.Minute}
	_, err := r.Run(ctx, scheduler.Command{Argv: []string{"sleep", "5"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

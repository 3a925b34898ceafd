// Package runner runs external commands for the scheduler packages: with a
// timeout, in their own process group so that a timed-out command and every
// child it started are killed, and with errors that keep argv, exit code and
// both output streams.
package runner

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// Exec runs commands as real subprocesses.
type Exec struct {
	// Timeout bounds every command (command_timeout); 0 means no limit
	// beyond the caller's context.
	Timeout time.Duration
	// Logger receives one debug line per command; nil discards.
	Logger *slog.Logger
}

var _ scheduler.Runner = (*Exec)(nil)

// Run implements scheduler.Runner.
func (r *Exec) Run(ctx context.Context, c scheduler.Command) (scheduler.Result, error) {
	if len(c.Argv) == 0 {
		return scheduler.Result{}, &scheduler.CommandError{ExitCode: -1, Err: errors.New("empty command")}
	}
	runCtx := ctx
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(runCtx, c.Argv[0], c.Argv[1:]...)
	setProcessGroup(cmd)
	cmd.WaitDelay = 2 * time.Second
	cmd.Dir = c.Dir
	if len(c.Env) > 0 {
		cmd.Env = append(os.Environ(), c.Env...)
	}
	if c.Stdin != nil {
		cmd.Stdin = bytes.NewReader(c.Stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr

	start := time.Now()
	err := cmd.Run()
	res := scheduler.Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: exitCode(cmd, err)}
	if r.Logger != nil {
		r.Logger.Debug("command", "argv", c.Argv, "exit", res.ExitCode, "took", time.Since(start))
	}
	if err == nil {
		return res, nil
	}
	// The caller's own cancellation is not a scheduler timeout.
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	if runCtx.Err() == context.DeadlineExceeded {
		return res, &scheduler.TimeoutError{Argv: c.Argv, Timeout: r.Timeout}
	}
	cerr := &scheduler.CommandError{Argv: c.Argv, ExitCode: res.ExitCode, Stdout: res.Stdout, Stderr: res.Stderr}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		cerr.Err = startError(c.Argv[0], err)
	}
	return res, cerr
}

func exitCode(cmd *exec.Cmd, err error) int {
	if cmd.ProcessState == nil {
		return -1
	}
	if err == nil {
		return 0
	}
	return cmd.ProcessState.ExitCode()
}

// startError makes "executable not found" say what to do.
func startError(name string, err error) error {
	if errors.Is(err, exec.ErrNotFound) {
		return &notFoundError{name: name, err: err}
	}
	return err
}

type notFoundError struct {
	name string
	err  error
}

func (e *notFoundError) Error() string {
	return "not found on PATH: is the scheduler's client installed and loaded here (e.g. `module load`), or is `executor` set right in the config?"
}

func (e *notFoundError) Unwrap() error { return e.err }

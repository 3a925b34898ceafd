package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	capi "github.com/go-cluster-api/clusterapi"
	"github.com/go-cluster-api/clusterapi/scheduler/local"
)

// The local executor's jobs are started by the one process holding its
// spool's dispatcher role: a process that submits or polls takes the role
// when nobody holds it. Every capi command that ends with jobs of the
// spool still waiting hands the role (a lock) to one detached `capi
// local-dispatch`, unless another process holds it (local.HandOff decides,
// under the journal lock): that one starts every waiting job of the spool,
// oldest first, as slots free up, and exits when nothing waits or runs (or
// the spool is gone). 60 submits in a loop leave one dispatcher, not 60.

// dispatchInterval is how often the background dispatcher polls the spool.
const dispatchInterval = 500 * time.Millisecond

// dispatchLockFD is where a dispatcher finds the lock its parent handed it
// (the first of exec.Cmd.ExtraFiles).
const dispatchLockFD = 3

// dispatchLockEnv tells a dispatcher that it inherited the lock.
const dispatchLockEnv = "CAPI_DISPATCHER_LOCK"

func newDispatchCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "local-dispatch",
		Short:  "Start the local executor's waiting jobs until none is left (started by submit and array)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.dispatch(cmd.Context())
		},
	}
}

func (g *globals) dispatch(ctx context.Context) error {
	if ctx == nil {
		ctx = background()
	}
	g.dispatching = true // it never hands its role to another dispatcher
	if os.Getenv(dispatchLockEnv) == "1" {
		// Before any job starts: the jobs this process starts must neither
		// hold the role after it exits nor take an unrelated descriptor
		// for it.
		os.Unsetenv(dispatchLockEnv)
		syscall.CloseOnExec(dispatchLockFD)
		local.InheritDispatcher(os.NewFile(dispatchLockFD, "dispatcher lock"))
	}
	s, err := g.openSession()
	if err != nil {
		return err
	}
	defer s.Close()
	stateDir := s.ex.Config().StateDir
	if s.ex.Name() != "local" || !local.ClaimDispatcher(stateDir) {
		return nil // another dispatcher runs
	}
	// The monitor records the states of the jobs this process starts in
	// the job store, for the commands that read them.
	m := capi.NewMonitor(s.ex, &capi.MonitorOptions{Interval: dispatchInterval})
	m.Start()
	defer m.Stop()
	tick := time.NewTicker(dispatchInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		if path, ok := firstMissing(stateDir, local.SpoolDir(stateDir)); ok {
			// Nobody can read what this process would record, and its
			// jobs went with the spool: a helper of ours never outlives
			// its state dir.
			g.logger().Warn("state dir removed; the background dispatcher stops", "path", path)
			return nil
		}
		// Give the role up only if nothing waits or runs (checked where
		// submissions are appended), and exit at once: a dispatcher that
		// has given up its role is gone.
		if done, err := local.ReleaseIfIdle(stateDir); err != nil || done {
			return err
		}
	}
}

// firstMissing returns the first of paths that no longer exists.
func firstMissing(paths ...string) (string, bool) {
	for _, p := range paths {
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			return p, true
		}
	}
	return "", false
}

// leaveDispatcher makes sure a dispatcher will start the spool's waiting
// elements after this process exits, whichever process submitted them:
// when some wait, it starts one, handing it the dispatcher role (this
// process's own, if it holds it), unless another process holds the role.
// Every command calls it before closing its executor, except the
// dispatcher itself. Only the capi binary does this (g.self is set by
// Main); tests calling run never spawn processes.
func (g *globals) leaveDispatcher(ex *capi.Executor) {
	if ex.Name() != "local" || g.self == "" || g.dispatching {
		return
	}
	lock, err := local.HandOff(ex.Config().StateDir)
	if err != nil {
		g.logger().Warn("cannot start the background dispatcher; waiting elements start with the next capi command", "err", err)
		return
	}
	if lock == nil {
		return // nothing waits, or the running dispatcher starts it
	}
	defer lock.Close() // the child keeps the role through its copy
	args := []string{}
	if g.config != "" {
		args = append(args, "--config", g.config)
	}
	if g.profile != "" {
		args = append(args, "--profile", g.profile)
	}
	if g.executor != "" {
		args = append(args, "--executor", g.executor)
	}
	for _, kv := range g.set {
		args = append(args, "--set", kv)
	}
	args = append(args, "local-dispatch")
	cmd := exec.Command(g.self, args...)
	cmd.Env = append(os.Environ(), dispatchLockEnv+"=1")
	cmd.ExtraFiles = []*os.File{lock}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		g.logger().Warn("cannot start the background dispatcher; waiting elements start with the next capi command", "err", err)
		return
	}
	defer devnull.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	// Its own session: it survives this process, the terminal closing, and
	// Ctrl-C in the shell.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		g.logger().Warn("cannot start the background dispatcher; waiting elements start with the next capi command", "err", err)
		return
	}
	if g.verbose {
		fmt.Fprintf(g.io.ErrOut, "capi: background dispatcher %d starts the waiting jobs as slots free up\n", cmd.Process.Pid)
	}
	cmd.Process.Release()
}

// selfPath is the running capi binary ("" if unknown).
func selfPath() string {
	p, err := os.Executable()
	if err != nil {
		return ""
	}
	return p
}

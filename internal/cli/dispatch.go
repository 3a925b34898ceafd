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

// The local executor starts a job's elements from the process that
// submitted it, as slots free up; when that process ends, the next capi
// process that polls the spool adopts what is still pending. `capi submit`
// and `capi array` end at once, so when they leave pending work behind they
// start a detached `capi local-dispatch` that polls until those jobs have
// ended: an array of 100 elements on a 2-cpu machine runs to the end after
// the user logged out.

// dispatchInterval is how often the background dispatcher polls the spool.
const dispatchInterval = 500 * time.Millisecond

func newDispatchCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:    "local-dispatch ID...",
		Short:  "Run the local executor's pending jobs to the end (started by submit and array)",
		Hidden: true,
		Args:   cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.dispatch(cmd.Context(), args)
		},
	}
}

func (g *globals) dispatch(ctx context.Context, ids []string) error {
	if ctx == nil {
		ctx = background()
	}
	s, err := g.openSession()
	if err != nil {
		return err
	}
	defer s.Close()
	if s.ex.Name() != "local" {
		return nil
	}
	jobs, err := s.getAll(ctx, ids)
	if err != nil {
		return err
	}
	m := capi.NewMonitor(s.ex, &capi.MonitorOptions{Interval: dispatchInterval})
	m.Start()
	defer m.Stop()
	stateDir := s.ex.Config().StateDir
	tick := time.NewTicker(dispatchInterval)
	defer tick.Stop()
	for _, j := range jobs {
		for waiting := true; waiting; {
			select {
			case <-j.Done():
				waiting = false
			case <-tick.C:
				if path, ok := firstMissing(stateDir, local.SpoolDir(stateDir)); ok {
					// Nobody can read what this process would record,
					// and its jobs went with the spool: a helper of
					// ours never outlives its state dir.
					g.logger().Warn("state dir removed; the background dispatcher stops", "path", path)
					return nil
				}
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
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

// leaveDispatcher starts a detached dispatcher for job when the local
// executor still has elements of it to start. Only the capi binary does
// this (g.self is set by Main); tests calling run never spawn processes.
func (g *globals) leaveDispatcher(ex *capi.Executor, job *capi.Job) {
	if ex.Name() != "local" || g.self == "" || !hasPending(job.Snapshot()) {
		return
	}
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
	args = append(args, "local-dispatch", job.ID())
	cmd := exec.Command(g.self, args...)
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		g.logger().Warn("cannot start the background dispatcher; pending elements start with the next capi command", "err", err)
		return
	}
	defer devnull.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	// Its own session: it survives this process, the terminal closing, and
	// Ctrl-C in the shell.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		g.logger().Warn("cannot start the background dispatcher; pending elements start with the next capi command", "err", err)
		return
	}
	if g.verbose {
		fmt.Fprintf(g.io.ErrOut, "capi: background dispatcher %d runs the pending elements of job %s\n", cmd.Process.Pid, job.ID())
	}
	cmd.Process.Release()
}

func hasPending(r capi.Record) bool {
	if r.Array == nil {
		return r.Status == capi.Pending
	}
	return r.Array.Counts.Pending > 0
}

// selfPath is the running capi binary ("" if unknown).
func selfPath() string {
	p, err := os.Executable()
	if err != nil {
		return ""
	}
	return p
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	capi "github.com/go-cluster-api/clusterapi"
)

type runOptions struct {
	*globals
	res   resourceFlags
	quiet bool
}

func newRunCmd(g *globals) *cobra.Command {
	o := &runOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "run [flags] -- COMMAND [ARG...]",
		Short: "Submit one job, stream its output, and exit with its exit code",
		Long: `Submit one job, wait for it, and stream its stdout (and stderr) logs while it runs.
capi exits with the job's exit code: 1 if it failed without one, 130 if it was
killed. Ctrl-C cancels the job (and exits 130).

With --json the logs are not streamed; the job's record is printed when it has
ended, and the exit status is the same.`,
		Example: `  capi run -- echo hello
  capi run --cpus 4 --memory "8 GB" --walltime 1:00 -- python train.py --epochs 3
  capi --executor slurm run --queue short -- ./pipeline.sh`,
		Args:        cobra.ArbitraryArgs,
		Annotations: jsonOK,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args)
		},
	}
	o.res.register(cmd.Flags(), true)
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "do not stream the job's logs")
	return cmd
}

func (o *runOptions) run(ctx context.Context, argv []string) error {
	if ctx == nil {
		ctx = background()
	}
	spec, err := o.res.submission(argv)
	if err != nil {
		return err
	}
	ex, err := o.newExecutor()
	if err != nil {
		return err
	}
	defer o.closeExecutor(ex)
	mon := capi.NewMonitor(ex, nil)
	mon.Start()
	defer mon.Stop()

	// Listen for Ctrl-C before submitting: a local job starts at once, and
	// an interrupt that arrived before the handler would kill capi and
	// leave the job running. One that arrives during Submit is handled
	// (the job cancelled) as soon as the job exists.
	sigs, stopSignals := o.interrupts()
	defer stopSignals()
	// An interrupt during the submit cancels the job once it exists.
	job, err := ex.Submit(context.WithoutCancel(ctx), spec)
	if err != nil {
		return &exitError{code: codeFor(err), err: err}
	}
	rec := job.Snapshot()
	if o.verbose {
		fmt.Fprintf(o.io.ErrOut, "capi: submitted %s\n", describe(rec))
	}
	var outTail, errTail *tail
	if !o.quiet && !o.json {
		outTail = &tail{path: rec.StdoutPath, w: o.io.Out}
		if rec.StderrPath != rec.StdoutPath {
			errTail = &tail{path: rec.StderrPath, w: o.io.ErrOut}
		}
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	interrupted := false
loop:
	for {
		select {
		case <-job.Done():
			break loop
		case <-sigs:
			if interrupted {
				break loop
			}
			interrupted = true
			o.line().write(o.io.ErrOut, fmt.Sprintf("capi: interrupted, cancelling job %s\n", job.ID()))
			cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			err := ex.Cancel(cctx, job.ID(), nil)
			cancel()
			if err != nil {
				return &exitError{code: ExitScheduler, err: fmt.Errorf("cancel job %s: %w", job.ID(), err)}
			}
		case <-tick.C:
		}
		outTail.pump()
		errTail.pump()
	}
	outTail.pump()
	errTail.pump()
	rec = job.Snapshot()
	if o.json {
		if err := writeJSON(o.io.Out, rec); err != nil {
			return err
		}
	}
	if interrupted && rec.Status != capi.Killed {
		// It ended before the cancel reached it, or a second Ctrl-C
		// stopped the wait: still 130, the user interrupted.
		return &exitError{code: ExitKilled, err: fmt.Errorf("interrupted; %s is %s", describe(rec), rec.Status)}
	}
	return jobExit(o.io.ErrOut, rec)
}

// jobExit turns a finished job into capi's exit status.
func jobExit(w io.Writer, rec capi.Record) error {
	switch rec.Status {
	case capi.Done:
		return nil
	case capi.Killed:
		return &exitError{code: ExitKilled, err: fmt.Errorf("%s was killed: %s", describe(rec), orDefault(rec.Detail, "cancelled"))}
	case capi.Failed:
		if rec.ExitCode != nil && *rec.ExitCode > 0 && *rec.ExitCode < 256 {
			if rec.Reason != capi.ReasonExitCode {
				fmt.Fprintf(w, "capi: %s failed (%s): %s\n", describe(rec), rec.Reason, rec.Detail)
			}
			return &exitError{code: *rec.ExitCode}
		}
		return &exitError{code: ExitJobFailed, err: fmt.Errorf("%s failed (%s): %s", describe(rec), orDefault(string(rec.Reason), "unknown reason"), rec.Detail)}
	}
	return &exitError{code: ExitScheduler, err: fmt.Errorf("%s ended in an unexpected state %q", describe(rec), rec.Status)}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// tail copies what is appended to a file to w.
type tail struct {
	path string
	w    io.Writer
	f    *os.File
}

func (t *tail) pump() {
	if t == nil {
		return
	}
	if t.f == nil {
		f, err := os.Open(t.path)
		if err != nil {
			return // not created yet
		}
		t.f = f
	}
	if _, err := io.Copy(t.w, t.f); err != nil && !errors.Is(err, io.EOF) {
		return
	}
}

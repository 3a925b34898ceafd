package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"

	capi "github.com/go-cluster-api/clusterapi"
)

type logsOptions struct {
	*globals
	index  int
	stderr bool
	follow bool
}

func newLogsCmd(g *globals) *cobra.Command {
	o := &logsOptions{globals: g, index: -1}
	cmd := &cobra.Command{
		Use:   "logs ID",
		Short: "Print a job's stdout (or stderr) log",
		Long: `Print the stdout log of a job (--stderr: its stderr log). For an array job, pick
the element with --index. --follow keeps printing what the job writes until
it ends.`,
		Example: `  capi logs 1234
  capi logs 1234 --stderr
  capi logs 1240 --index 17 --follow`,
		Args:              jobIDs(true),
		Annotations:       noJSON("the log is printed as the job wrote it"),
		ValidArgsFunction: g.completeJobs(false, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args[0])
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.index, "index", -1, "array element whose log to print")
	f.BoolVar(&o.stderr, "stderr", false, "print the stderr log instead of stdout")
	f.BoolVarP(&o.follow, "follow", "f", false, "keep printing until the job ends")
	return cmd
}

func (o *logsOptions) run(ctx context.Context, id string) error {
	if ctx == nil {
		ctx = background()
	}
	s, err := o.openSession()
	if err != nil {
		return err
	}
	defer s.Close()
	job, err := s.get(ctx, id)
	if err != nil {
		return err
	}
	rec := job.Snapshot()
	logPath, err := o.path(rec)
	if err != nil {
		return err
	}
	t := &tail{path: logPath, w: o.io.Out}
	defer func() {
		if t.f != nil {
			t.f.Close()
		}
	}()
	if !o.follow {
		f, err := os.Open(logPath)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && !rec.Terminal() {
				return &exitError{code: ExitJobFailed, err: fmt.Errorf("job %s has not written %s yet (it is %s); use --follow to wait for it", id, logPath, rec.Status)}
			}
			return &exitError{code: ExitJobFailed, err: fmt.Errorf("job %s: %w", id, err)}
		}
		defer f.Close()
		_, err = io.Copy(o.io.Out, f)
		return err
	}
	stop := s.monitor(o.globals)
	defer stop()
	sigs, stopSignals := o.interrupts()
	defer stopSignals()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !o.ended(job.Snapshot()) {
		t.pump()
		select {
		case <-sigs:
			return &exitError{code: ExitKilled}
		case <-tick.C:
		}
	}
	t.pump()
	return nil
}

// ended reports whether the job (or the chosen element) is terminal.
func (o *logsOptions) ended(rec capi.Record) bool {
	if rec.Array != nil && o.index >= 0 {
		for _, el := range rec.Array.Elements {
			if el.Index == o.index {
				return el.Status.Terminal()
			}
		}
	}
	return rec.Terminal()
}

// path picks the log file of the job or of one element.
func (o *logsOptions) path(rec capi.Record) (string, error) {
	which := "stdout"
	if o.stderr {
		which = "stderr"
	}
	if rec.Array != nil {
		if o.index < 0 {
			return "", usageErr("job %s is an array (%d-%d): choose an element with --index", rec.ID, rec.Array.First, rec.Array.Last)
		}
		for _, el := range rec.Array.Elements {
			if el.Index != o.index {
				continue
			}
			p := el.StdoutPath
			if o.stderr {
				p = el.StderrPath
			}
			if p == "" {
				return "", &exitError{code: ExitJobFailed, err: fmt.Errorf("the %s log path of job %s[%d] is not known", which, rec.ID, o.index)}
			}
			return p, nil
		}
		return "", usageErr("job %s has no element %d (range %d-%d)", rec.ID, o.index, rec.Array.First, rec.Array.Last)
	}
	if o.index >= 0 {
		return "", usageErr("job %s is not an array; drop --index", rec.ID)
	}
	p := rec.StdoutPath
	if o.stderr {
		p = rec.StderrPath
	}
	if p == "" {
		return "", &exitError{code: ExitJobFailed, err: fmt.Errorf("the %s log path of job %s is not known (it was not found in the job store)", which, rec.ID)}
	}
	return p, nil
}

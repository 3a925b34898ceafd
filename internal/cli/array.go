package cli

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	capi "github.com/go-cluster-api/clusterapi"
)

type arrayOptions struct {
	*globals
	res           resourceFlags
	rng           string
	maxConcurrent int
	wait          bool
}

func newArrayCmd(g *globals) *cobra.Command {
	o := &arrayOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "array --range A-B [flags] -- COMMAND [ARG...]",
		Short: "Submit an array job: one element per index in a range",
		Long: `Submit an array job with one element per index from A to B. Every element sees
its index in $CAPI_ARRAY_INDEX (and in the scheduler's own variable:
$LSB_JOBINDEX, $SLURM_ARRAY_TASK_ID, $SGE_TASK_ID, $ARRAY_INDEX).

The words after -- are quoted one by one, so a variable in them reaches the
program as written, unexpanded; to use the index in the command line, give one
shell command: sh -c '... "$CAPI_ARRAY_INDEX"', or read the variable in the
program.

Without --wait capi prints the array's id and exits. With --wait it shows a
one-line progress bar on a terminal (elements ended of all, then done, failed,
running, pending and killed counts, then the time waited), plain progress
lines otherwise, reports the failed indices at the end, and exits 0 if every
element is done, 1 if any failed, 130 if the array was killed. Ctrl-C while
waiting cancels the array and exits 130.`,
		Example: `  capi array --range 1-100 -- sh -c './process.sh "$CAPI_ARRAY_INDEX"'
  capi array --range 1-200 --max-concurrent 4 --wait -- sh -c 'python step.py --chunk "$CAPI_ARRAY_INDEX"'
  capi array --range 1-10 -- ./task.sh     # task.sh reads $CAPI_ARRAY_INDEX
  capi --executor slurm array --range 0-9 --cpus 2 --json -- ./task.sh`,
		Args:        cobra.ArbitraryArgs,
		Annotations: jsonOK,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args)
		},
	}
	o.res.register(cmd.Flags(), true)
	f := cmd.Flags()
	f.StringVar(&o.rng, "range", "", "indices FIRST-LAST, e.g. 1-100 (required)")
	f.IntVar(&o.maxConcurrent, "max-concurrent", 0, "at most this many elements run at once (0 = no limit)")
	f.BoolVar(&o.wait, "wait", false, "wait for every element, showing progress")
	return cmd
}

// parseRange reads "A-B" (or a single index "A").
func parseRange(s string) (capi.Array, error) {
	if s == "" {
		return capi.Array{}, usageErr("--range is required: give FIRST-LAST, e.g. --range 1-100")
	}
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		b = a
	}
	first, err1 := strconv.Atoi(strings.TrimSpace(a))
	last, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || first < 0 || last < first {
		return capi.Array{}, usageErr("--range %q: write FIRST-LAST with 0 <= FIRST <= LAST, e.g. 1-100", s)
	}
	return capi.Array{First: first, Last: last}, nil
}

func (o *arrayOptions) run(ctx context.Context, argv []string) error {
	if ctx == nil {
		ctx = background()
	}
	arr, err := parseRange(o.rng)
	if err != nil {
		return err
	}
	if o.maxConcurrent < 0 {
		return usageErr("--max-concurrent must be 0 (no limit) or positive")
	}
	arr.MaxConcurrent = o.maxConcurrent
	spec, err := o.res.submission(argv)
	if err != nil {
		return err
	}
	ex, err := o.newExecutor()
	if err != nil {
		return err
	}
	defer o.closeExecutor(ex)
	var stopMon func()
	if o.wait {
		// Poll from before the submit: elements that other processes
		// adopt, or that end while nobody listens, still come back.
		mon := capi.NewMonitor(ex, &capi.MonitorOptions{Interval: o.pollEvery(ex)})
		mon.Start()
		stopMon = mon.Stop
		defer stopMon()
	}
	var sigs <-chan os.Signal
	if o.wait {
		// Before submitting, so that Ctrl-C during the submit cancels the
		// array instead of killing capi and leaving it running.
		var stopSignals func()
		sigs, stopSignals = o.interrupts()
		defer stopSignals()
	}
	start := time.Now()
	submitCtx := ctx
	if o.wait {
		// An interrupt during the submit is answered by cancelling the
		// array once it exists, not by abandoning the submit half way.
		submitCtx = context.WithoutCancel(ctx)
	}
	job, err := ex.SubmitArray(submitCtx, spec, arr)
	if err != nil {
		return codeErr(err)
	}
	if !o.wait {
		return printSubmitted(o.globals, job.Snapshot())
	}
	if !o.json {
		fmt.Fprintf(o.io.Out, "submitted array %s (%s), %d elements\n", job.ID(), job.Snapshot().Name, arr.Len())
	}
	rec, interrupted, err := o.follow(ex, job, start, sigs)
	if err != nil {
		return err
	}
	if o.json {
		if err := writeJSON(o.io.Out, rec); err != nil {
			return err
		}
	} else {
		o.report(rec)
	}
	if interrupted {
		// Whatever the elements that ended before did: the user stopped
		// the array, and 130 says so (as for every command).
		return &exitError{code: ExitKilled}
	}
	if code := outcome([]capi.Record{rec}); code != ExitOK {
		return &exitError{code: code}
	}
	return nil
}

// follow shows progress until the array is terminal. An interrupt cancels
// the array; a second one stops waiting.
func (o *arrayOptions) follow(ex *capi.Executor, job *capi.Job, start time.Time, sigs <-chan os.Signal) (rec capi.Record, interrupted bool, err error) {
	con := o.console()
	defer con.close()
	var p progress
	if !o.json {
		p = newProgress(o.globals, con)
	}
	show := func() {
		if p != nil {
			p.update(job.Snapshot(), time.Since(start))
		}
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-job.Done():
			rec := job.Snapshot()
			if p != nil {
				p.final(rec, time.Since(start))
			}
			return rec, interrupted, nil
		case <-sigs:
			if interrupted {
				if p != nil {
					p.final(job.Snapshot(), time.Since(start))
				}
				return job.Snapshot(), true, &exitError{code: ExitKilled, err: fmt.Errorf("stopped waiting for array %s; it was asked to cancel", job.ID())}
			}
			interrupted = true
			if p != nil {
				p.interrupt()
			}
			o.line().write(o.io.ErrOut, fmt.Sprintf("capi: interrupted, cancelling array %s\n", job.ID()))
			cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			err := ex.Cancel(cctx, job.ID(), nil)
			cancel()
			if err != nil {
				return job.Snapshot(), true, &exitError{code: ExitScheduler, err: fmt.Errorf("cancel array %s: %w", job.ID(), err)}
			}
			show()
		case <-con.resized():
			con.resize()
			if p != nil {
				p.resized(con.cols)
			}
			show()
		case <-tick.C:
			show()
		}
	}
}

func (o *arrayOptions) report(rec capi.Record) {
	a := rec.Array
	if a == nil {
		fmt.Fprintln(o.io.Out, summary(rec))
		return
	}
	c := a.Counts
	fmt.Fprintf(o.io.Out, "array %s (%s) %s: %d done, %d failed, %d killed of %d\n",
		rec.ID, rec.Name, rec.Status, c.Done, c.Failed, c.Killed, len(a.Elements))
	if failed := indicesWith(a, capi.Failed); len(failed) > 0 {
		fmt.Fprintf(o.io.Out, "failed indices: %s\n", indexRanges(failed))
	}
	if killed := indicesWith(a, capi.Killed); len(killed) > 0 {
		fmt.Fprintf(o.io.Out, "killed indices: %s\n", indexRanges(killed))
	}
}

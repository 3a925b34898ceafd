package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	capi "github.com/go-cluster-api/clusterapi"
)

type watchOptions struct {
	*globals
	interval time.Duration
}

func newWatchCmd(g *globals) *cobra.Command {
	o := &watchOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "watch [ID...]",
		Short: "Live view of jobs until they have all ended",
		Long: `Show jobs live until every one of them is terminal. Without ids: every job in the
store that has not ended yet. On a terminal the table is redrawn in place;
otherwise a plain line is printed whenever a job changes.

Exit status as capi wait: 0 if every job is done, 1 if any failed, 130 if any
was killed. Ctrl-C stops watching; the jobs keep running.`,
		Example: `  capi watch
  capi watch 1234 1235
  capi watch 1234 > progress.log`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args)
		},
	}
	cmd.Flags().DurationVar(&o.interval, "interval", time.Second, "how often the terminal view is redrawn")
	return cmd
}

func (o *watchOptions) run(ctx context.Context, ids []string) error {
	if ctx == nil {
		ctx = background()
	}
	if o.interval <= 0 {
		return usageErr("--interval must be positive")
	}
	s, err := o.openSession()
	if err != nil {
		return err
	}
	defer s.Close()
	var jobs []*capi.Job
	if len(ids) > 0 {
		if jobs, err = s.getAll(ctx, ids); err != nil {
			return err
		}
	} else {
		recs, err := s.list(ctx, listFilter{statuses: []capi.Status{capi.Pending, capi.Running, capi.Unknown}})
		if err != nil {
			return codeErr(err)
		}
		for _, r := range recs {
			j, err := s.get(ctx, r.ID)
			if err != nil {
				return err
			}
			jobs = append(jobs, j)
		}
		if len(jobs) == 0 {
			fmt.Fprintln(o.io.ErrOut, "no unfinished jobs to watch")
			return nil
		}
	}
	stop := s.monitor(o.globals)
	defer stop()
	sigs, stopSignals := o.interrupts()
	defer stopSignals()

	var view watchView = &lineView{w: o.io.Out, last: map[string]string{}}
	tick := 50 * time.Millisecond
	if o.isTerminal() {
		view = &screenView{w: o.io.Out, start: time.Now()}
		tick = o.interval
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		recs := make([]capi.Record, len(jobs))
		all := true
		for i, j := range jobs {
			recs[i] = j.Snapshot()
			all = all && recs[i].Terminal()
		}
		view.show(recs)
		if all {
			if code := outcome(recs); code != ExitOK {
				return &exitError{code: code}
			}
			return nil
		}
		select {
		case <-sigs:
			return &exitError{code: ExitKilled}
		case <-t.C:
		}
	}
}

type watchView interface{ show([]capi.Record) }

// screenView redraws the table on a terminal.
type screenView struct {
	w     io.Writer
	start time.Time
}

func (v *screenView) show(recs []capi.Record) {
	var b strings.Builder
	b.WriteString("\x1b[H\x1b[2J") // cursor home, clear screen
	printTable(&b, recs)
	finished := 0
	for _, r := range recs {
		if r.Terminal() {
			finished++
		}
	}
	fmt.Fprintf(&b, "\n%d of %d finished  %s  (Ctrl-C stops watching; jobs keep running)\n", finished, len(recs), elapsedText(time.Since(v.start)))
	io.WriteString(v.w, b.String())
}

// lineView prints a line per change, for logs and pipes.
type lineView struct {
	w    io.Writer
	last map[string]string
}

func (v *lineView) show(recs []capi.Record) {
	for _, r := range recs {
		line := summary(r)
		if r.Array != nil && !r.Terminal() {
			c := r.Array.Counts
			line += fmt.Sprintf(" [done %d, failed %d, running %d, pending %d]", c.Done, c.Failed, c.Running, c.Pending)
		}
		if v.last[r.ID] == line {
			continue
		}
		v.last[r.ID] = line
		fmt.Fprintf(v.w, "%s %s\n", time.Now().Format("15:04:05"), line)
	}
}

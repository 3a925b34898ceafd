package cli

import (
	"context"
	"errors"
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
	output   string
}

func newWatchCmd(g *globals) *cobra.Command {
	o := &watchOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "watch [ID...]",
		Short: "Live view of jobs until they have all ended",
		Long: `Show jobs live until every one of them is terminal. Without ids: every job in the
store that has not ended yet.

On a terminal the view takes the whole window (the alternate screen, as less
and top do) and is redrawn in place: a title line and the column header stay
at the top, as many jobs as fit below them (unfinished ones first) and "+N
more" for the rest; columns keep their width. When watching ends, the window
comes back as it was, with the final table printed below. Elsewhere (a pipe, a
log file) a plain line is printed whenever a job changes.

Exit status as capi wait: 0 if every job is done, 1 if any failed, 130 if any
was killed or capi was interrupted. Ctrl-C stops watching; the jobs keep
running.`,
		Example: `  capi watch
  capi watch 1234 1235 -o wide
  capi watch 1234 > progress.log`,
		Args:              cobra.ArbitraryArgs,
		Annotations:       noJSON("a live view has no JSON; use wait --json or status --json"),
		ValidArgsFunction: g.completeJobs(true, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args)
		},
	}
	cmd.Flags().DurationVar(&o.interval, "interval", time.Second, "how often the terminal view is redrawn")
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "table, or wide (hosts and full times)")
	cmd.RegisterFlagCompletionFunc("output", fixedCompletions("table", "wide"))
	return cmd
}

func (o *watchOptions) run(ctx context.Context, ids []string) error {
	if ctx == nil {
		ctx = background()
	}
	if o.interval <= 0 {
		return usageErr("--interval must be positive")
	}
	cols := defaultColumns
	switch o.output {
	case "table", "":
	case "wide":
		cols = wideColumns
	default:
		return usageErr("capi watch -o %q: use table or wide (capi status has json and custom columns)", o.output)
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

	con := o.console()
	defer con.close()
	var view watchView = &lineView{w: o.io.Out, last: map[string]string{}}
	tick := 50 * time.Millisecond
	if con != nil {
		sv := &screenView{g: o.globals, con: con, cols: cols, color: o.colorOn(con), start: time.Now(), floor: map[string]int{}}
		// Leave the alternate screen on every way out, an error included.
		defer sv.leave(nil)
		view = sv
		tick = o.interval
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	snapshot := func() ([]capi.Record, bool) {
		recs := make([]capi.Record, len(jobs))
		all := true
		for i, j := range jobs {
			recs[i] = j.Snapshot()
			all = all && recs[i].Terminal()
		}
		return recs, all
	}
	for {
		recs, all := snapshot()
		view.show(recs)
		if all {
			view.end(recs)
			if code := outcome(recs); code != ExitOK {
				return &exitError{code: code}
			}
			return nil
		}
		select {
		case <-sigs:
			recs, _ := snapshot()
			view.end(recs)
			return &exitError{code: ExitKilled, err: errors.New("stopped watching; the jobs keep running")}
		case <-con.resized():
			con.resize()
		case <-t.C:
		}
	}
}

// watchView shows the jobs each time they are looked at, and once more at
// the end.
type watchView interface {
	show([]capi.Record)
	end([]capi.Record)
}

// screenView draws on the terminal's alternate screen. Each frame starts
// at the top-left corner and overwrites the last one line by line (each
// line ends by erasing the rest of its row, the frame by erasing the rows
// below), so nothing scrolls and nothing reaches the scrollback: clearing
// the screen for every frame pushes a copy of it into tmux's history. The
// frame is never taller than the window and no line is as wide as it.
type screenView struct {
	g       *globals
	con     *console
	cols    []column
	color   bool
	start   time.Time
	floor   map[string]int
	entered bool
	left    bool
}

// Alternate screen on and the cursor hidden; and back.
const (
	enterScreen = "\x1b[?1049h\x1b[?25l"
	leaveScreen = "\x1b[?25h\x1b[?1049l"
)

func (v *screenView) show(recs []capi.Record) {
	var b strings.Builder
	if !v.entered {
		b.WriteString(enterScreen)
		v.entered = true
	}
	b.WriteString("\x1b[H")
	for i, l := range v.frame(recs, time.Now()) {
		if i > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString(l)
		b.WriteString("\x1b[K")
	}
	b.WriteString("\x1b[J")
	io.WriteString(v.g.io.Out, b.String())
}

// frame lays out one screenful: a title line, the column header, and the
// rows that fit, unfinished jobs first when they do not all fit.
func (v *screenView) frame(recs []capi.Record, now time.Time) []string {
	maxw := v.con.cols - 1
	ended := 0
	for _, r := range recs {
		if r.Terminal() {
			ended++
		}
	}
	title := fmt.Sprintf("capi watch  %d of %d ended  %s  (Ctrl-C stops watching; jobs keep running)", ended, len(recs), elapsedText(now.Sub(v.start)))
	lines := []string{cutLine(title, maxw)}
	room := v.con.rows - 2
	if room < 1 {
		return lines[:min(len(lines), max(v.con.rows, 1))]
	}
	order := recs
	if len(recs) > room {
		order = make([]capi.Record, 0, len(recs))
		for _, r := range recs {
			if !r.Terminal() {
				order = append(order, r)
			}
		}
		for _, r := range recs {
			if r.Terminal() {
				order = append(order, r)
			}
		}
	}
	t := &table{cols: v.cols, max: maxw, color: v.color, now: now, floor: v.floor}
	header, rows := t.render(order)
	lines = append(lines, header)
	if len(rows) <= room {
		return append(lines, rows...)
	}
	shown := room - 1
	hiddenEnded := 0
	for _, r := range order[shown:] {
		if r.Terminal() {
			hiddenEnded++
		}
	}
	lines = append(lines, rows[:shown]...)
	more := fmt.Sprintf("+%d more", len(rows)-shown)
	if hiddenEnded > 0 {
		more += fmt.Sprintf(" (%d of them ended)", hiddenEnded)
	}
	return append(lines, cutLine(more, maxw))
}

// end leaves the alternate screen and prints the final table where the
// user's shell was, so that the outcome stays in the scrollback.
func (v *screenView) end(recs []capi.Record) { v.leave(recs) }

func (v *screenView) leave(recs []capi.Record) {
	if v.left || !v.entered {
		return
	}
	v.left = true
	io.WriteString(v.g.io.Out, leaveScreen)
	if recs == nil {
		return
	}
	v.g.printTable(v.cols, recs, true)
	ended := 0
	for _, r := range recs {
		if r.Terminal() {
			ended++
		}
	}
	fmt.Fprintf(v.g.io.Out, "%d of %d ended after %s\n", ended, len(recs), elapsedText(time.Since(v.start)))
}

// lineView prints a line per change, for logs and pipes.
type lineView struct {
	w    io.Writer
	last map[string]string
}

func (v *lineView) end([]capi.Record) {}

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

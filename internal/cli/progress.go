package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	capi "github.com/go-cluster-api/clusterapi"
)

// progress shows how far an array job is.
type progress interface {
	update(rec capi.Record, elapsed time.Duration)
	final(rec capi.Record, elapsed time.Duration)
	interrupt()
}

func newProgress(g *globals) progress {
	if g.isTerminal() {
		return &barProgress{w: g.io.Out}
	}
	return &lineProgress{w: g.io.Out, every: time.Second}
}

// counts returns the element counts, or, for a job that is not an array,
// counts of one.
func counts(rec capi.Record) (capi.Counts, int) {
	if rec.Array != nil {
		return rec.Array.Counts, len(rec.Array.Elements)
	}
	var c capi.Counts
	switch rec.Status {
	case capi.Done:
		c.Done = 1
	case capi.Failed:
		c.Failed = 1
	case capi.Killed:
		c.Killed = 1
	case capi.Running:
		c.Running = 1
	default:
		c.Pending = 1
	}
	return c, 1
}

func countText(c capi.Counts) string {
	s := fmt.Sprintf("done %d  failed %d  running %d  pending %d", c.Done, c.Failed, c.Running, c.Pending)
	if c.Killed > 0 {
		s += fmt.Sprintf("  killed %d", c.Killed)
	}
	return s
}

func elapsedText(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

// barProgress redraws one line on a terminal.
type barProgress struct {
	w    io.Writer
	last string
}

const barWidth = 30

func (b *barProgress) line(rec capi.Record, elapsed time.Duration) string {
	c, n := counts(rec)
	finished := c.Done + c.Failed + c.Killed
	filled := 0
	if n > 0 {
		filled = finished * barWidth / n
	}
	bar := strings.Repeat("#", filled) + strings.Repeat("-", barWidth-filled)
	return fmt.Sprintf("[%s] %d/%d  %s  %s", bar, finished, n, countText(c), elapsedText(elapsed))
}

func (b *barProgress) update(rec capi.Record, elapsed time.Duration) {
	l := b.line(rec, elapsed)
	if l == b.last {
		return
	}
	b.last = l
	// Carriage return and erase-line: redraw in place.
	fmt.Fprintf(b.w, "\r\x1b[2K%s", l)
}

func (b *barProgress) final(rec capi.Record, elapsed time.Duration) {
	b.last = ""
	b.update(rec, elapsed)
	fmt.Fprintln(b.w)
}

func (b *barProgress) interrupt() {
	fmt.Fprintln(b.w)
	b.last = ""
}

// lineProgress prints a plain line when the counts change, at most once
// per interval, for logs and pipes: no escape codes.
type lineProgress struct {
	w       io.Writer
	every   time.Duration
	last    capi.Counts
	printed time.Time
	any     bool
}

func (l *lineProgress) print(rec capi.Record, elapsed time.Duration) {
	c, n := counts(rec)
	l.last, l.printed, l.any = c, time.Now(), true
	fmt.Fprintf(l.w, "%s %d/%d finished: %s\n", elapsedText(elapsed), c.Done+c.Failed+c.Killed, n, strings.ReplaceAll(countText(c), "  ", ", "))
}

func (l *lineProgress) update(rec capi.Record, elapsed time.Duration) {
	c, _ := counts(rec)
	if l.any && (c == l.last || time.Since(l.printed) < l.every) {
		return
	}
	l.print(rec, elapsed)
}

func (l *lineProgress) final(rec capi.Record, elapsed time.Duration) {
	if c, _ := counts(rec); l.any && c == l.last {
		return
	}
	l.print(rec, elapsed)
}

func (l *lineProgress) interrupt() {}

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
	// interrupt makes room for a message about the interrupt.
	interrupt()
	// resized redraws for a window now cols wide.
	resized(cols int)
}

// newProgress draws a bar on a terminal (con) and prints plain lines
// elsewhere.
func newProgress(g *globals, con *console) progress {
	if con != nil {
		return &barProgress{live: g.line(), con: con, color: g.colorOn(con)}
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
	live  *liveLine
	con   *console
	color bool
}

func (b *barProgress) update(rec capi.Record, elapsed time.Duration) {
	c, n := counts(rec)
	b.live.draw(barLine(c, n, elapsed, b.con.cols, b.color))
}

func (b *barProgress) final(rec capi.Record, elapsed time.Duration) {
	b.update(rec, elapsed)
	b.live.finish()
}

func (b *barProgress) interrupt() { b.live.clear() }

func (b *barProgress) resized(cols int) { b.live.rewrap(cols) }

// The bar is at most maxBar and at least minBar columns; below that the
// counts matter more and the bar is left out.
const (
	maxBar = 30
	minBar = 8
)

// A span is a piece of the progress line with its colour.
type span struct{ text, sgr string }

// echoRoom is the room left at the end of the progress line: a line as
// wide as the terminal leaves the cursor waiting to wrap, and the "^C" the
// terminal echoes when the user presses Ctrl-C would wrap it, leaving a
// copy of the bar behind.
const echoRoom = 3

// barLine lays out the progress line in cols-echoRoom columns, so it never
// wraps. Counts are
// padded to the width of the total, so the line does not jump as they
// grow; when the terms do not fit, they get shorter ("done 45" → "d:45"),
// then the bar is left out, then the line is cut.
//
// The bar, and the count before the others, are the elements that ran to
// the end: '#' done, '!' failed. Killed elements leave the bar unfilled:
// an array cancelled at 53 of 300 does not look complete.
func barLine(c capi.Counts, n int, elapsed time.Duration, cols int, color bool) string {
	avail := cols - echoRoom
	d := len(fmt.Sprint(n))
	num := func(x int) string { return fmt.Sprintf("%*d", d, x) }
	head := span{fmt.Sprintf("%s/%d", num(c.Done+c.Failed), n), ""}
	red := func(x int) string {
		if x > 0 {
			return sgrRed
		}
		return ""
	}
	yellow := ""
	if c.Killed > 0 {
		yellow = sgrYellow
	}
	levels := []struct {
		sep                                  string
		done, failed, running, pending, kill string
	}{
		{"  ", "done ", "failed ", "running ", "pending ", "killed "},
		{" ", "done ", "fail ", "run ", "pend ", "kill "},
		{" ", "d:", "f:", "r:", "p:", "k:"},
	}
	var spans []span
	for _, lv := range levels {
		spans = []span{
			head, {lv.sep, ""},
			{lv.done + num(c.Done), ""}, {lv.sep, ""},
			{lv.failed + num(c.Failed), red(c.Failed)}, {lv.sep, ""},
			{lv.running + num(c.Running), ""}, {lv.sep, ""},
			{lv.pending + num(c.Pending), ""},
		}
		if c.Killed > 0 {
			spans = append(spans, span{lv.sep, ""}, span{lv.kill + num(c.Killed), yellow})
		}
		spans = append(spans, span{lv.sep, ""}, span{elapsedText(elapsed), ""})
		bar := avail - spansWidth(spans) - 3 // "[", "] "
		if bar >= minBar {
			bar = min(bar, maxBar)
			return "[" + barFill(c, n, bar, color) + "] " + renderSpans(spans, color)
		}
	}
	return cutLine(renderSpans(spans, color), max(avail, 0))
}

// barFill draws width columns: done, then failed, then what is left.
func barFill(c capi.Counts, n, width int, color bool) string {
	if n <= 0 {
		return strings.Repeat("-", width)
	}
	filled := min((c.Done+c.Failed)*width/n, width)
	done := min(c.Done*width/n, filled)
	failed := filled - done
	if c.Failed > 0 && failed == 0 && filled < width {
		failed, filled = 1, filled+1
	}
	return strings.Repeat("#", done) + paint(strings.Repeat("!", failed), sgrRed, color) + strings.Repeat("-", width-filled)
}

func spansWidth(spans []span) int {
	n := 0
	for _, s := range spans {
		n += width(s.text)
	}
	return n
}

func renderSpans(spans []span, color bool) string {
	var b strings.Builder
	for _, s := range spans {
		b.WriteString(paint(s.text, s.sgr, color))
	}
	return b.String()
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

func (l *lineProgress) resized(int) {}

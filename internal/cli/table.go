package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	capi "github.com/go-cluster-api/clusterapi"
)

// Job tables, squeue- and kubectl-style: short cells by default, so that a
// few jobs with typical names fit 80 columns; full times and hosts with
// -o wide. Cells are padded before they are coloured, so colour never
// changes a column's width, and on a terminal the table is fitted to its
// width (NAME shortened, then AGE and ELAPSED left out) instead of
// wrapping every row.

// column is one column of a job table.
type column struct {
	header string
	cell   func(r capi.Record, now time.Time) string
	// sgr colours a cell ("" none).
	sgr   func(r capi.Record) string
	right bool
	// shrink is the narrowest a column may be cut to when the table must
	// fit; 0 never cuts it. A late column is cut only after the droppable
	// ones are gone: a cut reason ("out_o~") says less than no AGE.
	shrink int
	late   bool
	// drop orders the columns left out when the table still does not fit:
	// 1 first; 0 never.
	drop int
}

var (
	colID = column{header: "ID", cell: func(r capi.Record, _ time.Time) string { return orDash(r.ID) }}
	// NAME is the one column of unbounded width.
	colName    = column{header: "NAME", cell: func(r capi.Record, _ time.Time) string { return orDash(r.Name) }, shrink: 8}
	colStatus  = column{header: "STATUS", cell: func(r capi.Record, _ time.Time) string { return statusCell(r) }, sgr: statusColor}
	colExit    = column{header: "EXIT", cell: func(r capi.Record, _ time.Time) string { return exitCell(r.ExitCode) }, right: true}
	colReason  = column{header: "REASON", cell: func(r capi.Record, _ time.Time) string { return orDash(string(r.Reason)) }, sgr: reasonColor, shrink: 6, late: true}
	colAge     = column{header: "AGE", cell: func(r capi.Record, now time.Time) string { return ageCell(r.SubmitTime, now) }, right: true, drop: 1}
	colElapsed = column{header: "ELAPSED", cell: func(r capi.Record, now time.Time) string {
		return elapsedCell(r.StartTime, r.FinishTime, now)
	}, right: true, drop: 2}
	colHost      = column{header: "HOST", cell: func(r capi.Record, _ time.Time) string { return orDash(r.ExecHost) }, shrink: 8}
	colMaxMem    = column{header: "MAX_MEM", cell: func(r capi.Record, _ time.Time) string { return orDash(r.MaxMem) }, right: true}
	colSubmitted = column{header: "SUBMITTED", cell: func(r capi.Record, _ time.Time) string { return timeCell(r.SubmitTime) }}
	colStarted   = column{header: "STARTED", cell: func(r capi.Record, _ time.Time) string { return timeCell(r.StartTime) }}
	colFinished  = column{header: "FINISHED", cell: func(r capi.Record, _ time.Time) string { return timeCell(r.FinishTime) }}
	colExecutor  = column{header: "EXECUTOR", cell: func(r capi.Record, _ time.Time) string { return orDash(r.Executor) }}
)

// The layouts -o chooses between.
var (
	defaultColumns = []column{colID, colName, colStatus, colExit, colReason, colAge, colElapsed}
	wideColumns    = []column{colID, colName, colStatus, colExit, colReason, colHost, colMaxMem, colSubmitted, colStarted, colFinished}
	// namedColumns are the columns custom-columns= may name without a
	// path.
	namedColumns = []column{colID, colName, colStatus, colExit, colReason, colAge, colElapsed, colHost, colMaxMem, colSubmitted, colStarted, colFinished, colExecutor}
)

// table renders records as aligned lines.
type table struct {
	cols []column
	// max is the widest a line may be; 0 = no limit (not a terminal:
	// scripts get whole cells).
	max   int
	color bool
	now   time.Time
	// floor remembers the widest each column has been, so that a live
	// view's columns never move left and right as cells change.
	floor map[string]int
}

// render returns the header and one line per record.
func (t *table) render(recs []capi.Record) (string, []string) {
	cells := make([][]string, len(recs))
	widths := make([]int, len(t.cols))
	for i, c := range t.cols {
		widths[i] = max(width(c.header), t.floor[c.header])
	}
	for r, rec := range recs {
		cells[r] = make([]string, len(t.cols))
		for i, c := range t.cols {
			cells[r][i] = c.cell(rec, t.now)
			widths[i] = max(widths[i], width(cells[r][i]))
		}
	}
	if t.floor != nil {
		for i, c := range t.cols {
			t.floor[c.header] = widths[i]
		}
	}
	show := t.fit(widths)
	header := t.line(nil, show, widths, func(i int) string { return t.cols[i].header })
	lines := make([]string, len(recs))
	for r, rec := range recs {
		lines[r] = t.line(&rec, show, widths, func(i int) string { return cells[r][i] })
	}
	return header, lines
}

// fit chooses the columns to show and narrows widths so that a line fits
// t.max: first the shrinkable columns give up what they can, then whole
// columns are left out in their drop order, then the late shrinkable ones
// are cut. What still does not fit is cut at the end of the line.
func (t *table) fit(widths []int) []bool {
	show := make([]bool, len(t.cols))
	for i := range show {
		show[i] = true
	}
	if t.max <= 0 {
		return show
	}
	total := func() int {
		n, k := 0, 0
		for i, w := range widths {
			if show[i] {
				n += w
				k++
			}
		}
		return n + 2*max(k-1, 0)
	}
	shrink := func(late bool) {
		for i, c := range t.cols {
			if over := total() - t.max; over > 0 && c.shrink > 0 && c.late == late && widths[i] > c.shrink {
				widths[i] = max(c.shrink, widths[i]-over, width(c.header))
			}
		}
	}
	shrink(false)
	for drop := 1; total() > t.max; drop++ {
		any := false
		for i, c := range t.cols {
			if c.drop == drop {
				show[i], any = false, true
			}
		}
		if !any {
			break
		}
	}
	shrink(true)
	return show
}

func (t *table) line(rec *capi.Record, show []bool, widths []int, text func(int) string) string {
	var b strings.Builder
	first := true
	for i, c := range t.cols {
		if !show[i] {
			continue
		}
		if !first {
			b.WriteString("  ")
		}
		first = false
		s := truncate(text(i), widths[i])
		pad := strings.Repeat(" ", widths[i]-width(s))
		if c.right {
			s = pad + s
		} else if !lastShown(show, i) {
			s += pad
		}
		if rec != nil && c.sgr != nil {
			s = paint(s, c.sgr(*rec), t.color)
		}
		b.WriteString(s)
	}
	out := b.String()
	if t.max > 0 {
		out = cutLine(out, t.max)
	}
	return out
}

func lastShown(show []bool, i int) bool {
	for j := i + 1; j < len(show); j++ {
		if show[j] {
			return false
		}
	}
	return true
}

// cutLine cuts s to n visible columns, skipping over the colour sequences
// paint writes (and closing one that the cut leaves open).
func cutLine(s string, n int) string {
	var b strings.Builder
	vis, open := 0, false
	for i := 0; i < len(s); {
		if s[i] == '\x1b' {
			j := strings.IndexByte(s[i:], 'm')
			if j < 0 {
				break
			}
			seq := s[i : i+j+1]
			b.WriteString(seq)
			open = seq != sgrReset
			i += j + 1
			continue
		}
		if vis == n {
			if open {
				b.WriteString(sgrReset)
			}
			return b.String()
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		b.WriteString(s[i : i+size])
		vis++
		i += size
	}
	return b.String()
}

// statusCell is the status; for an array, followed by how many elements
// have ended, in a cell whose width depends only on the array's size, so
// that it does not grow as the counts do: "running  12/300".
func statusCell(r capi.Record) string {
	if r.Array == nil {
		return string(r.Status)
	}
	n := len(r.Array.Elements)
	if n == 0 {
		n = r.Array.Last - r.Array.First + 1
	}
	c := r.Array.Counts
	d := len(strconv.Itoa(n))
	return fmt.Sprintf("%-7s %*d/%d", r.Status, d, c.Done+c.Failed+c.Killed, n)
}

func statusColor(r capi.Record) string {
	switch r.Status {
	case capi.Failed:
		return sgrRed
	case capi.Killed:
		return sgrYellow
	}
	return ""
}

func reasonColor(r capi.Record) string {
	if r.Reason == capi.ReasonTimeout {
		return sgrRed
	}
	return ""
}

func exitCell(code *int) string {
	if code == nil {
		return "-"
	}
	return strconv.Itoa(*code)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// timeCell shows a time in the local zone, to the second (-o wide).
func timeCell(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// ageCell is how long ago t was, in its largest unit, as kubectl shows
// AGE: "45s", "12m", "5h", "3d".
func ageCell(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := max(now.Sub(t), 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// elapsedCell is how long a job has run (or ran), as squeue's TIME:
// "0:07", "1:02:03", "2-01:00:00".
func elapsedCell(start, finish, now time.Time) string {
	if start.IsZero() {
		return "-"
	}
	end := finish
	if end.IsZero() {
		end = now
	}
	d := max(end.Sub(start), 0)
	if days := int(d.Hours()) / 24; days > 0 {
		d -= time.Duration(days) * 24 * time.Hour
		return fmt.Sprintf("%d-%02d:%02d:%02d", days, int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
	}
	return elapsedText(d)
}

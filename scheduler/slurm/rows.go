package slurm

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// table is '|'-separated output in a layout capi chose: squeue -O/-o or
// sacct --parsable2 with capi's field list.
//
// Sites wrap squeue and sacct in scripts that print lines of their own
// before and after the real output (gc3pie met one that printed
// "Site-specific preamble here." and "Additional info."). So capi lets the
// command print its header line, which capi can predict exactly because it
// chose the fields, and takes that line as the mark that what follows is
// the command's own output. Lines before it, and lines after it that
// cannot be rows of the layout, are skipped.
type table struct {
	what    string   // the command, for errors
	header  []string // the columns of the header line
	idCol   int      // the column holding the job id
	nameCol int      // the job name, which may hold '|'; -1 if none
}

// eachRow calls fn with the columns of every row of out after the header
// line, and returns the non-blank lines it skipped. The column slice is
// reused from line to line: fn must not keep it. A line is a row when it
// has the layout's number of columns and its id column starts with a job
// id; an error from fn for a row fails the whole parse, because a row that
// cannot be read means the layout is not what capi thinks, and dropping a
// job silently would make the engine believe it vanished.
func eachRow(out []byte, t table, fn func(cols []string) error) ([]string, error) {
	var (
		cols    []string
		skipped []string
		marked  bool
	)
	all := out
	for lineNo := 1; len(out) > 0; lineNo++ {
		var line []byte
		if i := bytes.IndexByte(out, '\n'); i >= 0 {
			line, out = out[:i], out[i+1:]
		} else {
			line, out = out, nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if !marked {
			if marked = t.isHeader(line); !marked {
				skipped = append(skipped, string(line))
			}
			continue
		}
		var err error
		cols, err = splitColumns(cols[:0], string(line), len(t.header), t.nameCol)
		if err != nil || !validJobID(leadingJobID(cols[t.idCol])) {
			skipped = append(skipped, string(line))
			continue
		}
		if err := fn(cols); err != nil {
			return skipped, fmt.Errorf("%s output line %d %q: %w", t.what, lineNo, line, err)
		}
	}
	if !marked {
		return skipped, fmt.Errorf("%s printed no header line %q, the mark that its output is the list capi asked for; it printed %s",
			t.what, strings.Join(t.header, "|"), scheduler.QuoteStart(all))
	}
	return skipped, nil
}

// isHeader compares column by column, ignoring case and blanks: squeue -O
// pads a title to the column's width when one is given.
func (t table) isHeader(line []byte) bool {
	cols := strings.Split(string(line), "|")
	if len(cols) != len(t.header) {
		return false
	}
	for i, c := range cols {
		if !strings.EqualFold(strings.TrimSpace(c), t.header[i]) {
			return false
		}
	}
	return true
}

// leadingJobID is the job id a JobID-like column starts with: "26" of
// "26_3.batch" or of "4_[5-9%2]".
func leadingJobID(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "._"); i >= 0 {
		return s[:i]
	}
	return s
}

// splitColumns splits line at '|' into n columns, appending to cols;
// surplus separators belong to the name column (job names may contain '|').
func splitColumns(cols []string, line string, n, nameCol int) ([]string, error) {
	for {
		i := strings.IndexByte(line, '|')
		if i < 0 {
			cols = append(cols, line)
			break
		}
		cols = append(cols, line[:i])
		line = line[i+1:]
	}
	if len(cols) == n {
		return cols, nil
	}
	if len(cols) < n || nameCol < 0 {
		return nil, fmt.Errorf("%d columns, expected %d", len(cols), n)
	}
	extra := len(cols) - n
	merged := make([]string, 0, n)
	merged = append(merged, cols[:nameCol]...)
	merged = append(merged, strings.Join(cols[nameCol:nameCol+extra+1], "|"))
	merged = append(merged, cols[nameCol+extra+1:]...)
	return merged, nil
}

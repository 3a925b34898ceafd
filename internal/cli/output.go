package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	capi "github.com/go-cluster-api/clusterapi"
)

// writeJSON prints v indented, with a final newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// recordList is never null in JSON: an empty list prints as [].
func recordList(recs []capi.Record) []capi.Record {
	if recs == nil {
		return []capi.Record{}
	}
	return recs
}

// printTable prints one line per job: id, name, status, exit, reason, host
// and times, aligned in columns.
func printTable(w io.Writer, recs []capi.Record) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tEXIT\tREASON\tHOST\tSUBMITTED\tSTARTED\tFINISHED")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			r.ID, orDash(r.Name), statusCell(r), exitCell(r.ExitCode), orDash(string(r.Reason)),
			orDash(r.ExecHost), timeCell(r.SubmitTime), timeCell(r.StartTime), timeCell(r.FinishTime))
	}
	return tw.Flush()
}

// statusCell is the status, with element counts for arrays.
func statusCell(r capi.Record) string {
	s := string(r.Status)
	if r.Array != nil {
		c := r.Array.Counts
		s += fmt.Sprintf(" [%d/%d done", c.Done, len(r.Array.Elements))
		if c.Failed > 0 {
			s += fmt.Sprintf(", %d failed", c.Failed)
		}
		if c.Killed > 0 {
			s += fmt.Sprintf(", %d killed", c.Killed)
		}
		if c.Running > 0 {
			s += fmt.Sprintf(", %d running", c.Running)
		}
		s += "]"
	}
	return s
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

// timeCell shows a time in the local zone, to the second.
func timeCell(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// failedIndices formats indices as "50,100,150".
func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// outcome turns finished jobs into an exit status: 0 when every job is
// done, 1 when any failed, 130 when any was killed (and none failed).
func outcome(recs []capi.Record) int {
	code := ExitOK
	for _, r := range recs {
		switch r.Status {
		case capi.Done:
		case capi.Killed:
			if code == ExitOK {
				code = ExitKilled
			}
		default:
			code = ExitJobFailed
		}
	}
	return code
}

// summary is one line saying how a job ended.
func summary(r capi.Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", r.ID, orDash(r.Name), r.Status)
	if r.ExitCode != nil {
		fmt.Fprintf(&b, " exit %d", *r.ExitCode)
	}
	if r.Reason != "" && !(r.Status == capi.Done && r.Reason == capi.ReasonExitCode) {
		fmt.Fprintf(&b, " (%s", r.Reason)
		if r.Detail != "" {
			fmt.Fprintf(&b, ": %s", r.Detail)
		}
		b.WriteString(")")
	}
	if r.Array != nil && len(r.Array.FailedIndices) > 0 {
		fmt.Fprintf(&b, " failed indices %s", joinInts(r.Array.FailedIndices))
	}
	return b.String()
}

package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

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

// indicesWith lists the indices of the elements in status st.
func indicesWith(a *capi.ArrayRecord, st capi.Status) []int {
	var out []int
	for _, el := range a.Elements {
		if el.Status == st {
			out = append(out, el.Index)
		}
	}
	return out
}

// maxRanges bounds how many ranges indexRanges spells out: the rest are
// in capi status ID --json.
const maxRanges = 20

// indexRanges formats sorted indices as "3,6,100-300": an array cancelled
// at element 100 of 300 is one range, not two hundred numbers.
func indexRanges(xs []int) string {
	var parts []string
	for i := 0; i < len(xs); {
		j := i
		for j+1 < len(xs) && xs[j+1] == xs[j]+1 {
			j++
		}
		switch {
		case len(parts) == maxRanges:
			return strings.Join(parts, ",") + fmt.Sprintf(" and %d more", len(xs)-i)
		case j == i:
			parts = append(parts, strconv.Itoa(xs[i]))
		default:
			parts = append(parts, strconv.Itoa(xs[i])+"-"+strconv.Itoa(xs[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
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
	if r.Array != nil {
		if failed := indicesWith(r.Array, capi.Failed); len(failed) > 0 {
			fmt.Fprintf(&b, " failed indices %s", indexRanges(failed))
		}
		if killed := indicesWith(r.Array, capi.Killed); len(killed) > 0 {
			fmt.Fprintf(&b, " killed indices %s", indexRanges(killed))
		}
	}
	return b.String()
}

package slurm

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// squeueLayouts says which columns each recorded squeue output has.
var squeueLayouts = map[string][]squeueField{
	"long":             layoutLong.fields,
	"short":            layoutShort.fields,
	"sample-fmt-array": {sqDisplayID, sqSkip, sqSkip, sqTaskID, sqArrayJobID, sqName, sqState, sqReason, sqSkip, sqSkip, sqNodes},
	// -r lists pending elements one by one; the array id is only in %i.
	"sample-fmt-array-r": {sqDisplayID, sqSkip, sqSkip, sqTaskID, sqName, sqState, sqReason, sqSkip, sqSkip, sqNodes, sqSkip, sqSkip},
}

func TestParseSqueue(t *testing.T) {
	t.Parallel()
	for _, in := range mustGlob(t, "testdata/squeue/*.txt") {
		base := strings.TrimSuffix(filepath.Base(in), ".txt")
		t.Run(base, func(t *testing.T) {
			t.Parallel()
			layout, _, _ := strings.Cut(base, "-")
			if strings.HasPrefix(base, "sample-") {
				layout = base
			}
			fields, ok := squeueLayouts[layout]
			if !ok {
				t.Fatalf("no layout known for %s", in)
			}
			data := string(readFixture(t, in))
			if strings.HasPrefix(base, "sample-") {
				// The samples were recorded with their header line.
				_, data, _ = strings.Cut(data, "\n")
			}
			got, err := parseSqueue([]byte(data), fields, time.UTC, maxArrayElements)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(in, ".txt")+".golden.json", toGolden(got))
		})
	}
}

func TestParseSacct(t *testing.T) {
	t.Parallel()
	for _, in := range mustGlob(t, "testdata/sacct/*.txt") {
		t.Run(filepath.Base(in), func(t *testing.T) {
			t.Parallel()
			data := string(readFixture(t, in))
			fields := sacctFields
			if strings.HasPrefix(filepath.Base(in), "sample-") {
				var header string
				header, data, _ = strings.Cut(data, "\n")
				fields = strings.Split(header, "|")
			}
			got, err := parseSacct([]byte(data), fields, time.UTC, maxArrayElements)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(in, ".txt")+".golden.json", toGolden(got))
		})
	}
}

// The positional fast path of parseTime must agree with time.ParseInLocation
// on every input, valid or not.
func FuzzParseTimeFastPath(f *testing.F) {
	for _, s := range []string{"2026-11-24T22:10:28", "2026-02-30T00:00:00", "2026-13-01T00:00:00", "Unknown", "2026-11-24T24:00:00", "0000-01-01T00:00:00"} {
		f.Add(s)
	}
	loc := time.FixedZone("test", 3600)
	f.Fuzz(func(t *testing.T, s string) {
		want, err := time.ParseInLocation("2006-01-02T15:04:05", s, loc)
		if err != nil || len(s) != len("2006-01-02T15:04:05") {
			want = time.Time{}
		}
		if got := parseTime(s, loc); !got.Equal(want) {
			t.Fatalf("parseTime(%q) = %v, time.ParseInLocation says %v", s, got, want)
		}
	})
}

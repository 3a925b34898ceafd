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

package slurm

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// fuzzLimit keeps an input like "1-99999999" from allocating gigabytes;
// the parsers must refuse it, not crash.
const fuzzLimit = 10_000

func addFixtures(f *testing.F, pattern string) {
	files, _ := filepath.Glob(pattern)
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for bytes.HasPrefix(b, []byte("#")) {
			_, b, _ = bytes.Cut(b, []byte("\n"))
		}
		f.Add(b)
	}
}

func checkObservations(t *testing.T, obs []scheduler.Observation) {
	if len(obs) > fuzzLimit {
		t.Fatalf("%d observations beyond the limit %d", len(obs), fuzzLimit)
	}
	for _, o := range obs {
		if !validJobID(o.ID) {
			t.Fatalf("observation with id %q", o.ID)
		}
		if o.Status == "" {
			t.Fatalf("observation %s without status", o.ID)
		}
		if !o.Status.Terminal() && !o.FinishTime.IsZero() {
			t.Fatalf("non-terminal observation %s with a finish time", o.ID)
		}
	}
}

func FuzzParseSqueue(f *testing.F) {
	addFixtures(f, "testdata/squeue/long-*.txt")
	f.Add([]byte("4|5-9%2|PENDING|Resources|0|N/A|N/A|N/A||arr\n"))
	f.Add([]byte("3|2-3,5%1|PENDING|JobArrayTaskLimit|0|N/A|N/A|N/A||x|y|z\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, fields := range [][]squeueField{layoutLong.fields, layoutShort.fields, squeueLayouts["sample-fmt-array"]} {
			obs, err := parseSqueue(data, fields, time.UTC, fuzzLimit)
			if err == nil {
				checkObservations(t, obs)
			}
		}
	})
}

func FuzzParseSacct(f *testing.F) {
	addFixtures(f, "testdata/sacct/*.txt")
	f.Add([]byte("26_[1-4%2]|PENDING|0:0|None|Unknown|Unknown|Unknown|None assigned||arr\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		obs, err := parseSacct(data, sacctFields, time.UTC, fuzzLimit)
		if err == nil {
			checkObservations(t, obs)
		}
	})
}

func FuzzParseSbatch(f *testing.F) {
	for _, s := range []string{"5\n", "60;ci\n", "Submitted batch job 61\n", "banner\n12\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		id, ok := parseSbatch(data)
		if ok && !validJobID(id) {
			t.Fatalf("parseSbatch(%q) = %q", data, id)
		}
		if !ok && id != "" {
			t.Fatalf("parseSbatch(%q) failed but returned %q", data, id)
		}
	})
}

func FuzzParseTaskSpec(f *testing.F) {
	for _, s := range []string{"5-9%2", "2-3,5%1", "1-7:2", "4", "1-2,4-5%1", "0-4000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		got, err := parseTaskSpec(spec, fuzzLimit)
		if err != nil {
			return
		}
		if len(got) == 0 || len(got) > fuzzLimit {
			t.Fatalf("parseTaskSpec(%q) gave %d indices", spec, len(got))
		}
		for _, i := range got {
			if i < 0 {
				t.Fatalf("parseTaskSpec(%q) gave index %d", spec, i)
			}
		}
	})
}

// FuzzQuoteValue checks that every value capi accepts reaches sbatch and
// slurmstepd unchanged, under the models of their parsers in
// directives_test.go.
func FuzzQuoteValue(f *testing.F) {
	for _, s := range []string{"a b", `a"b`, `a\b`, "it's", "#1", "$HOME", "x\ny", `\`, `"'\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		checkQuoteRoundTrip(t, v)
		lines, err := directives(&scheduler.Job{Name: v, StdoutPath: v, Resources: scheduler.Resources{WorkDir: v, Queue: v}})
		if err != nil {
			return
		}
		for _, l := range lines {
			if strings.ContainsAny(l, "\n\r\x00") {
				t.Fatalf("directive %q holds a line break", l)
			}
		}
	})
}

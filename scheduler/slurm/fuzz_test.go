package slurm

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
	"github.com/go-cluster-api/clusterapi/scheduler/schedtest"
)

// fuzzLimit keeps an input like "1-99999999" from allocating gigabytes;
// the parsers must refuse it, not crash.
const fuzzLimit = 10_000

// addFixtures adds every recorded output matching pattern, with a line of
// site noise.
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
		f.Add(b, "Site-specific preamble here.")
	}
}

// withNoise puts a line of noise before every line of out and after the
// last one, as a site's wrapper might (and worse), and says how many of
// the added lines are not blank. Line breaks in noise are dropped, and
// noise with enough '|' to pass for a row of n columns gets an "x" in
// front, so that its first column, the job id in every layout capi uses,
// cannot be one.
func withNoise(out []byte, noise string, n int) ([]byte, int) {
	noise = strings.NewReplacer("\n", " ", "\r", " ").Replace(noise)
	if strings.Count(noise, "|") >= n-1 {
		noise = "x" + noise
	}
	lines := strings.Split(string(out), "\n")
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(noise + "\n" + l + "\n")
	}
	b.WriteString(noise + "\n")
	if strings.TrimSpace(noise) == "" {
		return []byte(b.String()), 0
	}
	return []byte(b.String()), len(lines) + 1
}

// checkNoiseChangesNothing is the promise to sites that wrap squeue and
// sacct (schedtest.NoiseChangesNothing), with noise between every row.
func checkNoiseChangesNothing(t *testing.T, parse schedtest.Parse, data []byte, noise string, n int) {
	t.Helper()
	noisy, added := withNoise(data, noise, n)
	schedtest.NoiseChangesNothing(t, parse, data, noisy, added)
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
	addFixtures(f, "testdata/squeue/sample-fmt-array.txt")
	f.Add([]byte(longHeader+"\n4|5-9%2|PENDING|Resources|0|N/A|N/A|N/A||arr\n"), "Additional info.")
	f.Add([]byte(longHeader+"\n3|2-3,5%1|PENDING|JobArrayTaskLimit|0|N/A|N/A|N/A||x|y|z\n"), "1|2|3")
	f.Add([]byte("4|5-9%2|PENDING|Resources|0|N/A|N/A|N/A||arr\n"), "")
	f.Fuzz(func(t *testing.T, data []byte, noise string) {
		for _, l := range []*squeueLayout{&layoutLong, &layoutShort, squeueLayouts["sample-fmt-array"]} {
			parse := func(b []byte) ([]scheduler.Observation, []string, error) {
				return parseSqueue(b, l, time.UTC, fuzzLimit)
			}
			obs, _, err := parse(data)
			if err == nil {
				checkObservations(t, obs)
			}
			checkNoiseChangesNothing(t, parse, data, noise, len(l.fields))
		}
	})
}

func FuzzParseSacct(f *testing.F) {
	addFixtures(f, "testdata/sacct/final.txt")
	addFixtures(f, "testdata/sacct/pending.txt")
	addFixtures(f, "testdata/sacct/steps.txt")
	f.Add([]byte(strings.Join(sacctFields, "|")+"\n26_[1-4%2]|PENDING|0:0|None|Unknown|Unknown|Unknown|None assigned||arr\n"), "sacct: warning")
	f.Fuzz(func(t *testing.T, data []byte, noise string) {
		parse := func(b []byte) ([]scheduler.Observation, []string, error) {
			return parseSacct(b, sacctFields, time.UTC, fuzzLimit)
		}
		obs, _, err := parse(data)
		if err == nil {
			checkObservations(t, obs)
		}
		checkNoiseChangesNothing(t, parse, data, noise, len(sacctFields))
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

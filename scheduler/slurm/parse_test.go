package slurm

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// squeueLayouts says which columns each recorded squeue output has.
var squeueLayouts = map[string]*squeueLayout{
	"long":  &layoutLong,
	"short": &layoutShort,
	"sample-fmt-array": {
		fields: []squeueField{sqDisplayID, sqSkip, sqSkip, sqTaskID, sqArrayJobID, sqName, sqState, sqReason, sqSkip, sqSkip, sqNodes},
		header: strings.Split("JOBID|JOBID|ACCOUNT|ARRAY_TASK_ID|ARRAY_JOB_ID|NAME|STATE|REASON|TIME|TIME_LIMIT|NODELIST", "|"),
	},
	// -r lists pending elements one by one; the array id is only in %i.
	"sample-fmt-array-r": {
		fields: []squeueField{sqDisplayID, sqSkip, sqSkip, sqTaskID, sqName, sqState, sqReason, sqSkip, sqSkip, sqNodes, sqSkip, sqSkip},
		header: strings.Split("JOBID|JOBID|ACCOUNT|ARRAY_TASK_ID|NAME|STATE|REASON|TIME|TIME_LIMIT|NODELIST|NODES|CPUS", "|"),
	},
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
			l, ok := squeueLayouts[layout]
			if !ok {
				t.Fatalf("no layout known for %s", in)
			}
			got, skipped, err := parseSqueue(readFixture(t, in), l, time.UTC, maxArrayElements)
			if err != nil {
				t.Fatal(err)
			}
			if len(skipped) > 0 {
				t.Errorf("skipped lines of a recorded output: %q", skipped)
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
			data := readFixture(t, in)
			fields := sacctFields
			if strings.HasPrefix(filepath.Base(in), "sample-") {
				header, _, _ := strings.Cut(string(data), "\n")
				fields = strings.Split(header, "|")
			}
			got, skipped, err := parseSacct(data, fields, time.UTC, maxArrayElements)
			if err != nil {
				t.Fatal(err)
			}
			if len(skipped) > 0 {
				t.Errorf("skipped lines of a recorded output: %q", skipped)
			}
			golden(t, strings.TrimSuffix(in, ".txt")+".golden.json", toGolden(got))
		})
	}
}

func TestLayoutHeadersMatchFields(t *testing.T) {
	t.Parallel()
	for name, l := range squeueLayouts {
		if len(l.header) != len(l.fields) {
			t.Errorf("layout %s: %d header titles for %d fields", name, len(l.header), len(l.fields))
		}
	}
}

// Lines a site's wrapper prints around sacct's output are skipped; sacct's
// header alone is an empty answer (sacct -j prints only it for ids it does
// not know).
func TestParseSacctSkipsNoise(t *testing.T) {
	t.Parallel()
	data := string(readFixture(t, "testdata/sacct/final.txt"))
	want, _, err := parseSacct([]byte(data), sacctFields, time.UTC, maxArrayElements)
	if err != nil {
		t.Fatal(err)
	}
	got, skipped, err := parseSacct([]byte("Site-specific preamble here.\n"+data+"\nAdditional info.\n"), sacctFields, time.UTC, maxArrayElements)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("observations (-without noise +with):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Site-specific preamble here.", "Additional info."}, skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	header := strings.Join(sacctFields, "|")
	obs, _, err := parseSacct([]byte("Site-specific preamble here.\n"+header+"\n"), sacctFields, time.UTC, maxArrayElements)
	if err != nil || len(obs) != 0 {
		t.Errorf("header only: %d observations, error %v; want none, no error", len(obs), err)
	}
}

// Output without capi's header line is not the list capi asked for: the
// error names the command and quotes what it printed.
func TestParseRefusesOutputWithoutHeader(t *testing.T) {
	t.Parallel()
	withHeader := readFixture(t, "testdata/squeue/long-final.txt")
	_, after, _ := bytes.Cut(withHeader, []byte("\n"))
	tests := []struct {
		name  string
		parse func() error
		want  []string
	}{
		{"squeue banner only", func() error {
			_, _, err := parseSqueue([]byte("Site-specific preamble here.\n"), &layoutLong, time.UTC, maxArrayElements)
			return err
		}, []string{"squeue printed no header line", `"Site-specific preamble here."`}},
		{"squeue rows without header", func() error {
			_, _, err := parseSqueue(after, &layoutLong, time.UTC, maxArrayElements)
			return err
		}, []string{"squeue printed no header line", `"38|N/A|CANCELLED`}},
		{"squeue nothing", func() error {
			_, _, err := parseSqueue(nil, &layoutLong, time.UTC, maxArrayElements)
			return err
		}, []string{"squeue printed no header line", "printed nothing"}},
		{"sacct rows without header", func() error {
			_, _, err := parseSacct([]byte("34|TIMEOUT|0:0|None|2026-11-24T23:17:59|2026-11-24T23:18:00|2026-11-24T23:19:13|vm||tmo\n"), sacctFields, time.UTC, maxArrayElements)
			return err
		}, []string{"sacct printed no header line \"JobID|State|", `"34|TIMEOUT`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.parse()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// A job's MaxMem is the largest MaxRSS of any of its steps, not the batch
// shell's: the work of this job ran in srun steps (item 4 of issue #13).
// A step without a sample (124_2.0) lends nothing.
func TestParseSacctMaxMemIsLargestStep(t *testing.T) {
	t.Parallel()
	obs, _, err := parseSacct(readFixture(t, "testdata/sacct/steps.txt"), sacctFields, time.UTC, maxArrayElements)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range obs {
		key := o.ID
		if o.InArray {
			key = fmt.Sprintf("%s_%d", o.ID, o.Index)
		}
		got[key] = o.MaxMem
	}
	want := map[string]string{"123": "74404K", "124_1": "512340K", "124_2": "3172K"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MaxMem per job (-want +got):\n%s", diff)
	}
}

func TestLargerRSS(t *testing.T) {
	t.Parallel()
	tests := []struct{ a, b, want string }{
		{"", "62088K", "62088K"},
		{"62088K", "74404K", "74404K"},
		{"74404K", "72.50M", "74404K"}, // 72.50M is 74240K
		{"74240K", "72.51M", "72.51M"},
		{"1G", "1048577K", "1048577K"},
		{"0", "3168K", "3168K"},
		{"3168K", "", "3168K"},
		{"3168K", "lots", "3168K"},
		{"", "lots", "lots"},
		{"lots", "3168K", "3168K"},
	}
	for _, tt := range tests {
		if got := largerRSS(tt.a, tt.b); got != tt.want {
			t.Errorf("largerRSS(%q, %q) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
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

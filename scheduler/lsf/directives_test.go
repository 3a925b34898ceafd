package lsf

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
	"github.com/google/go-cmp/cmp"
)

// TestDirectivesMatchSeed pins the directive list of a job with every
// resource set to what py-cluster-api's build_header writes, line by line.
// The one intended difference: -W is rendered from the parsed walltime
// (H:MM, "4:00"), where the seed echoed the user's text ("04:00").
func TestDirectivesMatchSeed(t *testing.T) {
	t.Parallel()
	s := newTestScheduler(t, &recorder{}, scheduler.Options{})
	job := &scheduler.Job{
		Name: "capi-align",
		Resources: scheduler.Resources{
			CPUs: 4, GPUs: 2, Memory: 8 * scheduler.GB, Walltime: 4 * time.Hour,
			Queue: "normal", WorkDir: "/scratch/run1",
		},
		StdoutPath: "/scratch/run1/stdout.%J.log",
		StderrPath: "/scratch/run1/stderr.%J.log",
	}
	got, err := s.Directives(job)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`#BSUB -J capi-align`,
		`#BSUB -o "/scratch/run1/stdout.%J.log"`,
		`#BSUB -e "/scratch/run1/stderr.%J.log"`,
		`#BSUB -q normal`,
		`#BSUB -n 4`,
		`#BSUB -R "span[hosts=1]"`,
		`#BSUB -gpu "num=2"`,
		`#BSUB -M 8192`,
		`#BSUB -R "rusage[mem=8192]"`,
		`#BSUB -W 4:00`,
		`#BSUB -cwd "/scratch/run1"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("directives differ from the seed's (-want +got):\n%s", diff)
	}
}

func TestDirectivesGolden(t *testing.T) {
	t.Parallel()
	full := scheduler.Resources{
		CPUs: 8, GPUs: 1, Memory: 1536 * scheduler.MB, Walltime: 90*time.Minute + time.Second,
		Queue: "short", WorkDir: "/data/my project", Account: "proj1",
	}
	cases := []struct {
		name string
		opts scheduler.Options
		job  scheduler.Job
	}{
		{"minimal", scheduler.Options{}, scheduler.Job{Name: "j"}},
		{"one_cpu_no_span", scheduler.Options{}, scheduler.Job{Name: "j", Resources: scheduler.Resources{CPUs: 1}}},
		{"full_mb", scheduler.Options{}, scheduler.Job{Name: "capi-x", Resources: full,
			StdoutPath: "/data/my project/stdout.%J.log", StderrPath: "/data/my project/stderr.%J.log"}},
		{"full_gb_explicit", scheduler.Options{LSFUnits: "GB", LSFExplicitUnits: true}, scheduler.Job{Name: "capi-x", Resources: full}},
		{"kb_units", scheduler.Options{LSFUnits: "kb"}, scheduler.Job{Name: "j", Resources: scheduler.Resources{Memory: 1000}}},
		{"explicit_mb", scheduler.Options{LSFExplicitUnits: true}, scheduler.Job{Name: "j", Resources: scheduler.Resources{Memory: 3*scheduler.GB + 1}}},
		{"array_slot_limit", scheduler.Options{}, scheduler.Job{Name: "capi-arr", Array: &scheduler.Array{First: 1, Last: 50, MaxConcurrent: 10},
			StdoutPath: "/w/stdout.%J.%I.log", StderrPath: "/w/stderr.%J.%I.log", Resources: scheduler.Resources{WorkDir: "/w"}}},
		{"array_no_limit", scheduler.Options{}, scheduler.Job{Name: "capi-arr", Array: &scheduler.Array{First: 3, Last: 3}}},
		{"path_double_quote", scheduler.Options{}, scheduler.Job{Name: "j", Resources: scheduler.Resources{WorkDir: `/data/say "hi"`}}},
		{"path_single_quote", scheduler.Options{}, scheduler.Job{Name: "j", Resources: scheduler.Resources{WorkDir: `/data/it's`}}},
		{"path_dollar", scheduler.Options{}, scheduler.Job{Name: "j", StdoutPath: `/data/$HOME/out.%J`}},
		{"path_hash", scheduler.Options{}, scheduler.Job{Name: "j", StdoutPath: `/data/run #2/out.%J`}},
		{"walltime_rounds_up", scheduler.Options{}, scheduler.Job{Name: "j", Resources: scheduler.Resources{Walltime: 30 * time.Second}}},
		{"walltime_long", scheduler.Options{}, scheduler.Job{Name: "j", Resources: scheduler.Resources{Walltime: 36*time.Hour + 5*time.Minute}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newTestScheduler(t, &recorder{}, c.opts)
			got, err := s.Directives(&c.job)
			if err != nil {
				t.Fatal(err)
			}
			goldenBytes(t, "directives/"+c.name+".txt", []byte(strings.Join(got, "\n")+"\n"))
		})
	}
}

func TestDirectivesRefuseUnsafeValues(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		job  scheduler.Job
		kind string
	}{
		{"both quotes", scheduler.Job{Name: "j", Resources: scheduler.Resources{WorkDir: `/a'b"c`}}, "path"},
		{"single quote and dollar", scheduler.Job{Name: "j", StdoutPath: `/a'$b`}, "path"},
		{"backslash", scheduler.Job{Name: "j", StderrPath: `/a\b`}, "path"},
		{"newline", scheduler.Job{Name: "j", StdoutPath: "/a\nb"}, "path"},
		{"tab in queue", scheduler.Job{Name: "j", Resources: scheduler.Resources{Queue: "a\tb"}}, "queue"},
		{"empty name", scheduler.Job{}, "job name"},
		{"bracket in array name", scheduler.Job{Name: "a[1]", Array: &scheduler.Array{First: 1, Last: 2}}, "job name"},
		{"array from zero", scheduler.Job{Name: "a", Array: &scheduler.Array{First: 0, Last: 2}}, "array range"},
		{"array backwards", scheduler.Job{Name: "a", Array: &scheduler.Array{First: 5, Last: 2}}, "array range"},
		{"negative memory", scheduler.Job{Name: "a", Resources: scheduler.Resources{Memory: -1}}, "memory"},
		{"negative walltime", scheduler.Job{Name: "a", Resources: scheduler.Resources{Walltime: -time.Minute}}, "walltime"},
		{"negative cpus", scheduler.Job{Name: "a", Resources: scheduler.Resources{CPUs: -1}}, "cpus/gpus"},
	}
	s := newTestScheduler(t, &recorder{}, scheduler.Options{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := s.Directives(&c.job)
			var verr *scheduler.ValueError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want *scheduler.ValueError", err)
			}
			if verr.Kind != c.kind || verr.Hint == "" {
				t.Errorf("ValueError = %+v, want kind %q with a hint", verr, c.kind)
			}
		})
	}
}

func TestNewRejectsUnknownUnits(t *testing.T) {
	t.Parallel()
	_, err := New(scheduler.Options{Runner: &recorder{}, LSFUnits: "PB"})
	var verr *scheduler.ValueError
	if !errors.As(err, &verr) || verr.Kind != "lsf_units" {
		t.Fatalf("err = %v, want lsf_units ValueError", err)
	}
	if _, err := New(scheduler.Options{}); err == nil {
		t.Fatal("New without a runner succeeded")
	}
}

// TestQuoteRoundTrip checks quoteValue against the tokenizer the fake LSF
// uses (the documented #BSUB rules): every accepted value reads back as
// exactly one word equal to itself.
func TestQuoteRoundTrip(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"plain", "with space", `dq"x`, "sq'x", "$HOME/x", "a#b", "[1-2]%3", "ünï cödé", "`cmd`"} {
		q, err := quoteValue("test", v, false)
		if err != nil {
			t.Errorf("quoteValue(%q): %v", v, err)
			continue
		}
		if words := splitDirective(q); len(words) != 1 || words[0] != v {
			t.Errorf("quoteValue(%q) = %s, which reads back as %q", v, q, words)
		}
	}
}

// splitDirective is the #BSUB tokenizer as documented in doc.go: blanks
// separate words, a pair of double or single quotes groups, an unquoted '#'
// starts a comment.
func splitDirective(s string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case r == '#':
			if inWord {
				words = append(words, cur.String())
			}
			return words
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

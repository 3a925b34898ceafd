package slurm

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
	"github.com/google/go-cmp/cmp"
)

func TestDirectives(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		job  scheduler.Job
		want []string
	}{
		{
			name: "nothing requested",
			job:  scheduler.Job{},
			want: nil,
		},
		{
			name: "everything",
			job: scheduler.Job{
				Name:       "capi-align",
				StdoutPath: "/work/stdout.%A.%a.log",
				StderrPath: "/work/stderr.%A.%a.log",
				Resources: scheduler.Resources{
					Queue: "debug", Account: "proj1", CPUs: 4, GPUs: 2,
					Memory: 8 * scheduler.GB, Walltime: 36 * time.Hour, WorkDir: "/work",
				},
				Array: &scheduler.Array{First: 1, Last: 10, MaxConcurrent: 2},
			},
			want: []string{
				`#SBATCH --job-name="capi-align"`,
				`#SBATCH --output="/work/stdout.%A.%a.log"`,
				`#SBATCH --error="/work/stderr.%A.%a.log"`,
				`#SBATCH --partition="debug"`,
				`#SBATCH --account="proj1"`,
				`#SBATCH --cpus-per-task=4`,
				`#SBATCH --gpus=2`,
				`#SBATCH --mem=8192M`,
				`#SBATCH --time=1-12:00:00`,
				`#SBATCH --chdir="/work"`,
				`#SBATCH --array=1-10%2`,
			},
		},
		{
			name: "memory rounds up to whole MiB",
			job:  scheduler.Job{Resources: scheduler.Resources{Memory: 1536*scheduler.KB + 1}},
			want: []string{`#SBATCH --mem=2M`},
		},
		{
			name: "seconds are kept; SLURM rounds them up to the minute",
			job:  scheduler.Job{Resources: scheduler.Resources{Walltime: 61 * time.Second}},
			want: []string{`#SBATCH --time=0-00:01:01`},
		},
		{
			name: "array without throttle",
			job:  scheduler.Job{Array: &scheduler.Array{First: 0, Last: 0}},
			want: []string{`#SBATCH --array=0-0`},
		},
		{
			name: "paths with blanks, quotes, dollar, hash",
			job: scheduler.Job{
				StdoutPath: `/data/my "runs"/it's $HOME #1/stdout.%j.log`,
				Resources:  scheduler.Resources{WorkDir: `/data/my "runs"/it's $HOME #1`},
			},
			want: []string{
				`#SBATCH --output="/data/my \"runs\"/it's $HOME #1/stdout.%j.log"`,
				`#SBATCH --chdir="/data/my \"runs\"/it's $HOME #1"`,
			},
		},
		{
			name: "backslash without placeholder is escaped for sbatch and slurmstepd",
			job: scheduler.Job{
				StdoutPath: `/data/a\b/out.log`,
				Resources:  scheduler.Resources{WorkDir: `/data/a\b`},
			},
			want: []string{
				`#SBATCH --output="/data/a\\\\b/out.log"`,
				`#SBATCH --chdir="/data/a\\b"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := directives(&tt.job)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDirectivesRejectUnsafeValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		job  scheduler.Job
		kind string
	}{
		{"newline in name", scheduler.Job{Name: "a\n#SBATCH --mem=1"}, "job name"},
		{"newline in log path", scheduler.Job{StdoutPath: "/tmp/a\nb"}, "log path"},
		{"carriage return in stderr path", scheduler.Job{StderrPath: "/tmp/a\rb"}, "log path"},
		{"NUL in partition", scheduler.Job{Resources: scheduler.Resources{Queue: "a\x00"}}, "partition (queue)"},
		{"newline in account", scheduler.Job{Resources: scheduler.Resources{Account: "a\n"}}, "account"},
		{"newline in work dir", scheduler.Job{Resources: scheduler.Resources{WorkDir: "/a\n"}}, "work directory"},
		{"backslash with placeholder", scheduler.Job{StdoutPath: `/a\b/%j.log`}, "log path"},
		{"negative cpus", scheduler.Job{Resources: scheduler.Resources{CPUs: -1}}, "cpus"},
		{"negative gpus", scheduler.Job{Resources: scheduler.Resources{GPUs: -1}}, "gpus"},
		{"negative memory", scheduler.Job{Resources: scheduler.Resources{Memory: -1}}, "memory"},
		{"negative walltime", scheduler.Job{Resources: scheduler.Resources{Walltime: -time.Second}}, "walltime"},
		{"backwards array", scheduler.Job{Array: &scheduler.Array{First: 5, Last: 1}}, "array range"},
		{"negative throttle", scheduler.Job{Array: &scheduler.Array{First: 1, Last: 2, MaxConcurrent: -1}}, "array max concurrent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := directives(&tt.job)
			var verr *scheduler.ValueError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want a *scheduler.ValueError", err)
			}
			if verr.Kind != tt.kind || verr.Hint == "" {
				t.Errorf("ValueError kind %q hint %q, want kind %q and a hint", verr.Kind, verr.Hint, tt.kind)
			}
			if !errors.Is(err, scheduler.ErrClusterAPI) {
				t.Error("error does not match ErrClusterAPI")
			}
		})
	}
}

// sbatchArgument models how sbatch 22.05.8 reads the value of an #SBATCH
// option, as observed on the test cluster (see doc.go): quotes of either
// kind group, a backslash takes the next character literally (also inside
// quotes), an unquoted blank ends the value and an unquoted '#' starts a
// comment.
func sbatchArgument(v string) string {
	var b strings.Builder
	var quote byte
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && i+1 < len(v):
			i++
			b.WriteByte(v[i])
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
		case quote == 0 && (c == ' ' || c == '\t' || c == '#'):
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// stepdPath models slurmstepd's reading of a log path that contains a
// backslash: every backslash takes the next character literally and no
// placeholder is expanded.
func stepdPath(p string) string {
	if !strings.Contains(p, `\`) {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+1 < len(p) {
			i++
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

func TestQuoteValueRoundTrip(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"", "plain", "a b", `a"b`, "a'b", `a\b`, `a\\"b`, "#x", "a\tb", "$HOME", "`date`", `"`, `\`, "ünïcødé"} {
		checkQuoteRoundTrip(t, v)
	}
}

func checkQuoteRoundTrip(t *testing.T, v string) {
	t.Helper()
	q, err := quoteValue(v, "test")
	if strings.ContainsAny(v, "\n\r\x00") {
		if err == nil {
			t.Errorf("quoteValue(%q) accepted a line break or NUL", v)
		}
		return
	}
	if err != nil {
		t.Fatalf("quoteValue(%q): %v", v, err)
	}
	if got := sbatchArgument(q); got != v {
		t.Errorf("quoteValue(%q) = %s, which sbatch reads as %q", v, q, got)
	}
	if strings.Contains(v, "%") {
		return
	}
	p, err := logPathValue(v)
	if err != nil {
		t.Fatalf("logPathValue(%q): %v", v, err)
	}
	q, _ = quoteValue(p, "test")
	if got := stepdPath(sbatchArgument(q)); got != v {
		t.Errorf("log path %q is written as %s, which SLURM opens as %q", v, q, got)
	}
}

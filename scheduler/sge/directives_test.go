package sge

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

func TestDirectives(t *testing.T) {
	t.Parallel()
	head := []string{"#$ -N job", "#$ -S /bin/bash", "#$ -V"}
	tests := []struct {
		name string
		job  scheduler.Job
		want []string
	}{
		{
			name: "defaults",
			job: scheduler.Job{Name: "job", Resources: scheduler.Resources{WorkDir: "/w"},
				StdoutPath: "/w/stdout.$JOB_ID.log", StderrPath: "/w/stderr.$JOB_ID.log"},
			want: []string{"#$ -wd /w", "#$ -o stdout.$JOB_ID.log", "#$ -e stderr.$JOB_ID.log"},
		},
		{
			name: "no work dir means qsub's directory",
			job:  scheduler.Job{Name: "job"},
			want: []string{"#$ -cwd"},
		},
		{
			name: "everything",
			job: scheduler.Job{
				Name: "job",
				Resources: scheduler.Resources{
					CPUs: 4, GPUs: 2, Memory: 8 * scheduler.GB, Walltime: 36*time.Hour + 90*time.Second,
					Queue: "all.q", Account: "proj1", WorkDir: "/w",
				},
				Array:      &scheduler.Array{First: 1, Last: 50, MaxConcurrent: 10},
				StdoutPath: "/w/stdout.$JOB_ID.$TASK_ID.log", StderrPath: "/logs/err.$JOB_ID.$TASK_ID.log",
			},
			want: []string{
				"#$ -wd /w", "#$ -o stdout.$JOB_ID.$TASK_ID.log", "#$ -e /logs/err.$JOB_ID.$TASK_ID.log",
				"#$ -q all.q", "#$ -A proj1", "#$ -pe smp 4", "#$ -l h_vmem=2G", "#$ -l h_rt=36:01:30",
				"#$ -l gpu=2", "#$ -t 1-50", "#$ -tc 10",
			},
		},
		{
			name: "memory per slot rounds up",
			job:  scheduler.Job{Name: "job", Resources: scheduler.Resources{CPUs: 3, Memory: 1 * scheduler.GB, WorkDir: "/w"}},
			want: []string{"#$ -wd /w", "#$ -pe smp 3", "#$ -l h_vmem=349526K"},
		},
		{
			name: "memory in megabytes",
			job:  scheduler.Job{Name: "job", Resources: scheduler.Resources{CPUs: 1, Memory: 1536 * scheduler.MB, WorkDir: "/w"}},
			want: []string{"#$ -wd /w", "#$ -l h_vmem=1536M"},
		},
		{
			name: "one element array without limit",
			job:  scheduler.Job{Name: "job", Array: &scheduler.Array{First: 3, Last: 3}, Resources: scheduler.Resources{WorkDir: "/w"}},
			want: []string{"#$ -wd /w", "#$ -t 3-3"},
		},
		{
			name: "spaces, dollars and backslashes",
			job: scheduler.Job{Name: "job", Resources: scheduler.Resources{WorkDir: `/data/my run $x\y`},
				StdoutPath: `/data/my run $x\y/out.$JOB_ID`, StderrPath: "/tmp/a b/err"},
			want: []string{`#$ -wd "/data/my run $x\y"`, "#$ -o out.$JOB_ID", `#$ -e "/tmp/a b/err"`},
		},
		{
			name: "a work dir with quotes and # goes through -cwd and relative logs",
			job: scheduler.Job{Name: "job", Resources: scheduler.Resources{WorkDir: `/home/o'brien/run "#1"`},
				StdoutPath: `/home/o'brien/run "#1"/stdout.$JOB_ID.log`, StderrPath: `/home/o'brien/run "#1"/logs/e r r.log`},
			want: []string{"#$ -cwd", "#$ -o stdout.$JOB_ID.log", `#$ -e "logs/e r r.log"`},
		},
		{
			name: "colons keep their meaning",
			job: scheduler.Job{Name: "job", Resources: scheduler.Resources{WorkDir: "/w:x"},
				StdoutPath: "/w:x/o.log", StderrPath: "/elsewhere/a:b.log"},
			want: []string{"#$ -wd /w:x", "#$ -o o.log", "#$ -e :/elsewhere/a:b.log"},
		},
		{
			name: "one file for both streams",
			job: scheduler.Job{Name: "job", Resources: scheduler.Resources{WorkDir: "/w"},
				StdoutPath: "/w/all.log", StderrPath: "/w/all.log"},
			want: []string{"#$ -wd /w", "#$ -j y", "#$ -o all.log"},
		},
		{
			name: "a file name starting with a dash",
			job:  scheduler.Job{Name: "job", Resources: scheduler.Resources{WorkDir: "/w/"}, StdoutPath: "/w/-o.log"},
			want: []string{"#$ -wd /w/", "#$ -o ./-o.log"},
		},
		{
			name: "a path beside the work dir stays absolute",
			job:  scheduler.Job{Name: "job", Resources: scheduler.Resources{WorkDir: "/w"}, StdoutPath: "/wx/o.log"},
			want: []string{"#$ -wd /w", "#$ -o /wx/o.log"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newTest(t, noRunner())
			got, err := s.Directives(&tt.job)
			if err != nil {
				t.Fatal(err)
			}
			want := append(append([]string(nil), head...), tt.want...)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("directives (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDirectivesSiteSettings(t *testing.T) {
	t.Parallel()
	s := newTest(t, noRunner())
	s.ParallelEnv, s.MemoryResource, s.GPUResource = "threads", "mem_free", "ngpus"
	got, err := s.Directives(&scheduler.Job{Name: "job", Resources: scheduler.Resources{CPUs: 2, GPUs: 1, Memory: 4 * scheduler.GB, WorkDir: "/w"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"#$ -N job", "#$ -S /bin/bash", "#$ -V", "#$ -wd /w", "#$ -pe threads 2", "#$ -l mem_free=2G", "#$ -l ngpus=1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("directives (-want +got):\n%s", diff)
	}
}

func TestDirectivesRefuse(t *testing.T) {
	t.Parallel()
	ok := scheduler.Resources{WorkDir: "/w"}
	tests := []struct {
		name string
		job  scheduler.Job
		kind string
	}{
		{"name starting with a digit", scheduler.Job{Name: "1st", Resources: ok}, "job name"},
		{"empty name", scheduler.Job{Name: "", Resources: ok}, "job name"},
		{"name with a space", scheduler.Job{Name: "a b", Resources: ok}, "job name"},
		{"name with a quote", scheduler.Job{Name: `a"b`, Resources: ok}, "job name"},
		{"log path with a newline", scheduler.Job{Name: "j", Resources: ok, StdoutPath: "/x/a\nb"}, "log path"},
		{"log path with a quote outside the work dir", scheduler.Job{Name: "j", Resources: ok, StdoutPath: "/x/it's"}, "log path"},
		{"log path with #", scheduler.Job{Name: "j", Resources: ok, StderrPath: "/x/#1"}, "log path"},
		{"log path with a comma", scheduler.Job{Name: "j", Resources: ok, StdoutPath: "/w/a,b"}, "log path"},
		{"log path with NUL", scheduler.Job{Name: "j", Resources: ok, StdoutPath: "/w/a\x00b"}, "log path"},
		{"queue with a space", scheduler.Job{Name: "j", Resources: scheduler.Resources{Queue: "a q"}}, "queue"},
		{"queue with a newline", scheduler.Job{Name: "j", Resources: scheduler.Resources{Queue: "a\n#$ -l x=1"}}, "queue"},
		{"account with a quote", scheduler.Job{Name: "j", Resources: scheduler.Resources{Account: "o'k"}}, "account"},
		{"work dir with $HOME", scheduler.Job{Name: "j", Resources: scheduler.Resources{WorkDir: "/data/$HOME/x"}}, "work directory"},
		{"work dir with $USER", scheduler.Job{Name: "j", Resources: scheduler.Resources{WorkDir: "/data/a$USERb"}}, "work directory"},
		{"array from 0", scheduler.Job{Name: "j", Resources: ok, Array: &scheduler.Array{First: 0, Last: 9}}, "array range"},
		{"array backwards", scheduler.Job{Name: "j", Resources: ok, Array: &scheduler.Array{First: 5, Last: 2}}, "array range"},
		{"negative limit", scheduler.Job{Name: "j", Resources: ok, Array: &scheduler.Array{First: 1, Last: 2, MaxConcurrent: -1}}, "array max concurrent"},
		{"negative cpus", scheduler.Job{Name: "j", Resources: scheduler.Resources{CPUs: -1}}, "cpus/gpus"},
		{"negative memory", scheduler.Job{Name: "j", Resources: scheduler.Resources{Memory: -1}}, "memory"},
		{"negative walltime", scheduler.Job{Name: "j", Resources: scheduler.Resources{Walltime: -time.Second}}, "walltime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := newTest(t, noRunner()).Directives(&tt.job)
			var ve *scheduler.ValueError
			if !errors.As(err, &ve) {
				t.Fatalf("Directives = %q, %v; want a *ValueError", got, err)
			}
			if ve.Kind != tt.kind || ve.Hint == "" {
				t.Errorf("ValueError kind %q hint %q, want kind %q and a hint", ve.Kind, ve.Hint, tt.kind)
			}
		})
	}
}

// noRunner is a runner for tests that must not run anything.
func noRunner() scheduler.Runner {
	return &fakeRunner{respond: func(scheduler.Command) (scheduler.Result, error) { panic("no command expected") }}
}

func TestDialect(t *testing.T) {
	t.Parallel()
	d := newTest(t, noRunner()).Dialect()
	want := scheduler.Dialect{DirectivePrefix: "#$", JobIDVar: "JOB_ID", ArrayJobIDVar: "JOB_ID", ArrayIndexVar: "SGE_TASK_ID",
		LogJobID: "$JOB_ID", LogArrayJobID: "$JOB_ID", LogIndex: "$TASK_ID"}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("dialect (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix("#$ -N x", d.DirectivePrefix+" ") {
		t.Error("prefix and directives disagree")
	}
}

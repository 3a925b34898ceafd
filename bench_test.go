package clusterapi

// Benchmarks of the engine's hot paths (SPEC §4): one poll's parse and
// update at N tracked jobs for LSF, SLURM and Grid Engine, each next to the
// bare decode of the same bytes; memory per tracked job; script rendering;
// config loading. Numbers are reported, never asserted: see bench/RESULTS.md.
//
//	go test -run '^$' -bench . -benchmem .          # all (≈ 2 min)
//	go test -run '^$' -bench . -benchmem -short .   # without N = 100k

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// benchSizes are the numbers of tracked jobs. A tenth of the jobs are
// arrays of 10 elements, so a poll reports 1.9 N rows (jobs + elements).
var benchSizes = []int{1000, 10000, 100000}

const (
	benchPrefix   = "bench"
	benchArrayLen = 10
)

// Synthetic workload, shared by the three formats so that their figures
// compare: job k has id 100000+k; every tenth job is an array of 10
// elements; plain jobs cycle through 4 running, 3 pending, 2 done, 1 failed
// in 10; half the arrays are wholly pending, the other half have elements
// 1-4 done, 5-6 running and 7-10 pending.
type benchState int

const (
	bRun benchState = iota
	bPend
	bDone
	bExit
)

var benchCycle = [...]benchState{bRun, bPend, bRun, bDone, bPend, bRun, bExit, bPend, bRun, bDone}

func benchIsArray(k int) bool { return k%10 == 9 }

// benchNoArrays makes bjobsOutputPlain's workload all plain jobs.
func benchNoArrays(int) bool { return false }

func benchPlainState(k int) benchState { return benchCycle[(k/10+k)%len(benchCycle)] }

// benchElemState is the state of element idx (1-based) of array job k.
func benchElemState(k, idx int) benchState {
	if (k/10)%2 == 0 {
		return bPend
	}
	switch {
	case idx <= 4:
		return bDone
	case idx <= 6:
		return bRun
	}
	return bPend
}

// benchRows counts the rows (plain jobs + array elements) of n jobs.
func benchRows(n int) int {
	rows := 0
	for k := range n {
		if benchIsArray(k) {
			rows += benchArrayLen
		} else {
			rows++
		}
	}
	return rows
}

// bjobsOutput renders the workload as "bjobs -a -json -o '<fields>'" prints
// it (layout of scheduler/lsf/testdata/bjobs/mixed_states.json and
// array.json): every value a string, one record per plain job or element.
func bjobsOutput(n int) []byte { return bjobsDoc(n, benchIsArray) }

// bjobsOutputPlain is bjobsOutput without arrays: n records, n jobs.
func bjobsOutputPlain(n int) []byte { return bjobsDoc(n, benchNoArrays) }

func bjobsDoc(n int, isArray func(int) bool) []byte {
	var b bytes.Buffer
	b.Grow(n * 560)
	rows := n
	if isArray(n - 1) {
		rows = benchRows(n)
	}
	fmt.Fprintf(&b, "{\n  \"COMMAND\":\"bjobs\",\n  \"JOBS\":%d,\n  \"RECORDS\":[\n", rows)
	first := true
	rec := func(id, index int, name string, st benchState, k int) {
		if !first {
			b.WriteString(",\n")
		}
		first = false
		stat, exitCode, host, start, finish, mem, pend := "", "", "", "", "", "", ""
		day, minute := k%9+1, k%60
		switch st {
		case bRun:
			stat, host = "RUN", fmt.Sprintf("c%03d", k%500)
			start = fmt.Sprintf("Mar %2d 10:%02d", day, minute)
			finish = fmt.Sprintf("Mar %2d 10:%02d L", day+10, minute)
			mem = fmt.Sprintf("%d Mbytes", k%4000)
		case bPend:
			stat, pend = "PEND", "New job is waiting for scheduling;"
		case bDone:
			stat, host = "DONE", fmt.Sprintf("c%03d", k%500)
			start = fmt.Sprintf("Mar %2d 10:%02d", day, minute)
			finish = fmt.Sprintf("Mar %2d 11:%02d", day, minute)
			mem = fmt.Sprintf("%d Mbytes", k%4000)
		case bExit:
			stat, exitCode, host = "EXIT", "1", fmt.Sprintf("c%03d", k%500)
			start = fmt.Sprintf("Mar %2d 10:%02d", day, minute)
			finish = fmt.Sprintf("Mar %2d 11:%02d", day, minute)
			mem = fmt.Sprintf("%d Mbytes", k%4000)
		}
		fmt.Fprintf(&b, `    {
      "JOBID":"%d",
      "JOBINDEX":"%d",
      "STAT":"%s",
      "JOB_NAME":"%s",
      "EXIT_CODE":"%s",
      "EXIT_REASON":"",
      "EXEC_HOST":"%s",
      "SUBMIT_TIME":"Mar %2d 09:%02d",
      "START_TIME":"%s",
      "FINISH_TIME":"%s",
      "MAX_MEM":"%s",
      "PEND_REASON":"%s"
    }`, id, index, stat, name, exitCode, host, day, minute, start, finish, mem, pend)
	}
	for k := range n {
		id := 100000 + k
		if !isArray(k) {
			rec(id, 0, fmt.Sprintf("%s-job-%d", benchPrefix, id), benchPlainState(k), k)
			continue
		}
		for idx := 1; idx <= benchArrayLen; idx++ {
			rec(id, idx, fmt.Sprintf("%s-arr-%d[%d]", benchPrefix, id, idx), benchElemState(k, idx), k)
		}
	}
	b.WriteString("\n  ]\n}\n")
	return b.Bytes()
}

// squeueOutput renders the workload as the poll of scheduler/slurm prints
// it: "squeue --states=all --user=U -O ArrayJobID:|,
// ArrayTaskID:|,State:|,Reason:|,exit_code:|,SubmitTime:|,StartTime:|,
// EndTime:|,NodeList:|,Name:" (layout of testdata/squeue/long-*.txt).
// Without -r, squeue folds an array's pending elements into one row with a
// range ("7-10").
func squeueOutput(n int) []byte {
	var b bytes.Buffer
	b.Grow(n * 200)
	// capi's marker: the header of the fields it asked for.
	b.WriteString("ARRAY_JOB_ID|ARRAY_TASK_ID|STATE|REASON|EXIT_CODE|SUBMIT_TIME|START_TIME|END_TIME|NODELIST|NAME\n")
	row := func(id int, task string, st benchState, name string, k int) {
		submit := fmt.Sprintf("2026-11-%02dT09:%02d:00", k%9+10, k%60)
		start := fmt.Sprintf("2026-11-%02dT10:%02d:00", k%9+10, k%60)
		end := fmt.Sprintf("2026-11-%02dT11:%02d:00", k%9+10, k%60)
		node := fmt.Sprintf("node%03d", k%500)
		switch st {
		case bRun:
			fmt.Fprintf(&b, "%d|%s|RUNNING|None|0|%s|%s|%s|%s|%s\n", id, task, submit, start, "2027-11-24T23:18:12", node, name)
		case bPend:
			fmt.Fprintf(&b, "%d|%s|PENDING|Priority|0|%s|N/A|N/A||%s\n", id, task, submit, name)
		case bDone:
			fmt.Fprintf(&b, "%d|%s|COMPLETED|None|0|%s|%s|%s|%s|%s\n", id, task, submit, start, end, node, name)
		case bExit:
			fmt.Fprintf(&b, "%d|%s|FAILED|NonZeroExitCode|256|%s|%s|%s|%s|%s\n", id, task, submit, start, end, node, name)
		}
	}
	for k := range n {
		id := 100000 + k
		if !benchIsArray(k) {
			row(id, "N/A", benchPlainState(k), fmt.Sprintf("%s-job-%d", benchPrefix, id), k)
			continue
		}
		name := fmt.Sprintf("%s-arr-%d", benchPrefix, id)
		first := 1
		for ; first <= benchArrayLen && benchElemState(k, first) != bPend; first++ {
			row(id, fmt.Sprint(first), benchElemState(k, first), name, k)
		}
		if first <= benchArrayLen {
			row(id, fmt.Sprintf("%d-%d", first, benchArrayLen), bPend, name, k)
		}
	}
	return b.Bytes()
}

// qstatOutput renders the workload as "qstat -xml -u U" prints it (layout
// of scheduler/sge/testdata/qstat/array_running.txt): running jobs and
// tasks, one <job_list> each, under <queue_info>; pending ones under
// <job_info>, an array's pending tasks as one range. Finished jobs leave
// qstat (their end is told by qacct), so done and failed jobs of the
// workload are shown running here, and every tracked job stays listed.
func qstatOutput(n int) []byte {
	var run, pend bytes.Buffer
	run.Grow(n * 300)
	entry := func(w *bytes.Buffer, id int, name string, st benchState, k int, tasks string) {
		if st != bPend {
			fmt.Fprintf(w, "    <job_list state=\"running\">\n      <JB_job_number>%d</JB_job_number>\n      <JAT_prio>0.50000</JAT_prio>\n      <JB_name>%s</JB_name>\n      <JB_owner>alice</JB_owner>\n      <state>r</state>\n      <JAT_start_time>2026-11-24T22:%02d:03</JAT_start_time>\n      <queue_name>all.q@node%03d</queue_name>\n      <slots>1</slots>\n", id, name, k%60, k%500)
		} else {
			fmt.Fprintf(w, "    <job_list state=\"pending\">\n      <JB_job_number>%d</JB_job_number>\n      <JAT_prio>0.50000</JAT_prio>\n      <JB_name>%s</JB_name>\n      <JB_owner>alice</JB_owner>\n      <state>qw</state>\n      <JB_submission_time>2026-11-24T22:%02d:03</JB_submission_time>\n      <queue_name></queue_name>\n      <slots>1</slots>\n", id, name, k%60)
		}
		if tasks != "" {
			fmt.Fprintf(w, "      <tasks>%s</tasks>\n", tasks)
		}
		w.WriteString("    </job_list>\n")
	}
	for k := range n {
		id := 100000 + k
		if !benchIsArray(k) {
			st := benchPlainState(k)
			w := &run
			if st == bPend {
				w = &pend
			}
			entry(w, id, fmt.Sprintf("%s-job-%d", benchPrefix, id), st, k, "")
			continue
		}
		name := fmt.Sprintf("%s-arr-%d", benchPrefix, id)
		first := 1
		for ; first <= benchArrayLen && benchElemState(k, first) != bPend; first++ {
			entry(&run, id, name, bRun, k, fmt.Sprint(first))
		}
		if first <= benchArrayLen {
			entry(&pend, id, name, bPend, k, fmt.Sprintf("%d-%d:1", first, benchArrayLen))
		}
	}
	var b bytes.Buffer
	b.Grow(run.Len() + pend.Len() + 300)
	b.WriteString("<?xml version='1.0'?>\n<job_info  xmlns:xsd=\"http://arc.liv.ac.uk/repos/darcs/sge/source/dist/util/resources/schemas/qstat/qstat.xsd\">\n  <queue_info>\n")
	b.Write(run.Bytes())
	b.WriteString("  </queue_info>\n  <job_info>\n")
	b.Write(pend.Bytes())
	b.WriteString("  </job_info>\n</job_info>\n")
	return b.Bytes()
}

// benchFormat is one scheduler's output format: how to generate it and its
// bare decode, the floor a poll is compared with.
type benchFormat struct {
	name, executor string
	output         func(n int) []byte
	rows           func(n int) int
	decode         func(out []byte) int
}

var benchFormats = []benchFormat{
	{"lsf", "lsf", bjobsOutput, benchRows, decodeBJobsBare},
	// lsf-plain has no arrays: N jobs, N records, the shape of SPEC §4's
	// reference points (100k jobs, 29 MB).
	{"lsf-plain", "lsf", bjobsOutputPlain, func(n int) int { return n }, decodeBJobsBare},
	{"slurm", "slurm", squeueOutput, benchRows, decodeSqueueBare},
	{"sge", "sge", qstatOutput, benchRows, decodeQstatBare},
}

// bareBJobs is the least a reader of bjobs -json must decode: every
// record's fields, as strings.
type bareBJobs struct {
	Records []struct {
		JobID      string `json:"JOBID"`
		JobIndex   string `json:"JOBINDEX"`
		Stat       string `json:"STAT"`
		JobName    string `json:"JOB_NAME"`
		ExitCode   string `json:"EXIT_CODE"`
		ExitReason string `json:"EXIT_REASON"`
		ExecHost   string `json:"EXEC_HOST"`
		SubmitTime string `json:"SUBMIT_TIME"`
		StartTime  string `json:"START_TIME"`
		FinishTime string `json:"FINISH_TIME"`
		MaxMem     string `json:"MAX_MEM"`
		PendReason string `json:"PEND_REASON"`
	} `json:"RECORDS"`
}

func decodeBJobsBare(out []byte) int {
	var d bareBJobs
	if err := json.Unmarshal(out, &d); err != nil {
		panic(err)
	}
	return len(d.Records)
}

// decodeSqueueBare splits lines, then columns at '|'.
func decodeSqueueBare(out []byte) int {
	cols := 0
	for _, line := range strings.Split(string(out), "\n") {
		if line != "" {
			cols += len(strings.Split(line, "|"))
		}
	}
	return cols
}

// decodeQstatBare reads every token with encoding/xml (RawToken, as
// scheduler/sge does).
func decodeQstatBare(out []byte) int {
	dec := xml.NewDecoder(bytes.NewReader(out))
	n := 0
	for {
		_, err := dec.RawToken()
		if err == io.EOF {
			return n
		}
		if err != nil {
			panic(err)
		}
		n++
	}
}

// cannedRunner answers every command with out and counts the commands.
type cannedRunner struct {
	out   []byte
	calls atomic.Int64
}

func (r *cannedRunner) Run(_ context.Context, _ scheduler.Command) (scheduler.Result, error) {
	r.calls.Add(1)
	return scheduler.Result{Stdout: r.out}, nil
}

// newBenchExecutor creates an in-memory executor on the real scheduler
// package whose commands all print out, and adopts the n jobs with
// Reconnect. It fails the benchmark unless every job is tracked and a poll
// takes exactly one command (nothing missing, so no accounting lookups).
func newBenchExecutor(b *testing.B, executor string, out []byte, n int) (*Executor, *cannedRunner) {
	b.Helper()
	run := &cannedRunner{out: out}
	// The canned jobs ended on fixed past dates; a long retention keeps
	// Reconnect from leaving them out as ended long ago.
	e, err := New(Config{Executor: executor, InMemory: true, JobNamePrefix: benchPrefix, StateDir: b.TempDir(),
		CompletedRetention: 100 * 365 * 24 * time.Hour}, &Options{Runner: run})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	ctx := context.Background()
	jobs, err := e.Reconnect(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if len(jobs) != n {
		b.Fatalf("%s: Reconnect adopted %d jobs, want %d", executor, len(jobs), n)
	}
	before := run.calls.Load()
	if err := e.Poll(ctx); err != nil {
		b.Fatal(err)
	}
	if c := run.calls.Load() - before; c != 1 {
		b.Fatalf("%s: a poll ran %d commands, want 1", executor, c)
	}
	return e, run
}

// BenchmarkPoll measures one poll of N tracked jobs in three steps over
// the same bytes: decode (the bare floor), parse (the scheduler package's
// Poll alone) and poll (Executor.Poll: parse + update of every tracked
// job). parse and poll report x-decode, their time over decode's from the
// same run, when decode ran too.
func BenchmarkPoll(b *testing.B) {
	for _, f := range benchFormats {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/N=%d", f.name, n), func(b *testing.B) {
				if n >= 100000 && testing.Short() {
					b.Skip("N = 100k skipped with -short")
				}
				out := f.output(n)
				var decodeNs float64
				ratio := func(b *testing.B) {
					if decodeNs > 0 {
						b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/decodeNs, "x-decode")
					}
				}
				b.Run("decode", func(b *testing.B) {
					b.SetBytes(int64(len(out)))
					b.ReportAllocs()
					for b.Loop() {
						f.decode(out)
					}
					decodeNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				})
				b.Run("parse", func(b *testing.B) {
					sched, err := schedulerFactories[f.executor](scheduler.Options{Runner: &cannedRunner{out: out}})
					if err != nil {
						b.Fatal(err)
					}
					q := scheduler.Query{Prefix: benchPrefix + "-"}
					b.SetBytes(int64(len(out)))
					b.ReportAllocs()
					for b.Loop() {
						if _, err := sched.Poll(context.Background(), q); err != nil {
							b.Fatal(err)
						}
					}
					ratio(b)
				})
				b.Run("poll", func(b *testing.B) {
					e, _ := newBenchExecutor(b, f.executor, out, n)
					ctx := context.Background()
					b.SetBytes(int64(len(out)))
					b.ReportAllocs()
					for b.Loop() {
						if err := e.Poll(ctx); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(f.rows(n)), "ns/row")
					ratio(b)
				})
			})
		}
	}
}

// BenchmarkTrackedMemory reports the live heap an in-memory executor holds
// per tracked job (bytes/job) and per row (bytes/row: a plain job or one
// array element), after a GC, with n jobs adopted from an LSF poll (lsf:
// the usual mix, a tenth arrays of 10; lsf-plain: no arrays). The scheduler
// output itself is allocated before the baseline and not counted.
func BenchmarkTrackedMemory(b *testing.B) {
	for _, mix := range []struct {
		name   string
		output func(int) []byte
		rows   func(int) int
	}{
		{"lsf", bjobsOutput, benchRows},
		{"lsf-plain", bjobsOutputPlain, func(n int) int { return n }},
	} {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/N=%d", mix.name, n), func(b *testing.B) {
				if n >= 100000 && testing.Short() {
					b.Skip("N = 100k skipped with -short")
				}
				out := mix.output(n)
				var alloc, inuse float64
				for b.Loop() {
					var before, after runtime.MemStats
					runtime.GC()
					runtime.ReadMemStats(&before)
					e, _ := newBenchExecutor(b, "lsf", out, n)
					runtime.GC()
					runtime.ReadMemStats(&after)
					alloc = float64(after.HeapAlloc) - float64(before.HeapAlloc)
					inuse = float64(after.HeapInuse) - float64(before.HeapInuse)
					runtime.KeepAlive(e)
					e.Close()
				}
				b.ReportMetric(alloc/float64(n), "bytes/job")
				b.ReportMetric(alloc/float64(mix.rows(n)), "bytes/row")
				b.ReportMetric(inuse/float64(n), "inuse-bytes/job")
			})
		}
	}
}

// BenchmarkScript renders a job script (directives, environment, array)
// through Executor.Script for each grid scheduler.
func BenchmarkScript(b *testing.B) {
	for _, name := range []string{"lsf", "slurm", "sge", "local"} {
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			e, err := New(Config{
				Executor: name, InMemory: true, JobNamePrefix: benchPrefix, StateDir: dir,
				CPUs: 1, Memory: 8 * scheduler.GB, Walltime: 4 * time.Hour,
				ScriptPrologue: []string{"module load python"},
			}, &Options{Runner: &cannedRunner{}})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			spec := JobSpec{
				Name:      "align sample",
				Command:   "python align.py --in data/$CAPI_ARRAY_INDEX.fq --out 'results dir'",
				Resources: Resources{WorkDir: dir, Queue: "normal"},
				Env:       map[string]string{"OMP_NUM_THREADS": "4", "SAMPLE": "x y"},
			}
			arr := &Array{First: 1, Last: 100, MaxConcurrent: 10}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Script(spec, arr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchConfig is a config file with base keys and two profiles.
const benchConfig = `executor: lsf
job_name_prefix: myapp
cpus: 2
memory: 4 GB
walltime: "04:00"
queue: normal
poll_interval: 30
zombie_timeout_minutes: 45
script_prologue:
  - module load python/3.12
  - source ~/venv/bin/activate
extra_directives:
  - "#BSUB -P project-x"
profiles:
  gpu:
    queue: gpu
    gpus: 1
    memory: 32 GB
  big:
    cpus: 16
    walltime: "24:00"
`

// BenchmarkLoadConfig reads a config file and applies a profile and an
// override, as every capi command does at start.
func BenchmarkLoadConfig(b *testing.B) {
	path := filepath.Join(b.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(benchConfig), 0o644); err != nil {
		b.Fatal(err)
	}
	opts := LoadOptions{Path: path, Profile: "gpu", Overrides: map[string]string{"cpus": "4"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := LoadConfig(opts); err != nil {
			b.Fatal(err)
		}
	}
}

// bigArrayBJobs is bjobs -json output for one array job of e elements: the
// first tenth done, the next tenth running, the rest pending.
func bigArrayBJobs(e int) []byte {
	var b bytes.Buffer
	b.Grow(e * 420)
	fmt.Fprintf(&b, "{\n  \"COMMAND\":\"bjobs\",\n  \"JOBS\":%d,\n  \"RECORDS\":[\n", e)
	for idx := 1; idx <= e; idx++ {
		stat, host, start, finish, pend := "PEND", "", "", "", "The job array has reached its running element limit;"
		switch {
		case idx <= e/10:
			stat, host, start, finish, pend = "DONE", "c001", "Mar  1 10:00", "Mar  1 10:05", ""
		case idx <= e/5:
			stat, host, start, finish, pend = "RUN", "c002", "Mar  1 10:05", "Mar 11 10:05 L", ""
		}
		if idx > 1 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `    {
      "JOBID":"554997",
      "JOBINDEX":"%d",
      "STAT":"%s",
      "JOB_NAME":"%s-big[%d]",
      "EXIT_CODE":"",
      "EXIT_REASON":"",
      "EXEC_HOST":"%s",
      "SUBMIT_TIME":"Mar  1 09:59",
      "START_TIME":"%s",
      "FINISH_TIME":"%s",
      "MAX_MEM":"",
      "PEND_REASON":"%s"
    }`, idx, stat, benchPrefix, idx, host, start, finish, pend)
	}
	b.WriteString("\n  ]\n}\n")
	return b.Bytes()
}

// BenchmarkPollBigArray polls one LSF array of E elements: the engine's
// per-element work must stay linear in E (ns/element flat).
func BenchmarkPollBigArray(b *testing.B) {
	for _, e := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("lsf/E=%d", e), func(b *testing.B) {
			if e >= 100000 && testing.Short() {
				b.Skip("E = 100k skipped with -short")
			}
			out := bigArrayBJobs(e)
			ex, _ := newBenchExecutor(b, "lsf", out, 1)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := ex.Poll(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(e), "ns/element")
		})
	}
}

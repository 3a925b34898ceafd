package slurm

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gold "github.com/go-cluster-api/clusterapi/internal/golden"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

// peerResult is what capi makes of an output another project recorded
// (testdata/peer/README.md names the origin of each), as its golden file
// shows it, with the decision that explains it.
type peerResult struct {
	Decision     string      `json:"decision"`
	Observations []goldenObs `json:"observations,omitempty"`
	Skipped      []string    `json:"skipped,omitempty"`
	ID           string      `json:"id,omitempty"`
	Error        string      `json:"error,omitempty"`
	Transient    bool        `json:"transient,omitempty"`
}

// peerReader reads one recorded output the way capi would meet it.
type peerReader func(t *testing.T, data []byte) peerResult

// gc3pieSacct is the header sacct prints for gc3pie's "sacct --parsable
// --format jobid,exitcode,state,ncpus,elapsed,totalcpu,submit,start,end,
// maxrss,maxvmsize" (--parsable ends every line with '|'); gc3pie ran it
// with --noheader.
const gc3pieSacct = "JobID|ExitCode|State|NCPUS|Elapsed|TotalCPU|Submit|Start|End|MaxRSS|MaxVMSize|"

var peerCases = map[string]struct {
	decision string
	read     peerReader
}{
	"gc3pie_sacct_almost_done.txt":            {gc3pieSacctDecision, sacctWithHeader(gc3pieSacct)},
	"gc3pie_sacct_done_bad_timestamps.txt":    {gc3pieSacctDecision, sacctWithHeader(gc3pieSacct)},
	"gc3pie_sacct_done_cancelled.txt":         {gc3pieSacctDecision, sacctWithHeader(gc3pieSacct)},
	"gc3pie_sacct_done_fail_early.txt":        {gc3pieSacctDecision, sacctWithHeader(gc3pieSacct)},
	"gc3pie_sacct_done_fractional_rusage.txt": {gc3pieSacctDecision + " MaxMem is the largest MaxRSS of the ten srun steps (123.8, 74404K), not the batch shell's 62088K; 72.50M (74240K) is smaller.", sacctWithHeader(gc3pieSacct)},
	"gc3pie_sacct_done_node_fail.txt":         {gc3pieSacctDecision, sacctWithHeader(gc3pieSacct)},
	"gc3pie_sacct_done_ok.txt":                {gc3pieSacctDecision, sacctWithHeader(gc3pieSacct)},
	"gc3pie_sacct_done_ok2.txt":               {gc3pieSacctDecision, sacctWithHeader(gc3pieSacct)},
	"gc3pie_sacct_done_parallel.txt":          {gc3pieSacctDecision, sacctWithHeader(gc3pieSacct)},
	"gc3pie_sacct_done_timeout.txt":           {gc3pieSacctDecision, sacctWithHeader(gc3pieSacct)},
	"gc3pie_sacct_disabled.stderr": {"sacct's answer on a cluster without accounting (exit 1; SLURM 2.x spells it SLURM, 22.05 Slurm): an absent source, not an error; Account returns nothing and stops asking.",
		accountStderr},
	"gc3pie_squeue_pending.txt":                {gc3pieSqueueDecision, squeueAs("^", gc3pieSqueueLayout, "GC3Pie^")},
	"gc3pie_squeue_running.txt":                {gc3pieSqueueDecision, squeueAs("^", gc3pieSqueueLayout, "GC3Pie^")},
	"gc3pie_squeue_pending_with_additions.txt": {gc3pieSqueueDecision + " The site's preamble and trailing line are skipped (issue #13, item 3).", squeueAs("^", gc3pieSqueueLayout, "GC3Pie^")},
	"gc3pie_squeue_running_with_additions.txt": {gc3pieSqueueDecision + " The site's preamble and trailing line are skipped (issue #13, item 3).", squeueAs("^", gc3pieSqueueLayout, "GC3Pie^")},
	"gc3pie_squeue_count_jobs.txt": {"Mapped: squeue --noheader --format='%i^%T^%u^%U^%r^%R' for all users; '^' becomes '|' and the header squeue prints for the format goes first. Read by id (%i), state and reason.",
		squeueAs("^", &squeueLayout{
			fields: []squeueField{sqDisplayID, sqState, sqSkip, sqSkip, sqReason, sqSkip},
			header: []string{"JOBID", "STATE", "USER", "UID", "REASON", "NODELIST(REASON)"},
		}, "")},
	"oodcore_squeue.txt":                  {oodSqueueDecision + " Its rows lack the header's trailing separator (an inconsistency of the fixture: squeue ends every line with the same suffix), so they do not fit the header's columns and are skipped: nothing is observed.", squeueAs("\x1f", nil, "")},
	"oodcore_squeue_cluster_header.txt":   {oodSqueueDecision + " The 'CLUSTER: dawn' line (squeue -M) before the header is skipped; the rows lack the header's trailing separator, as in oodcore_squeue.txt, and are skipped too.", squeueAs("\x1f", nil, "")},
	"oodcore_null_submit_time.txt":        {oodSqueueDecision + " Job 6779842's name holds ood's separator; mapped, it holds '|', and since surplus separators belong to the name column the row stays whole.", squeueAs("\x1f", nil, "")},
	"oodcore_non_utf8_job_name.txt":       {oodSqueueDecision + " The name's U+FFFD is kept as it is; array element 29471683_9 is read from ARRAY_JOB_ID and ARRAY_TASK_ID.", squeueAs("\x1f", nil, "")},
	"submitit_sacct_read_info.txt":        {"Read as it is: sacct --parsable2 with its header JobID|State. Step lines (.ext+, .0) lend no state; RUNING (a typo in submitit's fixture) is an unknown state.", sacctAsRecorded},
	"submitit_sacct_array.txt":            {"Read as it is: sacct --parsable2 with its header JobID|State. R and X are submitit's test inputs, not SLURM's state words, so both are unknown; 12_[2,4-12] expands to its ten elements.", sacctAsRecorded},
	"submitit_job_ids.txt":                {"Mapped: the job id forms sacct prints in JobID, each read as a PENDING row under the header JobID|State; array records expand to their elements, the %N throttle is ignored.", sacctRowsWithState("PENDING")},
	"drmaa2os_states.txt":                 {"Mapped: drmaa2os's fake sacct answers 'N STATE'; each becomes the row N|STATE under the header JobID|State, so the golden shows how capi classifies every SLURM state word (WrOnGsTaTe is drmaa2os's own bad input).", sacctRowsFromWords},
	"dask_sbatch_cluster.stdout":          {sbatchDecision, sbatchStdout},
	"dask_sbatch_plain.stdout":            {sbatchDecision, sbatchStdout},
	"dask_sbatch_prefixed.stdout":         {"sbatch's line with the 'sbatch: ' prefix some versions print (gc3pie quotes it too); accepted.", sbatchStdout},
	"nextflow_sbatch_1.stdout":            {sbatchDecision, sbatchStdout},
	"nextflow_sbatch_2.stdout":            {sbatchDecision, sbatchStdout},
	"nextflow_sbatch_3.stdout":            {sbatchDecision, sbatchStdout},
	"nextflow_sbatch_4.stdout":            {sbatchDecision, sbatchStdout},
	"nextflow_sbatch_5.stdout":            {sbatchDecision, sbatchStdout},
	"nextflow_sbatch_6.stdout":            {sbatchDecision, sbatchStdout},
	"nextflow_sbatch_7.stdout":            {"Not a job id (nextflow expects it to fail too): the submission fails with the output quoted, and is not retried.", sbatchStdout},
	"snakemake_sbatch_cluster.stdout":     {sbatchDecision, sbatchStdout},
	"snakemake_sbatch_parsable.stdout":    {sbatchDecision, sbatchStdout},
	"submitit_sbatch.stdout":              {sbatchDecision, sbatchStdout},
	"submitit_sbatch_garbage.stdout":      {"Not a job id: the submission fails with the output quoted, and is not retried.", sbatchStdout},
	"gc3pie_sbatch_ok.stdout":             {sbatchDecision, sbatchStdout},
	"gc3pie_sbatch_failed.stderr":         {"sbatch refused the job (exit 1): a SubmitError with sbatch's words, not transient.", sbatchStderr},
	"aiida_sbatch_invalid_account.stderr": {"sbatch refused the job (exit 1): a SubmitError with sbatch's words, not transient.", sbatchStderr},
}

const (
	gc3pieSacctDecision  = "Mapped: gc3pie's sacct --noheader --parsable rows, read under the header sacct prints for its columns, as capi reads its own sacct rows (columns capi does not ask for are ignored)."
	gc3pieSqueueDecision = "Mapped: squeue --noheader --format='GC3Pie^%i^%T^%r'; '^' becomes '|' and the header squeue prints for the format goes before its first line. Read by id (%i), state and reason."
	oodSqueueDecision    = "Mapped: ood_core's squeue -o with \\x1f separators and its header line; \\x1f becomes '|' and the columns capi asks for are read under ood's titles (ARRAY_JOB_ID, ARRAY_TASK_ID, STATE, REASON, SUBMIT_TIME, START_TIME, END_TIME, NODELIST, NAME)."
	sbatchDecision       = "sbatch's answer on stdout (exit 0): the job id, with a ';cluster' suffix or the 'Submitted batch job' words removed."
)

// gc3pieSqueueLayout reads "GC3Pie^%i^%T^%r": gc3pie's own literal, then
// the job id as %i prints it, the state and the reason.
var gc3pieSqueueLayout = &squeueLayout{
	fields: []squeueField{sqSkip, sqDisplayID, sqState, sqReason},
	header: []string{"GC3Pie", "JOBID", "STATE", "REASON"},
}

// oodTitles maps the titles of ood_core's squeue header to capi's columns.
var oodTitles = map[string]squeueField{
	"ARRAY_JOB_ID": sqArrayJobID, "ARRAY_TASK_ID": sqTaskID, "STATE": sqState, "REASON": sqReason,
	"SUBMIT_TIME": sqSubmit, "START_TIME": sqStart, "END_TIME": sqEnd, "NODELIST": sqNodes, "NAME": sqName,
}

func TestPeerOutputs(t *testing.T) {
	t.Parallel()
	gold.PeerOutputs(t, "testdata/peer", "testdata/peer/README.md", slices.Collect(maps.Keys(peerCases)), func(t *testing.T, path string, data []byte) {
		c := peerCases[filepath.Base(path)]
		got := c.read(t, data)
		got.Decision = c.decision
		golden(t, strings.TrimSuffix(path, filepath.Ext(path))+".golden.json", got)
	})
}

// sacctWithHeader reads rows recorded with --noheader under the header
// sacct prints for their columns.
func sacctWithHeader(header string) peerReader {
	return func(t *testing.T, data []byte) peerResult {
		return sacctResult(append([]byte(header+"\n"), data...), strings.Split(header, "|"))
	}
}

// sacctAsRecorded reads output recorded with its header line.
func sacctAsRecorded(t *testing.T, data []byte) peerResult {
	header, _, _ := strings.Cut(string(data), "\n")
	return sacctResult(data, strings.Split(header, "|"))
}

// sacctRowsWithState makes a row ID|state of every line.
func sacctRowsWithState(state string) peerReader {
	return func(t *testing.T, data []byte) peerResult {
		out := "JobID|State\n"
		for _, id := range strings.Fields(string(data)) {
			out += id + "|" + state + "\n"
		}
		return sacctResult([]byte(out), []string{"JobID", "State"})
	}
}

// sacctRowsFromWords makes a row N|STATE of every line "N STATE".
func sacctRowsFromWords(t *testing.T, data []byte) peerResult {
	out := "JobID|State\n"
	for line := range strings.Lines(string(data)) {
		id, state, _ := strings.Cut(strings.TrimSpace(line), " ")
		out += id + "|" + state + "\n"
	}
	return sacctResult([]byte(out), []string{"JobID", "State"})
}

func sacctResult(out []byte, fields []string) peerResult {
	obs, skipped, err := parseSacct(out, fields, time.UTC, maxArrayElements)
	return observed(obs, skipped, err)
}

// squeueAs reads squeue output recorded with separator sep. l gives its
// columns, and its header goes before the first occurrence of before (at
// the top when before is ""), where squeue would have printed it without
// --noheader. A nil l means the output holds its header, and the columns
// are read by their titles (oodTitles).
func squeueAs(sep string, l *squeueLayout, before string) peerReader {
	return func(t *testing.T, data []byte) peerResult {
		out := strings.ReplaceAll(string(data), sep, "|")
		layout := l
		if layout == nil {
			layout = layoutFromHeader(t, out)
		} else {
			i := strings.Index(out, strings.ReplaceAll(before, sep, "|"))
			out = out[:i] + strings.Join(layout.header, "|") + "\n" + out[i:]
		}
		obs, skipped, err := parseSqueue([]byte(out), layout, time.UTC, maxArrayElements)
		return observed(obs, skipped, err)
	}
}

// layoutFromHeader takes the first line of out with a NAME column as the
// header and reads the columns capi knows by their titles.
func layoutFromHeader(t *testing.T, out string) *squeueLayout {
	t.Helper()
	for line := range strings.Lines(out) {
		titles := strings.Split(strings.TrimRight(line, "\r\n"), "|")
		if !slices.Contains(titles, "NAME") {
			continue
		}
		l := &squeueLayout{header: titles}
		for _, title := range titles {
			l.fields = append(l.fields, oodTitles[title]) // sqSkip when not there
		}
		return l
	}
	t.Fatal("no header line")
	return nil
}

func observed(obs []scheduler.Observation, skipped []string, err error) peerResult {
	r := peerResult{Observations: toGolden(obs), Skipped: skipped}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

// accountStderr is sacct failing with data on stderr.
func accountStderr(t *testing.T, data []byte) peerResult {
	s, f := newTestScheduler(t, func(argv []string) (scheduler.Result, error) { return exited(argv, 1, "", string(data)) })
	var r peerResult
	for range 2 {
		obs, err := s.Account(context.Background(), []string{"123"})
		r = observed(obs, nil, err)
	}
	if n := len(f.commands()); n != 1 {
		t.Errorf("sacct ran %d times for two lookups, want once", n)
	}
	return r
}

// sbatchStdout is sbatch exiting 0 with data on stdout.
func sbatchStdout(t *testing.T, data []byte) peerResult {
	return submitted(t, func(argv []string) (scheduler.Result, error) { return ok(string(data)) })
}

// sbatchStderr is sbatch exiting 1 with data on stderr.
func sbatchStderr(t *testing.T, data []byte) peerResult {
	return submitted(t, func(argv []string) (scheduler.Result, error) { return exited(argv, 1, "", string(data)) })
}

func submitted(t *testing.T, reply func([]string) (scheduler.Result, error)) peerResult {
	s, _ := newTestScheduler(t, reply)
	id, err := s.Submit(context.Background(), &scheduler.Job{ScriptPath: "/work/job.sh"})
	r := peerResult{ID: id, Transient: errors.Is(err, scheduler.ErrTransient)}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

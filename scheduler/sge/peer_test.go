package sge

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
	Decision     string    `json:"decision"`
	Observations []obsView `json:"observations,omitempty"`
	Skipped      []string  `json:"skipped,omitempty"`
	ID           string    `json:"id,omitempty"`
	Error        string    `json:"error,omitempty"`
	Transient    bool      `json:"transient,omitempty"`
}

const (
	qstatDecision = "qstat -xml, as a poll reads it: every job entry, array tasks expanded."
	qsubDecision  = "qsub's answer on stdout (exit 0): the job id, from the -terse number or the \"Your job N\" line, whatever lines come before it."
)

var peerCases = map[string]struct {
	decision string
	read     func(t *testing.T, data []byte) peerResult
}{
	"aiida_qstat_ext_urg.xml":         {qstatDecision + " The -ext -urg columns are ignored.", qstatPoll},
	"oodcore_qstat_r.xml":             {qstatDecision + " The <Queue-List> entries of -f are walked into; a running job's host stands in the list's <name> there, which capi, never asking for -f, does not read. The xmlns value broken over two lines is only an attribute.", qstatPoll},
	"vmmad_qstat.xml":                 {qstatDecision + " qstat -u '*': other users' jobs are kept, as poll_all_users wants them.", qstatPoll},
	"aiida_qstat_empty_jobnumber.xml": {"A <job_list> without a job number (AiiDA's test input, not seen from Grid Engine) cannot belong to any job: capi refuses the document and the poll fails, rather than drop a job silently.", qstatPoll},
	"aiida_qstat_malformed.xml":       {"Malformed XML: the poll fails with the decoder's words.", qstatPoll},
	"gc3pie_qacct_done.txt":           {"qacct -j, as Account reads it: failed 0 and exit_status 0 are done; the name is kept for the id-reuse check.", qacctParse},
	"gc3pie_qacct_notfound.stderr":    {"qacct's answer for a job it has no record of (exit 1): not an error, no observation; Account asks again later.", qacctStderr},
	"aiida_qsub_terse.stdout":         {qsubDecision + " The blank before the number is ignored.", qsubStdout},
	"dask_qsub_plain.stdout":          {qsubDecision, qsubStdout},
	"gc3pie_qsub.stdout":              {qsubDecision, qsubStdout},
	"nextflow_qsub_1.stdout":          {qsubDecision + " Lines of a wrapper come before the number.", qsubStdout},
	"nextflow_qsub_2.stdout":          {qsubDecision, qsubStdout},
	"nextflow_qsub_3.stdout":          {qsubDecision, qsubStdout},
	"nextflow_qsub_4.stdout":          {qsubDecision, qsubStdout},
	"gc3pie_qsub_failed.stderr":       {"qsub refused the job (exit 1, a name starting with a digit): a SubmitError with qsub's words, not transient.", qsubStderr},
}

func TestPeerOutputs(t *testing.T) {
	t.Parallel()
	gold.PeerOutputs(t, "testdata/peer", "testdata/peer/README.md", slices.Collect(maps.Keys(peerCases)), func(t *testing.T, path string, data []byte) {
		c := peerCases[filepath.Base(path)]
		got := c.read(t, data)
		got.Decision = c.decision
		golden(t, "peer/"+base(path), got)
	})
}

func qstatPoll(t *testing.T, data []byte) peerResult {
	obs, skipped, err := parseQstat(data, "", time.UTC)
	return observed(obs, skipped, err)
}

func qacctParse(t *testing.T, data []byte) peerResult {
	obs, err := parseQacct(data, time.UTC)
	return observed(obs, nil, err)
}

// qacctStderr is qacct -j exiting 1 with data on stderr.
func qacctStderr(t *testing.T, data []byte) peerResult {
	r := &fakeRunner{respond: func(cmd scheduler.Command) (scheduler.Result, error) {
		return capture{Exit: 1, Stderr: data}.result(cmd.Argv)
	}}
	obs, err := newTest(t, r).Account(context.Background(), []string{"123"})
	return observed(obs, nil, err)
}

func observed(obs []scheduler.Observation, skipped []string, err error) peerResult {
	r := peerResult{Observations: views(obs), Skipped: skipped}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

func qsubStdout(t *testing.T, data []byte) peerResult { return submitted(t, capture{Stdout: data}) }

func qsubStderr(t *testing.T, data []byte) peerResult {
	return submitted(t, capture{Exit: 1, Stderr: data})
}

// submitted runs Submit against a qsub that answers with c.
func submitted(t *testing.T, c capture) peerResult {
	r := &fakeRunner{respond: func(cmd scheduler.Command) (scheduler.Result, error) { return c.result(cmd.Argv) }}
	id, err := newTest(t, r).Submit(context.Background(), &scheduler.Job{ScriptPath: "/work/job.sh"})
	p := peerResult{ID: id, Transient: errors.Is(err, scheduler.ErrTransient)}
	if err != nil {
		p.Error = strings.TrimSpace(err.Error())
	}
	return p
}

package lsf

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	gold "github.com/go-cluster-api/clusterapi/internal/golden"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

// peerResult is what capi makes of an output another project recorded
// (testdata/SOURCES.md, section peer/, names the origin of each), as its
// golden file shows it, with the decision that explains it.
type peerResult struct {
	Decision     string                  `json:"decision"`
	Observations []scheduler.Observation `json:"observations,omitempty"`
	Skipped      []string                `json:"skipped,omitempty"`
	ID           string                  `json:"id,omitempty"`
	Error        string                  `json:"error,omitempty"`
	Transient    bool                    `json:"transient,omitempty"`
}

const (
	bsubDecision     = "bsub's answer (exit 0): the id from the \"Job <N> is submitted\" line."
	ridgebackNoJobID = " Ridgeback asks bjobs for one job by id and leaves jobid out of -o, so the record names no job: capi, which always asks for jobid, skips it and observes nothing."
)

var peerCases = map[string]struct {
	decision string
	read     func(t *testing.T, data []byte) peerResult
}{
	"aiida_bsub.stdout":                 {bsubDecision, bsubStdout},
	"dask_bsub.stdout":                  {bsubDecision, bsubStdout},
	"nextflow_bsub.stdout":              {bsubDecision, bsubStdout},
	"oodcore_bsub.stdout":               {bsubDecision, bsubStdout},
	"ridgeback_bsub.stdout":             {bsubDecision + " The line may stop after \"is submitted\".", bsubStdout},
	"ridgeback_bsub_please_wait.stdout": {bsubDecision + " The \"Cannot connect to LSF. Please wait ...\" lines before it are skipped.", bsubStdout},
	"smkprofile_bsub.stdout":            {bsubDecision, bsubStdout},
	"smkprofile_bsub_real.stdout":       {bsubDecision + " Text after the line (the profile's log path) changes nothing.", bsubStdout},
	"batcheuphoria_convertBJobsResultLinesToResultMapTest.json":    {"bjobs -json, as a poll reads it: six ended jobs; the projected-end mark \"L\" of FINISH_TIME is dropped and the year is inferred from now (the test's 2026-03-15).", bjobsStdout},
	"batcheuphoria_queryExtendedJobStateByIdEmptyTest.json":        {"bjobs -json with a record of only JOBID: a job of unknown state, which the engine keeps polling.", bjobsStdout},
	"batcheuphoria_queryExtendedJobStateByIdTest.json":             {"bjobs -json with every field: done, with its host and MAX_MEM as LSF shows it; fields capi does not ask for are ignored.", bjobsStdout},
	"batcheuphoria_queryExtendedJobStateByIdWithoutListsTest.json": {"bjobs -json with every field, STAT DONE but EXIT_CODE \"1\" (the fixture contradicts itself): the state wins, done with exit 0.", bjobsStdout},
	"ridgeback_bjobs_exit.json":                                    {"bjobs -json for one job, in indented lines." + ridgebackNoJobID, bjobsStdout},
	"ridgeback_bjobs_pend.json":                                    {"bjobs -json for one job, in indented lines." + ridgebackNoJobID, bjobsStdout},
	"ridgeback_bjobs_exit_please_wait.json":                        {"LSF's \"Cannot connect to LSF. Please wait ...\" lines before the document are skipped (issue #13, item 3)." + ridgebackNoJobID, bjobsStdout},
	"ridgeback_bjobs_pend_please_wait.json":                        {"LSF's \"Cannot connect to LSF. Please wait ...\" lines before the document are skipped (issue #13, item 3)." + ridgebackNoJobID, bjobsStdout},
	"gc3pie_bjobs_notfound.stderr":                                 {"bjobs' stderr for an id it no longer knows, with nothing on stdout: an empty answer, not a failed poll.", bjobsStderr},
	"smkprofile_bjobs_stat.txt": {"Mapped: the STAT words of `bjobs -o 'stat' -noheader`; each becomes the record {\"JOBID\": line number, \"STAT\": word} of a bjobs -json document, so the golden shows how capi classifies every state word.",
		bjobsFromStats},
}

func TestPeerOutputs(t *testing.T) {
	t.Parallel()
	gold.PeerOutputs(t, "testdata/peer", "testdata/SOURCES.md", slices.Collect(maps.Keys(peerCases)), func(t *testing.T, path string, data []byte) {
		name := filepath.Base(path)
		c := peerCases[name]
		got := c.read(t, data)
		got.Decision = c.decision
		golden(t, "peer/"+strings.TrimSuffix(name, filepath.Ext(name))+".json", got)
	})
}

func bsubStdout(t *testing.T, data []byte) peerResult {
	id, err := parseSubmit(scheduler.Result{Stdout: data}, nil)
	r := peerResult{ID: id, Transient: errors.Is(err, scheduler.ErrTransient)}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

func bjobsStdout(t *testing.T, data []byte) peerResult { return polled(data, nil) }

func bjobsStderr(t *testing.T, data []byte) peerResult { return polled(nil, data) }

// bjobsFromStats makes a bjobs -json document of one record per word.
func bjobsFromStats(t *testing.T, data []byte) peerResult {
	var recs []string
	for i, stat := range strings.Fields(string(data)) {
		recs = append(recs, fmt.Sprintf(`{"JOBID":"%d","STAT":"%s"}`, i+1, stat))
	}
	doc := fmt.Sprintf(`{"COMMAND":"bjobs","JOBS":%d,"RECORDS":[%s]}`, len(recs), strings.Join(recs, ","))
	return polled([]byte(doc), nil)
}

func polled(stdout, stderr []byte) peerResult {
	obs, skipped, err := parseBJobs(stdout, stderr, testNow)
	r := peerResult{Observations: obs, Skipped: skipped}
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

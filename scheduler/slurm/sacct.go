package slurm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// sacctFields is what Account asks sacct for. JobName comes last because
// only it can contain '|'.
var sacctFields = []string{"JobID", "State", "ExitCode", "Reason", "Submit", "Start", "End", "NodeList", "MaxRSS", "JobName"}

// accounting caches whether sacct works here, so that a cluster without
// accounting costs one failed sacct in the life of the process.
type accounting struct {
	state atomic.Int32 // acctUnknown, acctOn, acctOff
}

const (
	acctUnknown int32 = iota
	acctOn
	acctOff
)

// Account implements scheduler.Accountant. It asks sacct about jobs that
// left squeue. Steps are not listed separately: they lend the job the
// largest MaxRSS among them, and its ".batch" step, when the job line
// shows none, its exit signal. When the cluster has no accounting storage
// it returns nothing, and from then on returns at once.
func (s *Scheduler) Account(ctx context.Context, ids []string) ([]scheduler.Observation, error) {
	if len(ids) == 0 || s.acct.state.Load() == acctOff {
		return nil, nil
	}
	for _, id := range ids {
		if !validJobID(id) {
			return nil, fmt.Errorf("slurm: cannot look up %q in sacct: not a SLURM job id", id)
		}
	}
	var obs []scheduler.Observation
	for chunk := range chunks(ids, maxIDsPerCommand) {
		argv := []string{"sacct", "--parsable2", "--jobs=" + strings.Join(chunk, ","),
			"--format=" + strings.Join(sacctFields, ",")}
		res, err := s.run.Run(ctx, scheduler.Command{Argv: argv, Env: queryEnv})
		if err != nil {
			if accountingDisabled(res, err) {
				s.acct.state.Store(acctOff)
				s.log.Info("SLURM accounting is not available; jobs that leave squeue are resolved from their exit files only",
					"error", err)
				return nil, nil
			}
			return nil, fmt.Errorf("slurm: looking up finished jobs with sacct failed: %w", err)
		}
		s.acct.state.Store(acctOn)
		got, skipped, err := parseSacct(res.Stdout, sacctFields, s.loc, maxArrayElements-len(obs))
		scheduler.LogSkipped(s.log, "slurm: sacct", skipped)
		if err != nil {
			return nil, fmt.Errorf("slurm: %w", err)
		}
		obs = append(obs, got...)
	}
	return obs, nil
}

// accountingDisabled tells "this cluster has no accounting" (permanent)
// from a failure of the accounting daemon (worth asking again).
func accountingDisabled(res scheduler.Result, err error) bool {
	if bytes.Contains(res.Stderr, []byte("accounting storage is disabled")) {
		return true
	}
	var cerr *scheduler.CommandError
	return errors.As(err, &cerr) && cerr.Err != nil && cerr.ExitCode == -1 // sacct not installed
}

// placeholderName is the JobName slurmdbd shows for a job whose submit
// record it has not received yet: seen on 22.05.8 for a second or so after
// a job started or ended, with a stale state (PENDING for a running job).
const placeholderName = "allocation"

// sacctRecord is one job or element line plus what its steps add: maxRSS
// becomes the largest of its own and its steps'.
type sacctRecord struct {
	jobID, state, exitCode, reason, submit, start, end, nodes, maxRSS, name string
	batchExit                                                               string
}

// parseSacct turns sacct --parsable2 output with the given columns into
// observations, one per job or array element, and returns the lines it
// skipped (see eachRow). The header line sacct prints for the columns is
// the mark of its output; columns capi does not know are ignored, so
// recorded output with other columns works too.
func parseSacct(out []byte, fields []string, loc *time.Location, limit int) ([]scheduler.Observation, []string, error) {
	t := table{what: "sacct", header: fields, idCol: -1, nameCol: -1}
	for i, f := range fields {
		switch f {
		case "JobID":
			t.idCol = i
		case "JobName":
			t.nameCol = i
		}
	}
	if t.idCol < 0 {
		return nil, nil, errors.New("sacct columns without JobID: no row could be told apart from noise")
	}
	var recs []*sacctRecord
	byID := map[string]*sacctRecord{}
	skipped, err := eachRow(out, t, func(cols []string) error {
		var r sacctRecord
		for i, f := range fields {
			v := cols[i]
			switch f {
			case "JobID":
				r.jobID = v
			case "State":
				r.state = v
			case "ExitCode":
				r.exitCode = v
			case "Reason":
				r.reason = v
			case "Submit":
				r.submit = v
			case "Start":
				r.start = v
			case "End":
				r.end = v
			case "NodeList":
				r.nodes = v
			case "MaxRSS":
				r.maxRSS = v
			case "JobName":
				r.name = v
			}
		}
		if r.name == placeholderName {
			r.name = ""
		}
		job, step, isStep := strings.Cut(r.jobID, ".")
		if isStep {
			// Steps follow their job; one whose job line is missing
			// says nothing about the job's outcome.
			parent := byID[job]
			if parent == nil {
				return nil
			}
			if step == "batch" {
				parent.batchExit = r.exitCode
			}
			// The batch step is only the launching shell; a job whose
			// work runs in srun steps peaks in one of those.
			parent.maxRSS = largerRSS(parent.maxRSS, r.maxRSS)
			return nil
		}
		byID[r.jobID] = &r
		recs = append(recs, &r)
		return nil
	})
	if err != nil {
		return nil, skipped, err
	}
	var obs []scheduler.Observation
	for _, r := range recs {
		var err error
		obs, err = r.appendTo(obs, loc, limit-len(obs))
		if err != nil {
			return nil, skipped, fmt.Errorf("sacct record %q: %w", r.jobID, err)
		}
	}
	return obs, skipped, nil
}

func (r *sacctRecord) appendTo(obs []scheduler.Observation, loc *time.Location, limit int) ([]scheduler.Observation, error) {
	id, task, isArray := strings.Cut(r.jobID, "_")
	if !validJobID(id) {
		return obs, fmt.Errorf("job id %q is not a SLURM job id", r.jobID)
	}
	if r.state == "" {
		return obs, errors.New("empty state")
	}
	ex := parseExitCode(r.exitCode)
	// A cancelled or timed-out job shows 0:0; its batch step shows the
	// signal that ended it.
	if ex.known && ex.code == 0 && ex.signal == 0 && r.batchExit != "" {
		if bex := parseExitCode(r.batchExit); bex.known && (bex.code != 0 || bex.signal != 0) {
			ex = bex
		}
	}
	v := classify(r.state, r.reason, ex)
	o := scheduler.Observation{
		ID:         id,
		Name:       r.name,
		Status:     v.status,
		Reason:     v.reason,
		Detail:     v.detail,
		ExitCode:   v.exitCode,
		HasExit:    v.hasExit,
		MaxMem:     r.maxRSS,
		SubmitTime: parseTime(r.submit, loc),
	}
	// A job cancelled while pending gets a start time but never had a
	// node; a pending one may show its expected start.
	if v.status != scheduler.Pending {
		o.Host = hostOf(r.nodes)
		if o.Host != "" {
			o.StartTime = parseTime(r.start, loc)
		}
	}
	if v.status.Terminal() {
		o.FinishTime = parseTime(r.end, loc)
	}
	if !isArray {
		return append(obs, o), nil
	}
	// "26_3" is one element; "26_[1-4%2]" stands for elements that never
	// started (pending, or cancelled while pending).
	spec := strings.TrimSuffix(strings.TrimPrefix(task, "["), "]")
	indices, err := parseTaskSpec(spec, limit)
	if err != nil {
		return obs, err
	}
	o.InArray = true
	for _, i := range indices {
		o.Index = i
		obs = append(obs, o)
	}
	return obs, nil
}

// largerRSS returns the larger of two MaxRSS values as sacct prints them
// ("74404K", "72.50M", "0"). Steps that ran at the same time are not
// added up: sacct does not say which overlapped, and a sum of peaks that
// happened at different times would overstate what the job needed. A
// value that cannot be read loses to one that can.
func largerRSS(a, b string) string {
	x, okA := rssBytes(a)
	y, okB := rssBytes(b)
	switch {
	case okA && okB && y > x, !okA && okB, !okA && a == "":
		return b
	}
	return a
}

// rssBytes reads a MaxRSS value: a number, possibly with decimals, and a
// 1024-based unit letter, or none for bytes.
func rssBytes(s string) (float64, bool) {
	num, unit := s, 1.0
	if n := len(s); n > 0 {
		if i := strings.IndexByte("KMGTP", s[n-1]); i >= 0 {
			num, unit = s[:n-1], math.Pow(1024, float64(i+1))
		}
	}
	if num == "" || strings.TrimLeft(num, "0123456789.") != "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, false
	}
	return v * unit, true
}

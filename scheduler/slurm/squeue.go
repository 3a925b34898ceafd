package slurm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// squeueField is one column a poll asks squeue for.
type squeueField int

const (
	sqSkip       squeueField = iota
	sqArrayJobID             // the array's id; the job id for a plain job
	sqTaskID                 // element index, "5-9%2" for pending ones, N/A for a plain job
	sqState
	sqReason
	sqWaitStatus // raw wait status (768 = exit 3, 9 = SIGKILL)
	sqSubmit
	sqStart
	sqEnd
	sqNodes
	sqName
	// sqDisplayID is %i: "4_4", "4_[5-9%2]" or "3". Layouts with the two
	// array columns do not need it; it lets older recorded layouts parse.
	sqDisplayID
)

// squeueLayout is an output format, the columns it yields, separated by
// '|', and the header line squeue prints for it (checked on 22.05.8). The
// name comes last because only it can contain '|'.
type squeueLayout struct {
	args   []string
	fields []squeueField
	header []string
}

// layoutLong uses -O, whose exit_code field gives exit codes while
// finished jobs are still listed (until MinJobAge). -o has no exit code.
// SLURM's documentation and the -O help call the field exit_code; the
// name "ExitCode" is rejected.
var layoutLong = squeueLayout{
	args: []string{"-O", "ArrayJobID:|,ArrayTaskID:|,State:|,Reason:|,exit_code:|,SubmitTime:|,StartTime:|,EndTime:|,NodeList:|,Name:"},
	fields: []squeueField{sqArrayJobID, sqTaskID, sqState, sqReason, sqWaitStatus,
		sqSubmit, sqStart, sqEnd, sqNodes, sqName},
	header: []string{"ARRAY_JOB_ID", "ARRAY_TASK_ID", "STATE", "REASON", "EXIT_CODE",
		"SUBMIT_TIME", "START_TIME", "END_TIME", "NODELIST", "NAME"},
}

// layoutShort is the fallback for a squeue that does not know a field of
// layoutLong: the same columns but the exit code, which then comes from
// sacct or the job's exit file.
var layoutShort = squeueLayout{
	args:   []string{"-o", "%F|%K|%T|%r|%V|%S|%e|%N|%j"},
	fields: []squeueField{sqArrayJobID, sqTaskID, sqState, sqReason, sqSubmit, sqStart, sqEnd, sqNodes, sqName},
	header: []string{"ARRAY_JOB_ID", "ARRAY_TASK_ID", "STATE", "REASON",
		"SUBMIT_TIME", "START_TIME", "END_TIME", "NODELIST", "NAME"},
}

// table describes the layout's output for eachRow.
func (l *squeueLayout) table() table {
	t := table{what: "squeue", header: l.header, idCol: -1, nameCol: -1}
	for i, f := range l.fields {
		switch {
		case f == sqName:
			t.nameCol = i
		case (f == sqArrayJobID || f == sqDisplayID) && t.idCol < 0:
			t.idCol = i
		}
	}
	return t
}

// pollArgv is the single command of a poll. --states=all keeps finished
// jobs in view until MinJobAge; -j is never used because it fails as a
// whole when one id has aged out. There is no --noheader: the header line
// marks where squeue's own output starts.
func (s *Scheduler) pollArgv(l *squeueLayout, q scheduler.Query) []string {
	argv := []string{"squeue", "--states=all"}
	if !q.AllUsers {
		if s.user != "" {
			argv = append(argv, "--user="+s.user)
		} else {
			argv = append(argv, "--me")
		}
	}
	return append(argv, l.args...)
}

// Poll implements scheduler.Scheduler.
func (s *Scheduler) Poll(ctx context.Context, q scheduler.Query) ([]scheduler.Observation, error) {
	s.mu.Lock()
	l := s.layout
	s.mu.Unlock()
	res, err := s.run.Run(ctx, scheduler.Command{Argv: s.pollArgv(l, q), Env: queryEnv})
	if err != nil && l == &layoutLong && unknownField(res.Stderr) {
		s.log.Info("squeue does not know a -O field; polling without exit codes from now on", "stderr", string(bytes.TrimSpace(res.Stderr)))
		s.mu.Lock()
		s.layout = &layoutShort
		s.mu.Unlock()
		l = &layoutShort
		res, err = s.run.Run(ctx, scheduler.Command{Argv: s.pollArgv(l, q), Env: queryEnv})
	}
	if err != nil {
		return nil, fmt.Errorf("slurm: listing jobs with squeue failed, nothing can be concluded from this poll: %w", err)
	}
	obs, skipped, err := parseSqueue(res.Stdout, l, s.loc, maxArrayElements)
	scheduler.LogSkipped(s.log, "slurm: squeue", skipped)
	if err != nil {
		return nil, fmt.Errorf("slurm: %w", err)
	}
	if q.Prefix == "" {
		return obs, nil
	}
	kept := obs[:0]
	for _, o := range obs {
		if strings.HasPrefix(o.Name, q.Prefix) {
			kept = append(kept, o)
		}
	}
	return kept, nil
}

// queryEnv pins the time format of squeue and sacct: a user's
// SLURM_TIME_FORMAT (e.g. "relative") would make times unreadable.
var queryEnv = []string{"SLURM_TIME_FORMAT=standard"}

func unknownField(stderr []byte) bool {
	return bytes.Contains(stderr, []byte("Invalid job format specification"))
}

// parseSqueue turns squeue output in the given layout into observations,
// one per job and one per array element: a pending record "4_[5-9%2]"
// becomes elements 5 to 9. It also returns the lines it skipped (see
// eachRow).
func parseSqueue(out []byte, l *squeueLayout, loc *time.Location, limit int) ([]scheduler.Observation, []string, error) {
	// One observation per line is the common case (pending array ranges
	// add more); sizing for it up front saves copying a large slice while
	// it grows, which dominated the cost of a big poll.
	obs := make([]scheduler.Observation, 0, bytes.Count(out, []byte("\n"))+1)
	skipped, err := eachRow(out, l.table(), func(cols []string) error {
		var rec squeueRecord
		for i, f := range l.fields {
			rec.set(f, cols[i])
		}
		var err error
		obs, err = rec.appendTo(obs, loc, limit-len(obs))
		return err
	})
	if err != nil {
		return nil, skipped, err
	}
	return obs, skipped, nil
}

type squeueRecord struct {
	arrayJobID, taskID, state, reason string
	exit                              exitInfo
	submit, start, end, nodes, name   string
	displayID                         string
}

func (r *squeueRecord) set(f squeueField, v string) {
	if f != sqName {
		// -O pads some columns; names keep their blanks.
		v = strings.TrimSpace(v)
	}
	switch f {
	case sqArrayJobID:
		r.arrayJobID = v
	case sqTaskID:
		r.taskID = v
	case sqState:
		r.state = v
	case sqReason:
		r.reason = v
	case sqWaitStatus:
		r.exit = decodeWaitStatus(v)
	case sqSubmit:
		r.submit = v
	case sqStart:
		r.start = v
	case sqEnd:
		r.end = v
	case sqNodes:
		r.nodes = v
	case sqName:
		r.name = v
	case sqDisplayID:
		r.displayID = v
	}
}

// appendTo appends the record's observations: one for a plain job, one per
// element for an array record.
func (r *squeueRecord) appendTo(obs []scheduler.Observation, loc *time.Location, limit int) ([]scheduler.Observation, error) {
	if r.arrayJobID == "" && r.displayID != "" {
		id, task, isArray := strings.Cut(r.displayID, "_")
		r.arrayJobID = id
		if isArray && r.taskID == "" {
			r.taskID = strings.TrimSuffix(strings.TrimPrefix(task, "["), "]")
		}
	}
	if !validJobID(r.arrayJobID) {
		return obs, fmt.Errorf("job id %q is not a SLURM job id", r.arrayJobID)
	}
	if r.state == "" {
		return obs, errors.New("empty state")
	}
	v := classify(r.state, r.reason, r.exit)
	o := scheduler.Observation{
		ID:         r.arrayJobID,
		Name:       r.name,
		Status:     v.status,
		Reason:     v.reason,
		Detail:     v.detail,
		ExitCode:   v.exitCode,
		HasExit:    v.hasExit,
		SubmitTime: parseTime(r.submit, loc),
	}
	// squeue prints the expected start and end of jobs that have not
	// started or not ended; those are forecasts, not facts. A job
	// cancelled while pending gets a start time but never had a node.
	if v.status != scheduler.Pending && v.status != scheduler.Unknown {
		o.Host = hostOf(r.nodes)
		if o.Host != "" {
			o.StartTime = parseTime(r.start, loc)
		}
	}
	if v.status.Terminal() {
		o.FinishTime = parseTime(r.end, loc)
	}
	if r.taskID == "" || r.taskID == "N/A" {
		return append(obs, o), nil
	}
	indices, err := parseTaskSpec(r.taskID, limit)
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

// validJobID accepts SLURM job ids: digits, optionally a heterogeneous
// job component ("12+1").
func validJobID(s string) bool {
	id, comp, het := strings.Cut(s, "+")
	if _, err := atoi(id); err != nil {
		return false
	}
	if het {
		_, err := atoi(comp)
		return err == nil
	}
	return true
}

// parseTime reads SLURM's local timestamps ("2026-11-24T22:06:08");
// "N/A", "NONE", "Unknown" and "None" are no time.
func parseTime(s string, loc *time.Location) time.Time {
	const layout = "2006-01-02T15:04:05"
	if len(s) != len(layout) {
		return time.Time{}
	}
	// SLURM_TIME_FORMAT=standard fixes the layout, so the fields are read
	// by position; time.Date then checks nothing, hence the range checks.
	if s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' {
		y, okY := digits(s[0:4])
		mo, okMo := digits(s[5:7])
		d, okD := digits(s[8:10])
		h, okH := digits(s[11:13])
		mi, okMi := digits(s[14:16])
		sec, okS := digits(s[17:19])
		if okY && okMo && okD && okH && okMi && okS && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && sec <= 59 {
			t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, loc)
			if t.Day() == d { // not normalised from an impossible date (Feb 30)
				return t
			}
		}
	}
	t, err := time.ParseInLocation(layout, s, loc)
	if err != nil {
		return time.Time{}
	}
	return t
}

// digits parses a run of ASCII digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// hostOf returns the node list unless SLURM says there is none.
func hostOf(nodes string) string {
	switch nodes {
	case "", "None assigned", "(null)", "N/A":
		return ""
	}
	return nodes
}

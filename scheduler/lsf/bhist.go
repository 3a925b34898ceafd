package lsf

import (
	"context"
	"errors"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// MaxAccountIDs bounds the job ids of one bhist command.
const MaxAccountIDs = 100

// bhistLogFiles is how many event log files bhist searches (-n): the
// current one and the one before, so a log switch shortly after a job ended
// does not hide it, while a lookup never scans the whole history.
const bhistLogFiles = "2"

// Account implements scheduler.Accountant with "bhist -l -a -n 2 ID ...".
// ids are job ids ("123", every element of an array) or elements ("123[4]").
// Without bhist on PATH it answers nothing, from the first failed call on.
func (s *Scheduler) Account(ctx context.Context, ids []string) ([]scheduler.Observation, error) {
	if s.noAccounting.Load() {
		return nil, nil
	}
	var all []scheduler.Observation
	for start := 0; start < len(ids); start += MaxAccountIDs {
		chunk := ids[start:min(start+MaxAccountIDs, len(ids))]
		for _, id := range chunk {
			if _, _, _, ok := elementKey(id, ""); !ok {
				return nil, &scheduler.ValueError{Kind: "LSF job id", Value: id, Hint: `LSF job ids are numbers, or "123[4]" for an array element`}
			}
		}
		argv := append([]string{"bhist", "-l", "-a", "-n", bhistLogFiles}, chunk...)
		res, err := s.run.Run(ctx, scheduler.Command{Argv: argv})
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, exec.ErrNotFound) {
			s.noAccounting.Store(true)
			s.log.Info("bhist is not available here; jobs that leave bjobs are resolved from their exit files (or declared vanished after zombie_timeout)", "err", err)
			return all, nil
		}
		if err != nil {
			var cerr *scheduler.CommandError
			if !errors.As(err, &cerr) || cerr.Err != nil {
				return nil, err
			}
			// bhist exits non-zero when some ids are unknown and still
			// prints the others; only an answer with nothing usable in it
			// and an unexplained complaint is a failed lookup.
			if !strings.Contains(string(res.Stdout), "Job <") && !onlyNoJobMessages(res.Stderr) {
				return nil, err
			}
		}
		all = append(all, parseBHist(res.Stdout, s.now())...)
	}
	return all, nil
}

var (
	bhistJob      = regexp.MustCompile(`^Job <(\d+)(?:\[(\d+)\])?>`)
	bhistName     = regexp.MustCompile(`Job Name <([^>]*)>`)
	bhistEvent    = regexp.MustCompile(`^((?:[A-Z][a-z]{2} )?[A-Z][a-z]{2} +\d{1,2} \d{1,2}:\d{2}(?::\d{2})?(?: \d{4})?): (.*)$`)
	bhistHost     = regexp.MustCompile(`(?:Dispatched to|Started on|Host\(s\)) <([^>]*)>`)
	bhistExitCode = regexp.MustCompile(`Exited with exit code (\d+)`)
	bhistMaxMem   = regexp.MustCompile(`MAX MEM: ([^;]+);`)
)

// bhistSeparator is the line between jobs in bhist -l output.
const bhistSeparator = "------------------------------------------------------------------------------"

// parseBHist reads bhist -l output: one block per job (or array element),
// separated by a line of dashes. Lines are hard-wrapped at 80 columns with
// a 21-space continuation indent; they are joined back first.
func parseBHist(out []byte, now time.Time) []scheduler.Observation {
	var obs []scheduler.Observation
	for _, block := range strings.Split(unwrapBHist(string(out)), bhistSeparator) {
		if o, ok := parseBHistBlock(block, now); ok {
			obs = append(obs, o)
		}
	}
	return obs
}

// unwrapBHist joins continuation lines (21 leading spaces) to the line
// they continue.
func unwrapBHist(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n"+strings.Repeat(" ", 21), "")
}

func parseBHistBlock(block string, now time.Time) (scheduler.Observation, bool) {
	var o scheduler.Observation
	lines := strings.Split(block, "\n")
	header := -1
	for i, l := range lines {
		if m := bhistJob.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			o.ID = m[1]
			if m[2] != "" {
				n, err := strconv.Atoi(m[2])
				if err != nil {
					return o, false
				}
				o.Index, o.InArray = n, true
			}
			if nm := bhistName.FindStringSubmatch(l); nm != nil {
				o.Name = nm[1]
				if o.InArray {
					o.Name = strings.TrimSuffix(o.Name, "["+m[2]+"]")
				}
			}
			header = i
			break
		}
	}
	if header < 0 {
		return o, false
	}
	var (
		stat, reason string
		code         int
		hasCode      bool
		started      bool
	)
	for _, l := range lines[header+1:] {
		l = strings.TrimSpace(l)
		if m := bhistMaxMem.FindStringSubmatch(l); m != nil {
			o.MaxMem = strings.TrimSpace(m[1])
			continue
		}
		m := bhistEvent.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		when, _ := parseTime(m[1], now)
		event := m[2]
		switch {
		case strings.HasPrefix(event, "Submitted from host"):
			o.SubmitTime = when
		case strings.HasPrefix(event, "Dispatched"), strings.HasPrefix(event, "Started"):
			if h := bhistHost.FindStringSubmatch(event); h != nil && o.Host == "" {
				o.Host = h[1]
			}
			if o.StartTime.IsZero() {
				o.StartTime = when
			}
			started = true
		case strings.HasPrefix(event, "Starting"), strings.HasPrefix(event, "Running with"):
			started = true
		case strings.HasPrefix(event, "Done successfully"):
			stat = "DONE"
			o.FinishTime = when
		case strings.HasPrefix(event, "Exited"):
			stat = "EXIT"
			o.FinishTime = when
			if c := bhistExitCode.FindStringSubmatch(event); c != nil {
				code, _ = strconv.Atoi(c[1])
				hasCode = true
			}
		case strings.HasPrefix(event, "Completed <done>"):
			if stat == "" {
				stat = "DONE"
				o.FinishTime = when
			}
		case strings.HasPrefix(event, "Completed <exit>"):
			if stat != "EXIT" {
				stat = "EXIT"
				o.FinishTime = when
			}
			// "Completed <exit>; TERM_OWNER: job killed by owner."
			if _, r, ok := strings.Cut(event, ";"); ok {
				reason = strings.TrimSuffix(strings.TrimSpace(r), ".")
			}
		}
	}
	switch {
	case stat != "":
	case started:
		stat = "RUN"
	default:
		stat = "PEND"
	}
	classify(&o, stat, reason, "", code, hasCode)
	o.Detail = "bhist: " + o.Detail
	return o, true
}

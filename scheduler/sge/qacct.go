package sge

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// maxAccountLookups bounds the qacct calls of one Account call. qacct takes
// a single job id (a second one is a usage error) and reads the whole
// accounting file each time, which on a busy cluster can take seconds; ids
// beyond the bound are absent from this answer and asked for next time.
const maxAccountLookups = 8

// Account implements scheduler.Accountant with "qacct -j ID", one call per
// job id (at most maxAccountLookups per call, rotating through the ids).
// Jobs without an accounting record (deleted while pending, or not written
// yet: qacct lags a job's end by ~0.1 s with the flush settings of
// scripts/sge-up.sh, up to a minute with Grid Engine's defaults) are
// absent.
func (s *Scheduler) Account(ctx context.Context, ids []string) ([]scheduler.Observation, error) {
	if s.noAccounting.Load() {
		return nil, nil
	}
	uniq := make([]string, 0, len(ids))
	seen := map[string]bool{}
	for _, id := range ids {
		// qacct -j takes a job name pattern too: never hand it anything but
		// a number.
		if isJobID(id) && !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	if len(uniq) == 0 {
		return nil, nil
	}
	start := 0
	if len(uniq) > maxAccountLookups {
		start = int(s.next.Add(maxAccountLookups) % uint64(len(uniq)))
	}
	var obs []scheduler.Observation
	for i := 0; i < len(uniq) && i < maxAccountLookups; i++ {
		id := uniq[(start+i)%len(uniq)]
		res, err := s.run.Run(ctx, s.command(s.cmds.qacct, "-j", id))
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			if isNotFound(res.Stdout, res.Stderr) {
				continue
			}
			if accountingAbsent(res, err) {
				s.noAccounting.Store(true)
				s.log.Info("Grid Engine accounting is not available here (no qacct, or no accounting file); jobs that leave qstat are resolved from their exit files (or declared vanished after zombie_timeout)",
					"err", err, "stderr", string(bytes.TrimSpace(res.Stderr)))
				return obs, nil
			}
			return nil, errContext("qacct -j "+id, err)
		}
		got, err := parseQacct(res.Stdout, s.loc)
		if err != nil {
			return nil, fmt.Errorf("sge: qacct -j %s printed output capi cannot read (%w); run it to see", id, err)
		}
		for _, o := range got {
			if o.ID == id {
				obs = append(obs, o)
			}
		}
	}
	return obs, nil
}

// isNotFound recognises "error: job id 10 not found" (qacct) and the "does
// not exist" answers of qstat and qdel.
// accountingAbsent tells "this site has no accounting for me" (qacct not
// installed; the accounting file missing: qacct prints "No jobs running
// since startup" and "<file>: No such file or directory", checked on SGE
// 8.1.9) from a failure worth asking again.
func accountingAbsent(res scheduler.Result, err error) bool {
	return errors.Is(err, exec.ErrNotFound) ||
		bytes.Contains(res.Stderr, []byte("No such file or directory")) ||
		bytes.Contains(res.Stdout, []byte("No jobs running since startup"))
}

func isNotFound(outs ...[]byte) bool {
	for _, b := range outs {
		if bytes.Contains(b, []byte("not found")) || bytes.Contains(b, []byte("does not exist")) {
			return true
		}
	}
	return false
}

// qacctRecord is one accounting block, with the fields capi uses.
type qacctRecord struct {
	fields map[string]string
	order  int
}

// parseQacct reads "qacct -j" output: blocks separated by a line of '='
// (one per job, one per array task, in file order, tasks unordered), each a
// list of "key<padding>value" lines. When the accounting file holds several
// records for one task (a rescheduled job, or job ids that wrapped around)
// the last one wins. Lines before the first separator ("Total System
// Usage" tables) are ignored.
func parseQacct(out []byte, loc *time.Location) ([]scheduler.Observation, error) {
	var recs []qacctRecord
	var cur map[string]string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \t\r")
		if line != "" && strings.Trim(line, "=") == "" {
			if len(line) >= 10 {
				cur = map[string]string{}
				recs = append(recs, qacctRecord{fields: cur, order: len(recs)})
			}
			continue
		}
		if cur == nil || line == "" {
			continue
		}
		key, val := line, ""
		if i := strings.IndexAny(line, " \t"); i >= 0 {
			key, val = line[:i], strings.TrimSpace(line[i:])
		}
		cur[key] = val
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	var obs []scheduler.Observation
	index := map[taskKey]int{}
	for _, r := range recs {
		o, err := accountObservation(r.fields, loc)
		if err != nil {
			return nil, err
		}
		k := taskKey{id: o.ID, index: o.Index, array: o.InArray}
		if i, dup := index[k]; dup {
			obs[i] = o
			continue
		}
		index[k] = len(obs)
		obs = append(obs, o)
	}
	return obs, nil
}

// accountObservation turns one block into an observation. See the package
// documentation for the reasoning behind each mapping.
func accountObservation(f map[string]string, loc *time.Location) (scheduler.Observation, error) {
	id := f["jobnumber"]
	if !isJobID(id) {
		return scheduler.Observation{}, fmt.Errorf("accounting record without a job number (jobnumber %q)", id)
	}
	o := scheduler.Observation{
		ID:         id,
		Name:       f["jobname"],
		Host:       f["hostname"],
		MaxMem:     f["maxvmem"],
		SubmitTime: parseQacctTime(f["qsub_time"], loc),
		StartTime:  parseQacctTime(f["start_time"], loc),
		FinishTime: parseQacctTime(f["end_time"], loc),
	}
	if t := f["taskid"]; t != "" && t != "undefined" {
		n, err := taskNumber(t)
		if err != nil {
			return scheduler.Observation{}, fmt.Errorf("job %s: taskid: %w", id, err)
		}
		o.InArray, o.Index = true, n
	}
	failed, failedMsg, err := leadingInt(f["failed"])
	if err != nil {
		return scheduler.Observation{}, fmt.Errorf("job %s: failed %q: %w", id, f["failed"], err)
	}
	exit, _, err := leadingInt(f["exit_status"])
	if err != nil {
		return scheduler.Observation{}, fmt.Errorf("job %s: exit_status %q: %w", id, f["exit_status"], err)
	}
	failedMsg = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(failedMsg), ":"))
	exitText := "exit_status " + strconv.Itoa(exit) + signalNote(exit)
	failedText := "failed " + strconv.Itoa(failed)
	if failedMsg != "" {
		failedText += " (" + failedMsg + ")"
	}

	switch {
	case failed == 0 && exit == 0:
		o.Status, o.HasExit = scheduler.Done, true
		o.Detail = exitText
	case failed == 0:
		o.Status, o.Reason, o.ExitCode, o.HasExit = scheduler.Failed, scheduler.ReasonExitCode, exit, true
		o.Detail = exitText
	case failed == 100 && exit == 137:
		// The job's shell was killed with SIGKILL: what qdel does to a
		// running job. A program killed by the kernel's OOM killer does not
		// look like this (its shell survives and exits 137 with failed 0).
		o.Status, o.Reason = scheduler.Killed, scheduler.ReasonCancelled
		o.Detail = failedText + ", " + exitText + ": cancelled (qdel), or its shell was killed with SIGKILL"
	case failed == 100:
		o.Status, o.Reason, o.ExitCode, o.HasExit = scheduler.Failed, scheduler.ReasonExitCode, exit, true
		o.Detail = failedText + ", " + exitText
	case failed == 37:
		o.Status = scheduler.Failed
		o.Reason = limitReason(f["category"], f["ru_wallclock"])
		o.Detail = failedText + ", " + exitText
	case failed == 25:
		// Rescheduled: the job is queued again and a later record will
		// tell how it ended.
		o.Status = scheduler.Unknown
		o.Detail = failedText
	default:
		// The job could not be started or finished properly on the
		// execution host (26 output file, 27 shell, 28 working directory,
		// prolog/epilog failures, ...).
		o.Status, o.Reason = scheduler.Failed, scheduler.ReasonScheduler
		o.Detail = failedText + ", " + exitText
	}
	return o, nil
}

// limitReason tells which limit Grid Engine enforced for "failed 37
// (qmaster enforced h_rt, h_cpu, or h_vmem limit)": the job's requests are
// in its category ("-l h_rt=5,h_vmem=1G"); a wall-clock run time that
// reached the h_rt request means the walltime, a h_vmem request otherwise
// means memory, and walltime is assumed when nothing tells.
func limitReason(category, wallclock string) scheduler.Reason {
	req := map[string]string{}
	fields := strings.Fields(category)
	for i, f := range fields {
		if f != "-l" || i+1 >= len(fields) {
			continue
		}
		for kv := range strings.SplitSeq(fields[i+1], ",") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				req[k] = v
			}
		}
	}
	hrt, hasRT := limitSeconds(req["h_rt"])
	ran, hasRan := limitSeconds(strings.TrimSuffix(wallclock, "s"))
	_, hasVmem := req["h_vmem"]
	switch {
	case hasRT && hasRan && ran >= hrt:
		return scheduler.ReasonTimeout
	case hasVmem:
		return scheduler.ReasonOutOfMemory
	}
	return scheduler.ReasonTimeout
}

// limitSeconds reads a Grid Engine time value: seconds ("5", "6.000") or
// [[H:]M:]S.
func limitSeconds(v string) (float64, bool) {
	if v == "" {
		return 0, false
	}
	var total float64
	for part := range strings.SplitSeq(v, ":") {
		n, err := strconv.ParseFloat(part, 64)
		if err != nil || n < 0 {
			return 0, false
		}
		total = total*60 + n
	}
	return total, true
}

// leadingInt reads the number that starts a qacct value ("100 : assumedly
// after job", "137                  (Killed)") and returns the rest.
func leadingInt(v string) (int, string, error) {
	v = strings.TrimSpace(v)
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	if end == 0 || end > 9 {
		if v == "" {
			return 0, "", errors.New("missing")
		}
		return 0, "", errors.New("not a number")
	}
	n, _ := strconv.Atoi(v[:end])
	return n, v[end:], nil
}

func signalNote(exit int) string {
	if exit > 128 && exit < 128+65 {
		return " (killed by signal " + strconv.Itoa(exit-128) + ")"
	}
	return ""
}

// parseQacctTime reads "Tue Nov 24 22:14:57 2026" in the local time of the
// machine (qacct prints local times); "-/-" means never.
func parseQacctTime(s string, loc *time.Location) time.Time {
	s = strings.TrimSpace(s)
	if s == "" || s == "-/-" {
		return time.Time{}
	}
	for _, layout := range []string{"Mon Jan _2 15:04:05 2006", "01/02/2006 15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t
		}
	}
	return time.Time{}
}

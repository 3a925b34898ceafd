package sge

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// maxCancelArgs bounds the job arguments of one qdel call, so that
// cancelling thousands of jobs never builds an argv the system refuses.
const maxCancelArgs = 200

// Cancel implements scheduler.Scheduler: qdel with "ID" for a job and
// "ID.N" for one array element, many per call. Grid Engine has no "as done"
// mode; the engine records such jobs as done itself.
func (s *Scheduler) Cancel(ctx context.Context, req scheduler.CancelRequest) error {
	args, err := cancelArgs(req.Targets)
	if err != nil {
		return err
	}
	for len(args) > 0 {
		n := min(len(args), maxCancelArgs)
		if err := s.qdel(ctx, args[:n]); err != nil {
			return err
		}
		args = args[n:]
	}
	return nil
}

func cancelArgs(targets []scheduler.Target) ([]string, error) {
	args := make([]string, 0, len(targets))
	seen := map[string]bool{}
	for _, t := range targets {
		if !isJobID(t.ID) {
			return nil, &scheduler.ValueError{Kind: "job id", Value: t.ID, Hint: "Grid Engine job ids are numbers"}
		}
		a := t.ID
		if t.InArray {
			if t.Index < 1 {
				return nil, &scheduler.ValueError{Kind: "array index", Value: strconv.Itoa(t.Index), Hint: "Grid Engine task ids start at 1"}
			}
			a += "." + strconv.Itoa(t.Index)
		}
		if !seen[a] {
			seen[a] = true
			args = append(args, a)
		}
	}
	return args, nil
}

// qdel runs one qdel and decides from its answer lines (on stdout, exit 1
// when any job was unknown) whether it failed: unknown jobs and tasks are
// jobs that already ended, which is not an error.
func (s *Scheduler) qdel(ctx context.Context, jobs []string) error {
	res, err := s.run.Run(ctx, s.command(s.cmds.qdel, jobs...))
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err == nil {
		return nil
	}
	var cmdErr *scheduler.CommandError
	if !errors.As(err, &cmdErr) || cmdErr.Err != nil {
		return errContext("qdel", err)
	}
	if bad := qdelFailures(res.Stdout, res.Stderr); len(bad) > 0 || isTransient(joinOutput(res.Stdout, res.Stderr)) {
		return errContext("qdel", err)
	}
	return nil
}

// qdelFailures returns the answer lines that are neither a success nor an
// "already gone" answer:
//
//	root has registered the job 7 for deletion
//	root has deleted job 10
//	root has deleted job-array tasks 2-4:1 of job 37
//	denied: job "999999" does not exist
//	job "38" task "3" does not exist
func qdelFailures(outs ...[]byte) []string {
	var bad []string
	for _, b := range outs {
		for line := range strings.SplitSeq(string(b), "\n") {
			line = strings.TrimSpace(line)
			switch {
			case line == "",
				strings.Contains(line, "does not exist"),
				strings.Contains(line, "has registered the job"),
				strings.Contains(line, "has deleted job"),
				strings.Contains(line, "is already in deletion"):
			default:
				bad = append(bad, line)
			}
		}
	}
	return bad
}

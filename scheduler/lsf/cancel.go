package lsf

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// MaxKillIDs bounds the job ids of one bkill command, so that cancelling
// thousands of jobs never exceeds the system's argument length limit.
const MaxKillIDs = 500

// Cancel implements scheduler.Scheduler: "bkill [-d] ID ..." with array
// elements written "123[4]".
func (s *Scheduler) Cancel(ctx context.Context, req scheduler.CancelRequest) error {
	ids := make([]string, 0, len(req.Targets))
	for _, t := range req.Targets {
		if _, _, inArray, ok := elementKey(t.ID, ""); ok && inArray && !t.InArray {
			ids = append(ids, t.ID) // already "123[4]"
			continue
		}
		if !digits(t.ID) {
			return &scheduler.ValueError{Kind: "LSF job id", Value: t.ID, Hint: "LSF job ids are numbers"}
		}
		if t.InArray {
			ids = append(ids, t.ID+"["+strconv.Itoa(t.Index)+"]")
		} else {
			ids = append(ids, t.ID)
		}
	}
	for start := 0; start < len(ids); start += MaxKillIDs {
		end := min(start+MaxKillIDs, len(ids))
		if err := s.kill(ctx, req.AsDone, ids[start:end]); err != nil {
			return err
		}
	}
	return nil
}

// CancelName implements scheduler.NameCanceler: "bkill -J pattern 0". The 0
// matters: without a job id bkill kills only the most recent match.
func (s *Scheduler) CancelName(ctx context.Context, pattern string, asDone bool) error {
	if pattern == "" {
		return &scheduler.ValueError{Kind: "job name pattern", Value: pattern, Hint: "give a name or a pattern with '*'"}
	}
	return s.kill(ctx, asDone, []string{"-J", pattern, "0"})
}

// kill runs bkill, falling back from -d to a plain kill on LSF versions
// without -d; the engine records the job as done either way.
func (s *Scheduler) kill(ctx context.Context, asDone bool, args []string) error {
	useD := asDone && !s.noKillDone.Load()
	argv := killArgv(useD, args)
	res, err := s.run.Run(ctx, scheduler.Command{Argv: argv})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if useD && err != nil && illegalOptionD(res.Stderr) {
		s.noKillDone.Store(true)
		s.log.Info("bkill has no -d on this LSF version; cancelling with plain bkill, jobs are still recorded as done")
		argv = killArgv(false, args)
		res, err = s.run.Run(ctx, scheduler.Command{Argv: argv})
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return checkKill(res, err)
}

func killArgv(asDone bool, args []string) []string {
	argv := make([]string, 0, len(args)+2)
	argv = append(argv, "bkill")
	if asDone {
		argv = append(argv, "-d")
	}
	return append(argv, args...)
}

// checkKill accepts a bkill that failed only because jobs had already
// ended or were unknown: "Job <11>: Job has already finished", "Job <22>:
// No matching job found" (stderr, exit 255).
func checkKill(res scheduler.Result, err error) error {
	if err == nil {
		return nil
	}
	var cerr *scheduler.CommandError
	if !errors.As(err, &cerr) || cerr.Err != nil {
		return err
	}
	seen := false
	for _, line := range strings.Split(string(res.Stderr), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !strings.Contains(line, "Job has already finished") && !strings.Contains(line, "No matching job found") {
			return err
		}
		seen = true
	}
	if !seen {
		return err
	}
	return nil
}

func illegalOptionD(stderr []byte) bool {
	s := strings.ToLower(string(stderr))
	return strings.Contains(s, "illegal option") && strings.Contains(s, "-- d")
}

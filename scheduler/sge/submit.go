package sge

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// Submit implements scheduler.Scheduler: qsub -terse [extra args] SCRIPT,
// run inside the work directory so that -cwd and relative paths mean it.
func (s *Scheduler) Submit(ctx context.Context, job *scheduler.Job) (string, error) {
	if job.ScriptPath == "" {
		return "", errors.New("sge: the job has no script path; the engine writes the script before Submit")
	}
	args := make([]string, 0, len(job.ExtraArgs)+2)
	args = append(args, "-terse")
	args = append(args, job.ExtraArgs...)
	args = append(args, job.ScriptPath)
	cmd := s.command(s.cmds.qsub, args...)
	if wd := job.Resources.WorkDir; wd != "" {
		cmd.Dir = wd
		// Go only sets PWD for Dir when it builds the environment itself;
		// qsub may prefer $PWD over getcwd for -cwd.
		if cmd.Env != nil {
			cmd.Env = append(cmd.Env, "PWD="+wd)
		}
	}
	res, err := s.run.Run(ctx, cmd)
	if ctxErr := ctx.Err(); ctxErr != nil && err != nil {
		return "", ctxErr
	}
	var timeout *scheduler.TimeoutError
	if errors.As(err, &timeout) {
		// qsub may have been accepted before it stopped answering; the
		// engine checks for the job by name before trying again.
		return "", scheduler.Transient(&scheduler.SubmitError{Scheduler: "sge", Err: err})
	}
	id, ok := parseSubmit(res.Stdout)
	if err == nil && ok {
		return id, nil
	}
	out := joinOutput(res.Stdout, res.Stderr)
	if err == nil {
		err = errors.New("qsub printed no job id")
	}
	subErr := &scheduler.SubmitError{Scheduler: "sge", Output: out, Err: err}
	if isTransient(out) {
		return "", scheduler.Transient(subErr)
	}
	return "", subErr
}

// submitLine matches qsub's two answers: "-terse" prints "571" or, for an
// array, "573.1-4:1"; without it, "Your job 570 (...)" or "Your job-array
// 572.1-4:1 (...)". Either way the id is the number before the dot.
var (
	terseLine = regexp.MustCompile(`^([0-9]+)(?:\.[0-9]+-[0-9]+:[0-9]+)?$`)
	yourJob   = regexp.MustCompile(`Your job(?:-array)? ([0-9]+)`)
)

// parseSubmit finds the job id in qsub's standard output. Every line is
// looked at because site wrappers may print banners around qsub's answer.
func parseSubmit(stdout []byte) (string, bool) {
	for _, line := range strings.Split(string(stdout), "\n") {
		line = strings.TrimSpace(line)
		if m := terseLine.FindStringSubmatch(line); m != nil {
			return m[1], true
		}
		if m := yourJob.FindStringSubmatch(line); m != nil {
			return m[1], true
		}
	}
	return "", false
}

// transientMarks are fragments of qsub/qstat/qdel messages for failures
// that say nothing about the job: the qmaster is down, restarting, busy or
// unreachable. "Error reading answer list from qmaster" is not among them:
// qsub prints it for a job name the qmaster rejects too. Everything else (bad option, unknown queue or resource,
// missing script, limits) is the job's own problem and is not retried.
var transientMarks = []string{
	"commlib error",
	"unable to contact qmaster",
	"unable to send message to qmaster",
	"failed receiving gdi request",
	"can't unpack gdi request",
	"got send error",
	"got select error",
	"connection refused",
	"timed out",
	"timeout",
	"qmaster is not alive",
	"try again later",
}

func isTransient(out string) bool {
	low := strings.ToLower(out)
	for _, m := range transientMarks {
		if strings.Contains(low, m) {
			return true
		}
	}
	return false
}

func joinOutput(stdout, stderr []byte) string {
	o, e := bytes.TrimSpace(stdout), bytes.TrimSpace(stderr)
	switch {
	case len(o) == 0:
		return string(e)
	case len(e) == 0:
		return string(o)
	}
	return string(o) + "\n" + string(e)
}

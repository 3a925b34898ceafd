package lsf

import (
	"bytes"
	"context"
	"errors"
	"strings"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// Submit implements scheduler.Scheduler: "bsub [extra args]" with the
// script on standard input, as the seed does. bsub reads #BSUB lines only
// from standard input unless the site sets LSB_BSUB_PARSE_SCRIPT=Y.
func (s *Scheduler) Submit(ctx context.Context, job *scheduler.Job) (string, error) {
	if len(job.Script) == 0 {
		return "", &scheduler.ValueError{Kind: "job script", Value: job.ScriptPath, Hint: "the engine must render the script before submitting"}
	}
	cmd := scheduler.Command{
		Argv:  append([]string{"bsub"}, job.ExtraArgs...),
		Stdin: job.Script,
	}
	if s.noMail {
		cmd.Env = []string{"LSB_JOB_REPORT_MAIL=N"}
	}
	res, err := s.run.Run(ctx, cmd)
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	return parseSubmit(res, err)
}

// parseSubmit decides what a bsub run means. It is separate from Submit so
// that recorded outputs can be tested without a runner.
func parseSubmit(res scheduler.Result, runErr error) (string, error) {
	// A job id anywhere means the job exists, whatever the exit status.
	if id, ok := findSubmittedID(res.Stdout); ok {
		return id, nil
	}
	if id, ok := findSubmittedID(res.Stderr); ok {
		return id, nil
	}
	output := joinOutput(res.Stdout, res.Stderr)
	fail := &scheduler.SubmitError{Scheduler: "lsf", Output: output, Err: runErr}
	if runErr == nil {
		fail.Err = errors.New("bsub exited 0 but printed no \"Job <N> is submitted\" line")
		return "", fail
	}
	var terr *scheduler.TimeoutError
	if errors.As(runErr, &terr) {
		return "", scheduler.Transient(fail)
	}
	var cerr *scheduler.CommandError
	if errors.As(runErr, &cerr) && cerr.Err != nil {
		// bsub could not be started at all (not on PATH): retrying will not help.
		return "", fail
	}
	if strings.Contains(output, "Job not submitted") {
		return "", fail
	}
	if strings.TrimSpace(output) == "" || isTransientMessage(output) {
		return "", scheduler.Transient(fail)
	}
	return "", fail
}

// transientMessages are what LSF prints when mbatchd is busy or out of
// reach; the same submission may succeed a moment later.
var transientMessages = []string{
	"Please wait",
	"Cannot connect to LSF",
	"Request from non-LSF host rejected",
	"Socket timed out",
	"concurrent query limit exceeded",
	"Failed in an LSF library call",
	"LSF daemon (LIM) not responding",
	"Master LIM is down",
}

func isTransientMessage(out string) bool {
	for _, m := range transientMessages {
		if strings.Contains(out, m) {
			return true
		}
	}
	return false
}

// findSubmittedID scans every line for "Job <N> is submitted": mbatchd
// may print "LSF is processing your request. Please wait ..." first.
func findSubmittedID(out []byte) (string, bool) {
	for len(out) > 0 {
		line := out
		if i := bytes.IndexByte(out, '\n'); i >= 0 {
			line, out = out[:i], out[i+1:]
		} else {
			out = nil
		}
		i := bytes.Index(line, []byte("Job <"))
		for i >= 0 {
			rest := line[i+len("Job <"):]
			j := 0
			for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
				j++
			}
			if j > 0 && bytes.HasPrefix(rest[j:], []byte("> is submitted")) {
				return string(rest[:j]), true
			}
			k := bytes.Index(rest, []byte("Job <"))
			if k < 0 {
				break
			}
			line = rest
			i = k
		}
	}
	return "", false
}

func joinOutput(stdout, stderr []byte) string {
	a, b := strings.TrimSpace(string(stdout)), strings.TrimSpace(string(stderr))
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n" + b
}

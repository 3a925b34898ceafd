package slurm

import (
	"bytes"
	"context"
	"errors"
	"strings"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// submitArgv is sbatch --parsable, the extra arguments (config first, then
// job), and the script, whose #SBATCH lines carry everything else.
func submitArgv(job *scheduler.Job) []string {
	argv := make([]string, 0, 3+len(job.ExtraArgs))
	argv = append(argv, "sbatch", "--parsable")
	argv = append(argv, job.ExtraArgs...)
	return append(argv, job.ScriptPath)
}

// Submit implements scheduler.Scheduler.
func (s *Scheduler) Submit(ctx context.Context, job *scheduler.Job) (string, error) {
	if job.ScriptPath == "" {
		return "", errors.New("slurm: the job has no script path; the engine must write the script before submitting")
	}
	res, err := s.run.Run(ctx, scheduler.Command{Argv: submitArgv(job)})
	if err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		serr := &scheduler.SubmitError{Scheduler: "slurm", Output: output(res), Err: err}
		if transientSubmit(res.Stderr) {
			return "", scheduler.Transient(serr)
		}
		return "", serr
	}
	id, ok := parseSbatch(res.Stdout)
	if !ok {
		return "", &scheduler.SubmitError{Scheduler: "slurm", Output: output(res),
			Err: errors.New("sbatch --parsable printed no job id")}
	}
	return id, nil
}

// parseSbatch reads the job id from sbatch --parsable: the last non-empty
// line, "123" or "123;cluster". Site job_submit plugins may print lines
// before it.
func parseSbatch(out []byte) (string, bool) {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	last := strings.TrimSpace(string(lines[len(lines)-1]))
	id, _, _ := strings.Cut(last, ";")
	// Without --parsable taking effect (an alias or wrapper may drop it)
	// the line reads "Submitted batch job 123[ on cluster c]", with
	// "sbatch: " in front from some versions.
	f := strings.Fields(last)
	if len(f) > 0 && f[0] == "sbatch:" {
		f = f[1:]
	}
	if len(f) >= 4 && f[0] == "Submitted" && f[1] == "batch" && f[2] == "job" {
		id = f[3]
	}
	if !validJobID(id) {
		return "", false
	}
	return id, true
}

// transientMessages are what sbatch says when the controller is busy or
// unreachable rather than refusing the job.
var transientMessages = []string{
	"timed out", // "Socket timed out on send/recv operation", "Connection timed out"
	"Unable to contact slurm controller",
	"Resource temporarily unavailable",
	"Connection refused",
	"Slurm temporarily unable to accept job",
	"Zero Bytes were transmitted or received",
	"Communication connection failure",
	"backup controller in standby mode",
	"Transport endpoint is not connected",
}

func transientSubmit(stderr []byte) bool {
	s := string(stderr)
	for _, m := range transientMessages {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

func output(res scheduler.Result) string {
	return strings.TrimSpace(strings.TrimSpace(string(res.Stdout)) + "\n" + strings.TrimSpace(string(res.Stderr)))
}

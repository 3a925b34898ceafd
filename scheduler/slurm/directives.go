package slurm

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// Directives implements scheduler.Scheduler. Lines come in a fixed order:
// name, logs, partition, account, cpus, gpus, memory, time, directory,
// array.
func (s *Scheduler) Directives(job *scheduler.Job) ([]string, error) {
	return directives(job)
}

func directives(job *scheduler.Job) ([]string, error) {
	var out []string
	add := func(opt, value, kind string) error {
		q, err := quoteValue(value, kind)
		if err != nil {
			return err
		}
		out = append(out, "#SBATCH --"+opt+"="+q)
		return nil
	}
	addPath := func(opt, path string) error {
		v, err := logPathValue(path)
		if err != nil {
			return err
		}
		return add(opt, v, "log path")
	}
	r := job.Resources
	if job.Name != "" {
		if err := add("job-name", job.Name, "job name"); err != nil {
			return nil, err
		}
	}
	if job.StdoutPath != "" {
		if err := addPath("output", job.StdoutPath); err != nil {
			return nil, err
		}
	}
	if job.StderrPath != "" {
		if err := addPath("error", job.StderrPath); err != nil {
			return nil, err
		}
	}
	if r.Queue != "" {
		if err := add("partition", r.Queue, "partition (queue)"); err != nil {
			return nil, err
		}
	}
	if r.Account != "" {
		if err := add("account", r.Account, "account"); err != nil {
			return nil, err
		}
	}
	if r.CPUs < 0 {
		return nil, &scheduler.ValueError{Kind: "cpus", Value: strconv.Itoa(r.CPUs), Hint: "use a positive number of CPUs"}
	}
	if r.CPUs > 0 {
		out = append(out, "#SBATCH --cpus-per-task="+strconv.Itoa(r.CPUs))
	}
	if r.GPUs < 0 {
		return nil, &scheduler.ValueError{Kind: "gpus", Value: strconv.Itoa(r.GPUs), Hint: "use a positive number of GPUs"}
	}
	if r.GPUs > 0 {
		out = append(out, "#SBATCH --gpus="+strconv.Itoa(r.GPUs))
	}
	if r.Memory < 0 {
		return nil, &scheduler.ValueError{Kind: "memory", Value: strconv.FormatInt(int64(r.Memory), 10) + " B", Hint: "use a positive amount, e.g. 8 GB"}
	}
	if r.Memory > 0 {
		// Whole mebibytes, rounded up so a job never gets less than asked;
		// an explicit unit keeps the meaning independent of the site's
		// default unit.
		out = append(out, "#SBATCH --mem="+strconv.FormatInt(r.Memory.In(scheduler.MB), 10)+"M")
	}
	if r.Walltime < 0 {
		return nil, &scheduler.ValueError{Kind: "walltime", Value: r.Walltime.String(), Hint: "use a positive duration"}
	}
	if r.Walltime > 0 {
		out = append(out, "#SBATCH --time="+scheduler.FormatDHHMMSS(r.Walltime))
	}
	if r.WorkDir != "" {
		if err := add("chdir", r.WorkDir, "work directory"); err != nil {
			return nil, err
		}
	}
	if a := job.Array; a != nil {
		spec, err := arraySpec(*a)
		if err != nil {
			return nil, err
		}
		out = append(out, "#SBATCH --array="+spec)
	}
	return out, nil
}

// arraySpec renders --array: "1-10", "1-10%2".
func arraySpec(a scheduler.Array) (string, error) {
	if a.First < 0 || a.Last < a.First {
		return "", &scheduler.ValueError{Kind: "array range", Value: fmt.Sprintf("%d-%d", a.First, a.Last),
			Hint: "use FIRST-LAST with 0 <= FIRST <= LAST"}
	}
	if a.MaxConcurrent < 0 {
		return "", &scheduler.ValueError{Kind: "array max concurrent", Value: strconv.Itoa(a.MaxConcurrent),
			Hint: "use a positive number, or 0 for no limit"}
	}
	spec := strconv.Itoa(a.First) + "-" + strconv.Itoa(a.Last)
	if a.MaxConcurrent > 0 {
		spec += "%" + strconv.Itoa(a.MaxConcurrent)
	}
	return spec, nil
}

// quoteValue writes v as one #SBATCH argument. sbatch's directive parser
// (checked on 22.05.8, see doc.go) splits at blanks, starts a comment at an
// unquoted '#', toggles quoting on '"' and '\”, and takes the character
// after a backslash literally, also inside quotes. Double quotes with '\'
// and '"' escaped therefore carry every byte but line breaks, which end the
// directive and cannot be escaped.
func quoteValue(v, kind string) (string, error) {
	if strings.ContainsAny(v, "\n\r\x00") {
		return "", &scheduler.ValueError{Kind: kind, Value: v,
			Hint: "it contains a line break or NUL byte, which cannot be written into an #SBATCH line; rename it"}
	}
	var b strings.Builder
	b.Grow(len(v) + 2)
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
	return b.String(), nil
}

// logPathValue prepares an --output/--error path for slurmstepd, which
// expands it a second time: '%' starts a placeholder (%j, %A, %a; %% is a
// literal '%'), and a backslash anywhere switches placeholder expansion off
// and is itself removed. A path with a backslash can therefore be kept
// exact only when it needs no placeholder: each backslash is doubled. With
// a placeholder it cannot be written at all.
func logPathValue(p string) (string, error) {
	if !strings.Contains(p, `\`) {
		return p, nil
	}
	if strings.Contains(p, "%") {
		return "", &scheduler.ValueError{Kind: "log path", Value: p,
			Hint: `SLURM ignores %j/%A/%a placeholders in a log path that contains a backslash; use a directory without "\" or set stdout_path/stderr_path to a fixed file name`}
	}
	return strings.ReplaceAll(p, `\`, `\\`), nil
}

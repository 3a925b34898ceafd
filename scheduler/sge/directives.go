package sge

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// Directives implements scheduler.Scheduler. The lines come in a fixed
// order: name, shell, environment, working directory, logs, queue, account,
// cpus, memory, walltime, gpus, array.
func (s *Scheduler) Directives(job *scheduler.Job) ([]string, error) {
	return directives(job, settings{pe: s.ParallelEnv, mem: s.MemoryResource, gpu: s.GPUResource})
}

type settings struct{ pe, mem, gpu string }

func directives(job *scheduler.Job, set settings) ([]string, error) {
	const p = "#$ "
	r := job.Resources
	var out []string
	add := func(opt string, val ...string) {
		out = append(out, p+strings.Join(append([]string{opt}, val...), " "))
	}

	if err := checkName(job.Name); err != nil {
		return nil, err
	}
	add("-N", job.Name)
	// The queue's shell (csh by default) runs the script in Grid Engine's
	// default posix_compliant mode whatever its #! line; capi's scripts are
	// bash.
	add("-S", "/bin/bash")
	// LSF and SLURM hand the submitting environment to the job by default;
	// Grid Engine only with -V. Same behaviour everywhere wins (skip it with
	// directives_skip: ["-V"]).
	add("-V")

	wd := r.WorkDir
	if pseudoVar(wd) {
		return nil, &scheduler.ValueError{Kind: "work directory", Value: wd,
			Hint: "Grid Engine replaces $HOME, $USER, $JOB_ID, $JOB_NAME, $HOSTNAME and $TASK_ID in a job's working directory and has no escape for them; choose a directory whose name does not contain them"}
	}
	if wd != "" && representable(wd, false) {
		add("-wd", word(wd))
	} else {
		// No work dir, or one that a #$ line cannot carry (quotes, '#'):
		// Submit runs qsub inside it, and -cwd takes qsub's directory.
		add("-cwd")
	}
	stdout, stderr := job.StdoutPath, job.StderrPath
	if stdout != "" && stdout == stderr {
		// Two streams opened separately on one file overwrite each other.
		add("-j", "y")
		stderr = ""
	}
	for _, l := range []struct{ opt, path string }{{"-o", stdout}, {"-e", stderr}} {
		if l.path == "" {
			continue
		}
		v, err := logPath(l.path, wd)
		if err != nil {
			return nil, err
		}
		add(l.opt, v)
	}

	if r.Queue != "" {
		if !representable(r.Queue, false) || strings.ContainsAny(r.Queue, " \t") {
			return nil, &scheduler.ValueError{Kind: "queue", Value: r.Queue, Hint: "a Grid Engine queue name has no spaces, quotes or '#'"}
		}
		add("-q", r.Queue)
	}
	if r.Account != "" {
		if !representable(r.Account, false) || strings.ContainsAny(r.Account, " \t") {
			return nil, &scheduler.ValueError{Kind: "account", Value: r.Account, Hint: "a Grid Engine account string has no spaces, quotes or '#'"}
		}
		add("-A", r.Account)
	}

	if r.CPUs < 0 || r.GPUs < 0 {
		return nil, &scheduler.ValueError{Kind: "cpus/gpus", Value: fmt.Sprintf("%d/%d", r.CPUs, r.GPUs), Hint: "use positive whole numbers"}
	}
	slots := 1
	if r.CPUs > 1 {
		slots = r.CPUs
		add("-pe", set.pe, strconv.Itoa(r.CPUs))
	}
	if r.Memory < 0 {
		return nil, &scheduler.ValueError{Kind: "memory", Value: r.Memory.String(), Hint: "memory must be positive"}
	}
	if r.Memory > 0 {
		add("-l", set.mem+"="+perSlot(r.Memory, slots))
	}
	if r.Walltime < 0 {
		return nil, &scheduler.ValueError{Kind: "walltime", Value: r.Walltime.String(), Hint: "the limit must be longer than zero"}
	}
	if r.Walltime > 0 {
		add("-l", "h_rt="+scheduler.FormatHHMMSS(r.Walltime))
	}
	if r.GPUs > 0 {
		add("-l", set.gpu+"="+strconv.Itoa(r.GPUs))
	}

	if a := job.Array; a != nil {
		if a.First < 1 || a.Last < a.First {
			return nil, &scheduler.ValueError{Kind: "array range", Value: fmt.Sprintf("%d-%d", a.First, a.Last),
				Hint: "Grid Engine task ids start at 1: use a range like 1-10"}
		}
		if a.MaxConcurrent < 0 {
			return nil, &scheduler.ValueError{Kind: "array max concurrent", Value: strconv.Itoa(a.MaxConcurrent), Hint: "use 0 (no limit) or a positive number"}
		}
		add("-t", fmt.Sprintf("%d-%d", a.First, a.Last))
		if a.MaxConcurrent > 0 {
			add("-tc", strconv.Itoa(a.MaxConcurrent))
		}
	}
	return out, nil
}

// checkName enforces what qsub -N accepts ("cannot start with a digit")
// and what a #$ line can carry.
func checkName(name string) error {
	bad := func(hint string) error { return &scheduler.ValueError{Kind: "job name", Value: name, Hint: hint} }
	if name == "" {
		return bad("a job needs a name")
	}
	if name[0] >= '0' && name[0] <= '9' {
		return bad("Grid Engine job names cannot start with a digit; rename the job or set a job_name_prefix that starts with a letter")
	}
	for _, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.', c == '-':
		default:
			return bad("use letters, digits, '_', '.' and '-' only")
		}
	}
	return nil
}

// representable reports whether qsub reads v back unchanged from a #$ line
// once written with word(). qsub's script parser drops every ' and "
// (there is no escape), ends the line at '#' even inside quotes, and keeps
// '\' and '$' literally. In -o/-e path lists ',' separates paths too.
func representable(v string, pathList bool) bool {
	if strings.ContainsAny(v, "\"'#\n\r\x00") {
		return false
	}
	return !pathList || !strings.Contains(v, ",")
}

// pseudoVars are what Grid Engine expands in -wd, -cwd and -o/-e paths,
// matched as prefixes ("$HOMEx" is $HOME then "x"); "${HOME}" is left alone.
var pseudoVars = []string{"$HOME", "$USER", "$JOB_ID", "$JOB_NAME", "$HOSTNAME", "$TASK_ID"}

func pseudoVar(s string) bool {
	for _, v := range pseudoVars {
		if strings.Contains(s, v) {
			return true
		}
	}
	return false
}

// word renders a value for a #$ line: bare when it has no blanks, else in
// double quotes, which qsub strips while keeping the blanks.
func word(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t") {
		return v
	}
	return `"` + v + `"`
}

// logPath renders an -o/-e path. Paths inside the work directory are written
// relative to it (qsub resolves them against -wd/-cwd), which keeps a work
// directory that a #$ line cannot carry usable. A ':' makes qsub read
// "host:path", so a path with one gets an empty host prefix.
func logPath(path, wd string) (string, error) {
	v := path
	if wd != "" {
		if rel, ok := strings.CutPrefix(path, strings.TrimSuffix(wd, "/")+"/"); ok && rel != "" && !strings.HasPrefix(rel, "../") {
			v = rel
			if strings.HasPrefix(v, "-") {
				v = "./" + v
			}
		}
	}
	if !representable(v, true) {
		return "", &scheduler.ValueError{Kind: "log path", Value: path,
			Hint: `Grid Engine cannot take ', ", # or , in an -o/-e path from a job script; choose a log path (or work_dir) without them`}
	}
	if strings.Contains(v, ":") {
		v = ":" + v
	}
	return word(v), nil
}

// perSlot renders mem divided over slots, rounded up, in the largest
// 1024-based unit qsub takes (K, M, G are 1024-based; k, m, g are not).
// h_vmem and its kin are per slot: a job with -pe smp 4 and h_vmem=2G may
// use 8G in all.
func perSlot(mem scheduler.Bytes, slots int) string {
	n := int64(slots)
	b := (int64(mem) + n - 1) / n
	switch {
	case b%int64(scheduler.GB) == 0:
		return strconv.FormatInt(b/int64(scheduler.GB), 10) + "G"
	case b%int64(scheduler.MB) == 0:
		return strconv.FormatInt(b/int64(scheduler.MB), 10) + "M"
	default:
		return strconv.FormatInt(scheduler.Bytes(b).In(scheduler.KB), 10) + "K"
	}
}

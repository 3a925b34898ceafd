package lsf

import (
	"strconv"
	"strings"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// Directives implements scheduler.Scheduler. The order is the seed's
// (py-cluster-api build_header): -J, -o, -e, -q, -n, span, -gpu, -M,
// rusage, -W, -cwd; then -P, which the seed only had as an extra directive.
func (s *Scheduler) Directives(job *scheduler.Job) ([]string, error) {
	r := job.Resources
	var lines []string
	add := func(opt, value string) { lines = append(lines, "#BSUB "+opt+" "+value) }

	name, err := jobNameSpec(job.Name, job.Array)
	if err != nil {
		return nil, err
	}
	add("-J", name)
	for _, p := range []struct{ opt, path string }{{"-o", job.StdoutPath}, {"-e", job.StderrPath}} {
		if p.path == "" {
			continue
		}
		v, err := quotePath(p.path)
		if err != nil {
			return nil, err
		}
		add(p.opt, v)
	}
	if r.Queue != "" {
		v, err := quoteWord("queue", r.Queue)
		if err != nil {
			return nil, err
		}
		add("-q", v)
	}
	if r.CPUs < 0 || r.GPUs < 0 {
		return nil, &scheduler.ValueError{Kind: "cpus/gpus", Value: strconv.Itoa(min(r.CPUs, r.GPUs)), Hint: "use a positive number"}
	}
	if r.CPUs > 0 {
		add("-n", strconv.Itoa(r.CPUs))
		if r.CPUs > 1 {
			// All slots on one host: the seed's (and nextflow's) default,
			// since most programs are multi-threaded, not MPI.
			add("-R", `"span[hosts=1]"`)
		}
	}
	if r.GPUs > 0 {
		add("-gpu", `"num=`+strconv.Itoa(r.GPUs)+`"`)
	}
	if r.Memory < 0 {
		return nil, &scheduler.ValueError{Kind: "memory", Value: r.Memory.String(), Hint: "use a positive amount"}
	}
	if r.Memory > 0 {
		mem := s.memoryValue(r.Memory)
		add("-M", mem)
		add("-R", `"rusage[mem=`+mem+`]"`)
	}
	if r.Walltime < 0 {
		return nil, &scheduler.ValueError{Kind: "walltime", Value: r.Walltime.String(), Hint: "use a positive limit"}
	}
	if r.Walltime > 0 {
		add("-W", scheduler.FormatHMM(r.Walltime))
	}
	if r.WorkDir != "" {
		v, err := quotePath(r.WorkDir)
		if err != nil {
			return nil, err
		}
		add("-cwd", v)
	}
	if r.Account != "" {
		v, err := quoteWord("account", r.Account)
		if err != nil {
			return nil, err
		}
		add("-P", v)
	}
	return lines, nil
}

// memoryValue renders an amount in the site's unit, rounded up so a job
// never gets less than it asked for. The seed writes a bare number, which
// LSF reads in LSF_UNIT_FOR_LIMITS; an explicit suffix (LSF 10.1.0.2+) makes
// the script mean the same on a site with another setting.
func (s *Scheduler) memoryValue(b scheduler.Bytes) string {
	v := strconv.FormatInt(b.In(s.unit), 10)
	if s.explicit {
		v += s.unitName
	}
	return v
}

// jobNameSpec is the -J value: the name, plus "[first-last]%max" for an
// array. LSF documents the slot limit after the bracket
// (-J "name[1-50]%10"); the seed put it inside, which LSF rejects.
func jobNameSpec(name string, arr *scheduler.Array) (string, error) {
	if name == "" {
		return "", &scheduler.ValueError{Kind: "job name", Value: name, Hint: "give the job a name"}
	}
	if arr == nil {
		return quoteWord("job name", name)
	}
	if strings.ContainsAny(name, "[]%") {
		return "", &scheduler.ValueError{Kind: "job name", Value: name,
			Hint: "an array job's name cannot contain '[', ']' or '%': LSF reads them as the index list"}
	}
	if arr.First < 1 || arr.Last < arr.First || arr.MaxConcurrent < 0 {
		return "", &scheduler.ValueError{Kind: "array range",
			Value: strconv.Itoa(arr.First) + "-" + strconv.Itoa(arr.Last),
			Hint:  "LSF array indices start at 1 and the last index must not be below the first"}
	}
	spec := name + "[" + strconv.Itoa(arr.First) + "-" + strconv.Itoa(arr.Last) + "]"
	if arr.MaxConcurrent > 0 {
		spec += "%" + strconv.Itoa(arr.MaxConcurrent)
	}
	return quoteValue("job name", spec, true)
}

// quotePath writes a path the way the seed does (always in quotes), so
// that a path with blanks stays one word.
func quotePath(p string) (string, error) { return quoteValue("path", p, true) }

// quoteWord writes a value bare when it needs no quotes (the seed writes
// "-J name" and "-q normal" without them).
func quoteWord(kind, v string) (string, error) { return quoteValue(kind, v, false) }

// quoteValue makes v one #BSUB word; see the package documentation for the
// rules and why some values are refused.
func quoteValue(kind, v string, always bool) (string, error) {
	if v == "" {
		return "", &scheduler.ValueError{Kind: kind, Value: v, Hint: "the value is empty"}
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return "", &scheduler.ValueError{Kind: kind, Value: v, Hint: "control characters (newline, tab, ...) cannot be written into a #BSUB line"}
		}
	}
	if strings.ContainsRune(v, '\\') {
		return "", &scheduler.ValueError{Kind: kind, Value: v, Hint: "a backslash cannot be written safely into a #BSUB line; rename the file or directory"}
	}
	dq := strings.ContainsRune(v, '"')
	sq := strings.ContainsRune(v, '\'')
	switch {
	case dq && sq:
		return "", &scheduler.ValueError{Kind: kind, Value: v, Hint: "a value with both single and double quotes cannot be written into a #BSUB line"}
	case dq || strings.ContainsAny(v, "$`"):
		if sq {
			return "", &scheduler.ValueError{Kind: kind, Value: v, Hint: "a value with both a single quote and '$' or '`' cannot be written into a #BSUB line"}
		}
		return "'" + v + "'", nil
	case always || !isBareWord(v):
		return `"` + v + `"`, nil
	}
	return v, nil
}

func isBareWord(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-_./:,+=@%", c) >= 0:
		default:
			return false
		}
	}
	return true
}

package scheduler

import "time"

// Resources is what a job asks of the cluster, in portable units. The zero
// value of each field means "not requested": the scheduler's own default
// applies and no directive is written.
type Resources struct {
	CPUs   int   `json:"cpus,omitempty"`
	GPUs   int   `json:"gpus,omitempty"`
	Memory Bytes `json:"memory,omitempty"`
	// Walltime is the run-time limit. It means the same on every scheduler;
	// each renders it in its own syntax.
	Walltime time.Duration `json:"walltime,omitempty"`
	// Queue is the LSF queue, SLURM partition or Grid Engine queue.
	Queue   string `json:"queue,omitempty"`
	Account string `json:"account,omitempty"`
	// WorkDir is the job's working directory; the engine makes it absolute.
	WorkDir string `json:"work_dir,omitempty"`
	// StdoutPath and StderrPath override the default log paths. They are
	// passed to the scheduler as given, so scheduler placeholders (%J, %j,
	// $JOB_ID) keep working.
	StdoutPath string `json:"stdout_path,omitempty"`
	StderrPath string `json:"stderr_path,omitempty"`
	// ExtraDirectives are job-level directives without their prefix: "-P
	// myproject" becomes "#BSUB -P myproject".
	ExtraDirectives []string `json:"extra_directives,omitempty"`
	// ExtraArgs are appended to the submit command line.
	ExtraArgs []string `json:"extra_args,omitempty"`
}

// Array describes a job array: indices First..Last (inclusive) with at most
// MaxConcurrent elements running at once (0 = no limit).
type Array struct {
	First         int `json:"first"`
	Last          int `json:"last"`
	MaxConcurrent int `json:"max_concurrent,omitempty"`
}

// Len is the number of elements in the array.
func (a Array) Len() int { return a.Last - a.First + 1 }

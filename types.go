package clusterapi

import "github.com/go-cluster-api/clusterapi/scheduler"

// Value types shared with the scheduler packages, re-exported so that users
// import only this package. Being aliases, go doc shows their comments here
// but not their fields and methods, so each comment lists them.
type (
	// Status is the portable state of a job or of one array element: one
	// of the constants [Pending], [Running], [Done], [Failed], [Killed]
	// and [Unknown] (the strings "pending", "running", "done", "failed",
	// "killed", "unknown"). Its method Terminal reports whether it is
	// final: true for Done, Failed and Killed; Unknown is not final (the
	// scheduler said something capi cannot interpret, and polling goes on).
	Status = scheduler.Status

	// Reason says why a job ended as it did, so that "my program failed"
	// reads differently from "the cluster killed it" and "capi lost track
	// of it": [ReasonExitCode], [ReasonCancelled], [ReasonTimeout],
	// [ReasonOutOfMemory], [ReasonNodeFailure], [ReasonPreempted],
	// [ReasonVanished], [ReasonSubmitFailed], [ReasonScheduler], or "" while
	// the job has not ended. The scheduler's own words are in
	// [Record].Detail.
	Reason = scheduler.Reason

	// Resources is what a job asks of the cluster, in portable units. The
	// zero value of a field means "not requested": the configured default
	// applies ([Config] cpus, memory, ...), else the scheduler's own, and no
	// directive is written. Fields (JSON names in --json output):
	//
	//	CPUs     int            cpus per job (cpus)
	//	GPUs     int            gpus per job (gpus)
	//	Memory   Bytes          e.g. 8 * GB (memory, in bytes)
	//	Walltime time.Duration  run-time limit, the same on every scheduler (walltime, in ns)
	//	Queue    string         LSF queue, SLURM partition, Grid Engine queue (queue)
	//	Account  string         account or project to charge (account)
	//	WorkDir  string         working directory; default the current one (work_dir)
	//	StdoutPath, StderrPath string
	//	                        log paths; default {work_dir}/stdout.{job_id}.log;
	//	                        scheduler placeholders (%J, %j, $JOB_ID) work (stdout_path, stderr_path)
	//	ExtraDirectives []string
	//	                        directives without their prefix: "-P proj" (extra_directives)
	//	ExtraArgs []string      appended to the submit command (extra_args)
	Resources = scheduler.Resources

	// Bytes is an amount of memory in bytes; write it with the 1024-based
	// units [KB], [MB], [GB] and [TB] (8 * GB), or parse it with
	// [ParseMemory] ("8 GB"). Its String method prints it the way
	// ParseMemory reads it; In(unit) converts it to a whole number of a
	// unit, rounding up.
	Bytes = scheduler.Bytes

	// Array describes a job array for [Executor.SubmitArray]: one element
	// per index from First to Last, inclusive, with at most MaxConcurrent
	// elements running at once (0 means no limit). Its method Len returns
	// the number of elements. Fields (JSON names in brackets):
	//
	//	First         int  first index (first)
	//	Last          int  last index, at least First (last)
	//	MaxConcurrent int  elements running at once, 0 = no limit (max_concurrent)
	Array = scheduler.Array
)

// Statuses.
const (
	Pending = scheduler.Pending
	Running = scheduler.Running
	Done    = scheduler.Done
	Failed  = scheduler.Failed
	Killed  = scheduler.Killed
	Unknown = scheduler.Unknown
)

// Reasons.
const (
	ReasonExitCode     = scheduler.ReasonExitCode
	ReasonCancelled    = scheduler.ReasonCancelled
	ReasonTimeout      = scheduler.ReasonTimeout
	ReasonOutOfMemory  = scheduler.ReasonOutOfMemory
	ReasonNodeFailure  = scheduler.ReasonNodeFailure
	ReasonPreempted    = scheduler.ReasonPreempted
	ReasonVanished     = scheduler.ReasonVanished
	ReasonSubmitFailed = scheduler.ReasonSubmitFailed
	ReasonScheduler    = scheduler.ReasonScheduler
)

// Errors. Every error capi returns matches ErrClusterAPI with errors.Is;
// the typed ones are reached with errors.As.
var (
	ErrClusterAPI = scheduler.ErrClusterAPI
	ErrTransient  = scheduler.ErrTransient
	ErrNotFound   = scheduler.ErrNotFound
	// ErrClosed: the Executor was closed.
	ErrClosed = scheduler.ErrClosed
)

type (
	// SubmitError: the scheduler did not accept a job; keeps its output.
	SubmitError = scheduler.SubmitError
	// CommandError: a scheduler command failed; keeps argv, exit, output.
	CommandError = scheduler.CommandError
	// CommandTimeoutError: a scheduler command did not answer in time.
	CommandTimeoutError = scheduler.TimeoutError
	// ValueError: a value (memory, walltime, path) capi cannot accept.
	ValueError = scheduler.ValueError
)

// Memory units (1024-based, as the seed): 8 * GB is "8 GB".
const (
	KB = scheduler.KB
	MB = scheduler.MB
	GB = scheduler.GB
	TB = scheduler.TB
)

// ParseMemory parses "8 GB", "512mb", "1.5GB" (1024-based units).
func ParseMemory(s string) (Bytes, error) { return scheduler.ParseBytes(s) }

// ParseWalltime parses "04:00" (4 h), "1:30:00", "2-00:00", "90m".
var ParseWalltime = scheduler.ParseWalltime

package clusterapi

import "github.com/go-cluster-api/clusterapi/scheduler"

// Value types shared with the scheduler packages, re-exported so that users
// import only this package.
type (
	Status    = scheduler.Status
	Reason    = scheduler.Reason
	Resources = scheduler.Resources
	Bytes     = scheduler.Bytes
	Array     = scheduler.Array
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

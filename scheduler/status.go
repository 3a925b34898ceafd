package scheduler

// Status is the portable state of a job or of one array element.
type Status string

// The portable statuses. Every scheduler state maps onto exactly one of them.
const (
	// Pending: accepted by the scheduler, not running yet (queued, held).
	Pending Status = "pending"
	// Running: executing (including suspended and finishing states).
	Running Status = "running"
	// Done: ended with exit code 0 (or cancelled "as done").
	Done Status = "done"
	// Failed: non-zero exit, killed by the cluster (walltime, memory, node
	// failure), or lost track of (vanished).
	Failed Status = "failed"
	// Killed: cancelled by a user or an administrator.
	Killed Status = "killed"
	// Unknown: the scheduler reported a state capi cannot interpret. It is
	// not terminal; the engine keeps polling.
	Unknown Status = "unknown"
)

// Terminal reports whether the status is final.
func (s Status) Terminal() bool {
	return s == Done || s == Failed || s == Killed
}

// Reason says why a job ended the way it did. It lets users tell "my
// program failed" from "the cluster killed it" from "we lost track of it".
type Reason string

// The reasons a job can end with. The scheduler's own words go in a separate
// detail field (see [Observation.Detail]).
const (
	ReasonNone         Reason = ""
	ReasonExitCode     Reason = "exit_code"     // the program's own exit status decided it
	ReasonCancelled    Reason = "cancelled"     // a user or admin cancelled it
	ReasonTimeout      Reason = "timeout"       // walltime limit exceeded
	ReasonOutOfMemory  Reason = "out_of_memory" // memory limit exceeded
	ReasonNodeFailure  Reason = "node_failure"  // the node (or boot, launch) failed
	ReasonPreempted    Reason = "preempted"     // preempted by higher-priority work
	ReasonVanished     Reason = "vanished"      // no source knew the job for zombie_timeout_minutes
	ReasonSubmitFailed Reason = "submit_failed" // the scheduler refused or never confirmed it
	ReasonScheduler    Reason = "scheduler"     // a scheduler-side error state (e.g. SGE Eqw, SLURM BOOT_FAIL)
)

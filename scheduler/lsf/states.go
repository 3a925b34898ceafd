package lsf

import (
	"strings"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// classify sets Status, Reason, Detail and the exit code from an LSF state
// (bjobs STAT), its termination reason (EXIT_REASON or bhist's "Completed
// <exit>; TERM_...") and its pending reason.
func classify(o *scheduler.Observation, stat, exitReason, pendReason string, code int, hasCode bool) {
	o.Detail = stat
	switch stat {
	case "PEND", "PROV", "PSUSP", "WAIT":
		// PROV: the host is being provisioned; WAIT: a chunk job member
		// waiting for its chunk; PSUSP: held by the user or an admin.
		o.Status = scheduler.Pending
		if r := strings.TrimSuffix(pendReason, ";"); r != "" {
			o.Detail = stat + ": " + r
		}
	case "RUN", "USUSP", "SSUSP":
		// Suspended jobs have started; they resume in place.
		o.Status = scheduler.Running
	case "DONE", "PDONE", "POST_DONE":
		// PDONE/POST_DONE: done, and the post-execution command succeeded.
		// No reason, as a done job has on every scheduler: it ended as
		// it should.
		o.Status = scheduler.Done
		o.ExitCode, o.HasExit = 0, true
	case "POST_ERR":
		// The job itself ended, but the site's post-execution command
		// failed: a cluster-side failure, not the program's.
		o.Status = scheduler.Failed
		o.Reason = scheduler.ReasonScheduler
		o.Detail = "POST_ERR: the post-execution command failed"
		o.ExitCode, o.HasExit = code, hasCode
	case "EXIT":
		o.Status, o.Reason = exitStatus(exitReason)
		o.ExitCode, o.HasExit = code, hasCode
		if exitReason != "" {
			o.Detail = "EXIT: " + exitReason
		}
	case "ZOMBI":
		// Killed while its execution host was unreachable: LSF lost the job.
		o.Status = scheduler.Failed
		o.Reason = scheduler.ReasonNodeFailure
		o.Detail = "ZOMBI: killed while its execution host was unreachable"
	default:
		// UNKWN (mbatchd lost contact with the host; the job may still run),
		// RUNKWN and anything newer: not terminal, the engine keeps asking.
		o.Status = scheduler.Unknown
		switch stat {
		case "":
			o.Detail = "no STAT in bjobs output"
		case "UNKWN":
			o.Detail = "UNKWN: LSF lost contact with the job's execution host; the job may still be running"
		default:
			o.Detail = stat + ": a state capi does not know"
		}
	}
}

// exitStatus reads an EXIT job's termination keyword (LSF's
// termination_reasons_lsf page): "TERM_OWNER: job killed by owner".
func exitStatus(reason string) (scheduler.Status, scheduler.Reason) {
	keyword, _, _ := strings.Cut(reason, ":")
	keyword = strings.TrimSpace(keyword)
	switch keyword {
	case "TERM_OWNER", "TERM_ADMIN", "TERM_FORCE_OWNER", "TERM_FORCE_ADMIN",
		"TERM_REQUEUE_OWNER", "TERM_REQUEUE_ADMIN":
		return scheduler.Killed, scheduler.ReasonCancelled
	case "TERM_RUNLIMIT", "TERM_CPULIMIT", "TERM_DEADLINE":
		return scheduler.Failed, scheduler.ReasonTimeout
	case "TERM_MEMLIMIT", "TERM_SWAP":
		return scheduler.Failed, scheduler.ReasonOutOfMemory
	case "TERM_PREEMPT":
		return scheduler.Failed, scheduler.ReasonPreempted
	case "TERM_REMOVE_HUNG_JOB", "TERM_ZOMBIE":
		return scheduler.Failed, scheduler.ReasonNodeFailure
	case "TERM_CWD_NOTEXIST", "TERM_ORPHAN_SYSTEM", "TERM_RMS", "TERM_BUCKET_KILL",
		"TERM_CHKPNT", "TERM_LOAD", "TERM_EXTERNAL_SIGNAL":
		return scheduler.Failed, scheduler.ReasonScheduler
	}
	return scheduler.Failed, scheduler.ReasonExitCode
}

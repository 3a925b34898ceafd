package sge

import (
	"strings"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// jobState is what a qstat state string means for capi.
type jobState struct {
	status scheduler.Status
	reason scheduler.Reason
	detail string
}

// stateWords explains each letter of a Grid Engine state (sge_status(5)).
// The letters combine ("hqw", "Eqw", "dRr", "tS"), so a state is read as a
// set of flags, not looked up whole.
var stateWords = map[byte]string{
	'q': "queued",
	'w': "waiting",
	'h': "on hold (qrls releases it)",
	'r': "running",
	't': "starting (being transferred to the execution host)",
	'R': "restarted",
	's': "suspended (qmod -usj resumes it)",
	'S': "suspended with its queue",
	'T': "suspended by a load threshold of its queue",
	'd': "being deleted",
	'E': "error",
	'z': "finished (zombie)",
}

// mapState maps a state string to a portable status. ok is false for
// zombies, which Poll leaves out.
//
// Decisions (see the package documentation):
//   - E (Eqw, Ehqw, ...) is pending with reason "scheduler": the job holds
//     its place in Grid Engine and runs if someone clears the error, so it
//     is not terminal, but the user must see it.
//   - d is being deleted: the job keeps its running or pending status
//     until it leaves the queue, with reason "cancelled" as a hint.
//   - s, S, T (suspended) count as running, as the contract says.
//   - Any letter outside sge_status(5) makes the whole state unknown.
func mapState(id, state string) (jobState, bool) {
	var has [256]bool
	var words []string
	for i := 0; i < len(state); i++ {
		c := state[i]
		w, known := stateWords[c]
		if !known {
			return jobState{status: scheduler.Unknown, detail: state + ": unknown Grid Engine state"}, true
		}
		if !has[c] {
			words = append(words, w)
		}
		has[c] = true
	}
	if state == "" {
		return jobState{status: scheduler.Unknown, detail: "no state"}, true
	}
	if has['z'] {
		return jobState{}, false
	}
	js := jobState{detail: state + ": " + strings.Join(words, ", ")}
	switch {
	case has['E']:
		js.status, js.reason = scheduler.Pending, scheduler.ReasonScheduler
		js.detail += "; Grid Engine will not run the job until the error is cleared: `qstat -j " + id +
			"` says why, `qmod -cj " + id + "` retries it, `qdel " + id + "` removes it"
		return js, true
	case has['r'] || has['t'] || has['s'] || has['S'] || has['T']:
		js.status = scheduler.Running
	case has['q'] || has['w'] || has['h']:
		js.status = scheduler.Pending
	default:
		// "d" or "R" alone: no documented state; do not guess.
		js.status = scheduler.Unknown
		return js, true
	}
	if has['d'] {
		js.reason = scheduler.ReasonCancelled
	}
	return js, true
}

package clusterapi

import (
	"syscall"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/script"
)

// The rules by which an exit file decides a job that no other source knows
// any more (README, "How capi knows a job's status").
func TestExitFileObservation(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	lsfLimits := []syscall.Signal{syscall.SIGUSR2, syscall.SIGXCPU}
	startedAgo := func(d time.Duration) int64 { return now.Add(-d).UnixNano() }
	for _, tc := range []struct {
		name     string
		exit     script.Exit
		limits   []syscall.Signal
		walltime time.Duration
		started  int64
		status   Status
		reason   Reason
		code     int
	}{
		{"exit 0", script.Exit{Code: 0}, nil, 0, 0, Done, "", 0},
		{"exit 3", script.Exit{Code: 3}, nil, 0, 0, Failed, ReasonExitCode, 3},
		// A program of the job killed by a signal (OOM killer, segfault):
		// the job's own failure.
		{"program died of SIGKILL", script.Exit{Code: 137}, nil, 0, 0, Failed, ReasonExitCode, 137},
		// bkill, scancel, qdel with a notify signal: the job's shell caught it.
		{"cancel (INT)", script.Exit{Code: 130, Signal: 2}, lsfLimits, time.Hour, startedAgo(time.Minute), Killed, ReasonCancelled, 130},
		{"cancel (TERM)", script.Exit{Code: 143, Signal: 15}, nil, 0, startedAgo(time.Minute), Killed, ReasonCancelled, 143},
		// LSF's run limit: SIGUSR2 first.
		{"LSF run limit (USR2)", script.Exit{Code: 128 + int(syscall.SIGUSR2), Signal: int(syscall.SIGUSR2)}, lsfLimits, 0, 0, Failed, ReasonTimeout, 128 + int(syscall.SIGUSR2)},
		// A scheduler without limit signals (SLURM sends TERM for both):
		// USR2 is then an outside signal like any other.
		{"USR2 elsewhere", script.Exit{Code: 128 + int(syscall.SIGUSR2), Signal: int(syscall.SIGUSR2)}, nil, 0, 0, Killed, ReasonCancelled, 128 + int(syscall.SIGUSR2)},
		// SLURM's time limit: TERM after running the whole walltime.
		{"TERM at the walltime", script.Exit{Code: 143, Signal: 15}, nil, time.Hour, startedAgo(time.Hour + time.Second), Failed, ReasonTimeout, 143},
		{"TERM before the walltime", script.Exit{Code: 143, Signal: 15}, nil, time.Hour, startedAgo(59 * time.Minute), Killed, ReasonCancelled, 143},
		{"TERM, start never seen", script.Exit{Code: 143, Signal: 15}, nil, time.Hour, 0, Killed, ReasonCancelled, 143},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := exitFileObservation(tc.exit, tc.limits, tc.walltime, tc.started, now)
			if o.Status != tc.status || o.Reason != tc.reason || !o.HasExit || o.ExitCode != tc.code || !o.FinishTime.Equal(now) {
				t.Errorf("%+v: got %s/%s exit %d (%v) at %v; want %s/%s exit %d", tc.exit, o.Status, o.Reason, o.ExitCode, o.HasExit, o.FinishTime, tc.status, tc.reason, tc.code)
			}
			if o.Detail == "" {
				t.Error("no detail")
			}
		})
	}
}

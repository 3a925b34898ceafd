package slurm

import (
	"testing"

	"github.com/go-cluster-api/clusterapi/scheduler"
	"github.com/google/go-cmp/cmp"
)

func TestDecodeWaitStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want exitInfo
	}{
		{"0", exitInfo{known: true}},
		{"768", exitInfo{code: 3, known: true}},     // exit 3 (recorded)
		{"32512", exitInfo{code: 127, known: true}}, // command not found (recorded)
		{"33280", exitInfo{code: 130, known: true}}, // exit 130 (recorded)
		{"9", exitInfo{signal: 9, known: true}},     // SIGKILL (recorded)
		{"15", exitInfo{signal: 15, known: true}},   // cancel / time limit (recorded)
		{"139", exitInfo{signal: 11, known: true}},  // SIGSEGV with core dump flag
		{"4021", exitInfo{raw: "4021"}},             // launch failure: a SLURM error number (recorded)
		{"53", exitInfo{raw: "53"}},                 // not a signal a job dies of
		{"65536", exitInfo{raw: "65536"}},           // beyond a wait status
		{"", exitInfo{}},
		{"N/A", exitInfo{}},
		{"-1", exitInfo{raw: "-1"}},
		{"3:0", exitInfo{raw: "3:0"}},
	}
	for _, tt := range tests {
		if got := decodeWaitStatus(tt.in); got != tt.want {
			t.Errorf("decodeWaitStatus(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseExitCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want exitInfo
	}{
		{"0:0", exitInfo{known: true}},
		{"3:0", exitInfo{code: 3, known: true}},
		{"0:15", exitInfo{signal: 15, known: true}},
		{"0:9", exitInfo{signal: 9, known: true}},
		{"0:53", exitInfo{raw: "0:53"}}, // launch failure (recorded)
		{"256:0", exitInfo{raw: "256:0"}},
		{"", exitInfo{raw: ""}},
		{"3", exitInfo{raw: "3"}},
		{"a:b", exitInfo{raw: "a:b"}},
	}
	for _, tt := range tests {
		if got := parseExitCode(tt.in); got != tt.want {
			t.Errorf("parseExitCode(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	exit := func(code, sig int) exitInfo { return exitInfo{code: code, signal: sig, known: true} }
	type v = verdict
	tests := []struct {
		state, reason string
		ex            exitInfo
		want          verdict
	}{
		{"PENDING", "Resources", exitInfo{}, v{status: scheduler.Pending, detail: "PENDING (Resources)"}},
		{"PENDING", "JobArrayTaskLimit", exit(0, 0), v{status: scheduler.Pending, detail: "PENDING (JobArrayTaskLimit)"}},
		{"CONFIGURING", "None", exitInfo{}, v{status: scheduler.Pending, detail: "CONFIGURING"}},
		{"REQUEUED", "None", exitInfo{}, v{status: scheduler.Pending, detail: "REQUEUED"}},
		{"REQUEUE_HOLD", "JobHeldAdmin", exitInfo{}, v{status: scheduler.Pending, detail: "REQUEUE_HOLD (JobHeldAdmin)"}},
		{"REQUEUE_FED", "", exitInfo{}, v{status: scheduler.Pending, detail: "REQUEUE_FED"}},
		{"RESV_DEL_HOLD", "", exitInfo{}, v{status: scheduler.Pending, detail: "RESV_DEL_HOLD"}},
		{"SPECIAL_EXIT", "", exitInfo{}, v{status: scheduler.Pending, detail: "SPECIAL_EXIT"}},
		{"RUNNING", "None", exit(0, 0), v{status: scheduler.Running, detail: "RUNNING"}},
		{"COMPLETING", "None", exitInfo{}, v{status: scheduler.Running, detail: "COMPLETING"}},
		{"SUSPENDED", "None", exitInfo{}, v{status: scheduler.Running, detail: "SUSPENDED"}},
		{"STOPPED", "", exitInfo{}, v{status: scheduler.Running, detail: "STOPPED"}},
		{"RESIZING", "", exitInfo{}, v{status: scheduler.Running, detail: "RESIZING"}},
		{"SIGNALING", "", exitInfo{}, v{status: scheduler.Running, detail: "SIGNALING"}},
		{"STAGE_OUT", "", exitInfo{}, v{status: scheduler.Running, detail: "STAGE_OUT"}},
		{"COMPLETED", "None", exit(0, 0), v{status: scheduler.Done, detail: "COMPLETED", hasExit: true}},
		{"COMPLETED", "JobArrayTaskLimit", exitInfo{}, v{status: scheduler.Done, detail: "COMPLETED", hasExit: true}},
		{"FAILED", "NonZeroExitCode", exit(3, 0), v{status: scheduler.Failed, reason: scheduler.ReasonExitCode,
			detail: "FAILED (NonZeroExitCode), exit 3", exitCode: 3, hasExit: true}},
		{"FAILED", "NonZeroExitCode", exitInfo{}, v{status: scheduler.Failed, reason: scheduler.ReasonExitCode,
			detail: "FAILED (NonZeroExitCode)"}},
		{"FAILED", "None", exit(0, 11), v{status: scheduler.Failed, reason: scheduler.ReasonExitCode,
			detail: "FAILED, killed by signal 11 (SIGSEGV)", exitCode: 139, hasExit: true}},
		{"FAILED", "JobLaunchFailure", exit(0, 9), v{status: scheduler.Failed, reason: scheduler.ReasonOutOfMemory,
			detail:   `FAILED (JobLaunchFailure), killed by signal 9 (SIGKILL): most likely the job exceeded its memory limit (the job's log says "Exceeded job memory limit"); a job that kills its own shell with SIGKILL looks the same`,
			exitCode: 137, hasExit: true}},
		{"FAILED", "JobLaunchFailure", exitInfo{raw: "4021"}, v{status: scheduler.Failed, reason: scheduler.ReasonScheduler,
			detail: `FAILED (JobLaunchFailure), exit code field "4021": ` + launchNote}},
		{"FAILED", "BadConstraints", exit(0, 0), v{status: scheduler.Failed, reason: scheduler.ReasonScheduler,
			detail: "FAILED (BadConstraints)"}},
		{"CANCELLED by 1000", "None", exit(0, 0), v{status: scheduler.Killed, reason: scheduler.ReasonCancelled, detail: "CANCELLED by 1000"}},
		{"CANCELLED", "Priority", exit(0, 15), v{status: scheduler.Killed, reason: scheduler.ReasonCancelled,
			detail: "CANCELLED, killed by signal 15 (SIGTERM)"}},
		{"CANCELLED+", "", exitInfo{}, v{status: scheduler.Killed, reason: scheduler.ReasonCancelled, detail: "CANCELLED+"}},
		{"TIMEOUT", "TimeLimit", exit(0, 15), v{status: scheduler.Failed, reason: scheduler.ReasonTimeout,
			detail: "TIMEOUT (TimeLimit), killed by signal 15 (SIGTERM)"}},
		{"DEADLINE", "", exitInfo{}, v{status: scheduler.Failed, reason: scheduler.ReasonTimeout, detail: "DEADLINE"}},
		{"OUT_OF_MEMORY", "OutOfMemory", exit(0, 9), v{status: scheduler.Failed, reason: scheduler.ReasonOutOfMemory,
			detail: "OUT_OF_MEMORY (OutOfMemory), killed by signal 9 (SIGKILL)"}},
		{"NODE_FAIL", "", exitInfo{}, v{status: scheduler.Failed, reason: scheduler.ReasonNodeFailure, detail: "NODE_FAIL"}},
		{"BOOT_FAIL", "", exitInfo{}, v{status: scheduler.Failed, reason: scheduler.ReasonScheduler, detail: "BOOT_FAIL"}},
		{"PREEMPTED", "", exitInfo{}, v{status: scheduler.Failed, reason: scheduler.ReasonPreempted, detail: "PREEMPTED"}},
		{"REVOKED", "", exitInfo{}, v{status: scheduler.Unknown, detail: "REVOKED"}},
		{"EXPLODED", "Gremlins", exitInfo{}, v{status: scheduler.Unknown, detail: "EXPLODED (Gremlins): state not known to capi"}},
		{"", "", exitInfo{}, v{status: scheduler.Unknown, detail: ": state not known to capi"}},
	}
	for _, tt := range tests {
		got := classify(tt.state, tt.reason, tt.ex)
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(verdict{})); diff != "" {
			t.Errorf("classify(%q, %q, %+v) (-want +got):\n%s", tt.state, tt.reason, tt.ex, diff)
		}
	}
}

// Every state SLURM 22.05 documents (squeue(1) JOB STATE CODES) must map to
// something other than Unknown, REVOKED aside.
func TestClassifyKnowsEveryDocumentedState(t *testing.T) {
	t.Parallel()
	documented := []string{"BOOT_FAIL", "CANCELLED", "COMPLETED", "CONFIGURING", "COMPLETING", "DEADLINE", "FAILED",
		"NODE_FAIL", "OUT_OF_MEMORY", "PENDING", "PREEMPTED", "RUNNING", "RESV_DEL_HOLD", "REQUEUE_FED", "REQUEUE_HOLD",
		"REQUEUED", "RESIZING", "SIGNALING", "SPECIAL_EXIT", "STAGE_OUT", "STOPPED", "SUSPENDED", "TIMEOUT"}
	for _, s := range documented {
		if got := classify(s, "", exitInfo{}); got.status == scheduler.Unknown || got.status == "" {
			t.Errorf("classify(%q) = %q", s, got.status)
		}
	}
}

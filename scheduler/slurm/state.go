package slurm

import (
	"strconv"
	"strings"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// exitInfo is how a job ended as SLURM reports it: an exit code or the
// signal that killed the batch script ("3:0", "0:15").
type exitInfo struct {
	code, signal int
	known        bool
	// raw is set when squeue printed something that is not a wait status
	// (SLURM puts its own error number there after a launch failure).
	raw string
}

// maxSignal bounds the signals taken at face value. After a launch failure
// SLURM stores its own error number where the wait status belongs (4021,
// shown by sacct as "0:53"); no real job dies of a realtime signal.
const maxSignal = 32

// decodeWaitStatus reads squeue's exit_code field, a raw wait(2) status:
// 768 is exit 3, 9 is SIGKILL.
func decodeWaitStatus(s string) exitInfo {
	if s == "" || s == "N/A" {
		return exitInfo{}
	}
	n, err := atoi(s)
	if err != nil {
		return exitInfo{raw: s}
	}
	switch {
	case n&0xff == 0 && n>>8 <= 0xff:
		return exitInfo{code: n >> 8, known: true}
	case n>>8 == 0 && n&0x7f < maxSignal: // 0x80 is the core-dump flag
		return exitInfo{signal: n & 0x7f, known: true}
	}
	return exitInfo{raw: s}
}

// parseExitCode reads sacct's ExitCode field, "code:signal".
func parseExitCode(s string) exitInfo {
	c, sig, ok := strings.Cut(s, ":")
	if !ok {
		return exitInfo{raw: s}
	}
	code, err1 := atoi(c)
	signal, err2 := atoi(sig)
	if err1 != nil || err2 != nil || code > 255 || signal >= maxSignal {
		return exitInfo{raw: s}
	}
	return exitInfo{code: code, signal: signal, known: true}
}

func (e exitInfo) String() string {
	switch {
	case !e.known && e.raw != "":
		return "exit code field " + strconv.Quote(e.raw)
	case !e.known, e.code == 0 && e.signal == 0:
		return ""
	case e.signal != 0:
		return "killed by signal " + signalName(e.signal)
	default:
		return "exit " + strconv.Itoa(e.code)
	}
}

// verdict is a SLURM state translated for the engine.
type verdict struct {
	status   scheduler.Status
	reason   scheduler.Reason
	detail   string
	exitCode int
	hasExit  bool
}

// stateClass is how one SLURM state name maps to a portable status, and
// the reason it implies when it is final.
var stateClass = map[string]struct {
	status scheduler.Status
	reason scheduler.Reason
}{
	"PENDING":       {scheduler.Pending, ""},
	"CONFIGURING":   {scheduler.Pending, ""}, // allocated, nodes still booting: the job has not started
	"REQUEUED":      {scheduler.Pending, ""},
	"REQUEUE_HOLD":  {scheduler.Pending, ""},
	"REQUEUE_FED":   {scheduler.Pending, ""},
	"RESV_DEL_HOLD": {scheduler.Pending, ""},
	"SPECIAL_EXIT":  {scheduler.Pending, ""}, // requeued and held by an epilog; it waits for a release
	"RUNNING":       {scheduler.Running, ""},
	"COMPLETING":    {scheduler.Running, ""}, // the script ended; epilogs still run
	"SUSPENDED":     {scheduler.Running, ""},
	"STOPPED":       {scheduler.Running, ""}, // SIGSTOPped, keeps its nodes
	"RESIZING":      {scheduler.Running, ""},
	"SIGNALING":     {scheduler.Running, ""},
	"STAGE_OUT":     {scheduler.Running, ""},
	"COMPLETED":     {scheduler.Done, ""},
	"FAILED":        {scheduler.Failed, scheduler.ReasonExitCode},
	"CANCELLED":     {scheduler.Killed, scheduler.ReasonCancelled},
	"TIMEOUT":       {scheduler.Failed, scheduler.ReasonTimeout},
	"DEADLINE":      {scheduler.Failed, scheduler.ReasonTimeout},
	"OUT_OF_MEMORY": {scheduler.Failed, scheduler.ReasonOutOfMemory},
	"NODE_FAIL":     {scheduler.Failed, scheduler.ReasonNodeFailure},
	"BOOT_FAIL":     {scheduler.Failed, scheduler.ReasonScheduler},
	"PREEMPTED":     {scheduler.Failed, scheduler.ReasonPreempted},
	// A federation sibling withdrawn because another cluster started the
	// job: it runs elsewhere, so this record decides nothing.
	"REVOKED": {scheduler.Unknown, ""},
}

// classify maps a SLURM state (as squeue %T or sacct State print it,
// "CANCELLED by 1000" included), its reason and how it ended onto the
// engine's terms. Unknown states give scheduler.Unknown.
func classify(state, slurmReason string, ex exitInfo) verdict {
	state = strings.TrimSpace(state)
	word, _, _ := strings.Cut(state, " ")
	// sacct marks a state cut to the column width with '+'.
	word = strings.TrimRight(word, "+")
	class, ok := stateClass[word]
	if !ok {
		return verdict{status: scheduler.Unknown, detail: joinDetail(state, slurmReason, "", "state not known to capi")}
	}
	v := verdict{status: class.status, reason: class.reason}
	note := ""
	switch word {
	case "COMPLETED":
		v.exitCode, v.hasExit = 0, true
		// A pending reason can outlive the wait ("JobArrayTaskLimit").
		slurmReason = ""
	case "FAILED":
		v.reason, v.exitCode, v.hasExit, note = failed(slurmReason, ex)
	case "CANCELLED":
		// The old pending reason survives a cancel ("Priority").
		slurmReason = ""
	}
	if !v.status.Terminal() {
		v.detail = joinDetail(state, slurmReason, "", note)
		return v
	}
	v.detail = joinDetail(state, slurmReason, ex.String(), note)
	return v
}

// failed tells a program's own failure from the ways SLURM fails a job.
func failed(slurmReason string, ex exitInfo) (r scheduler.Reason, code int, has bool, note string) {
	switch {
	case ex.known && ex.signal == 9:
		// The batch shell itself died of SIGKILL. Without cgroups this is
		// exactly how SLURM's memory enforcement (OverMemoryKill) looks;
		// a program killed by the kernel's OOM killer instead shows as
		// exit 137. Cancels and time limits have their own states.
		return scheduler.ReasonOutOfMemory, 128 + 9, true,
			"most likely the job exceeded its memory limit (the job's log says \"Exceeded job memory limit\"); a job that kills its own shell with SIGKILL looks the same"
	case ex.known && ex.signal != 0:
		return scheduler.ReasonExitCode, 128 + ex.signal, true, ""
	case ex.known && ex.code != 0:
		return scheduler.ReasonExitCode, ex.code, true, ""
	case slurmReason == "NonZeroExitCode":
		return scheduler.ReasonExitCode, 0, false, ""
	case !ex.known && ex.raw != "":
		return scheduler.ReasonScheduler, 0, false, launchNote
	case slurmReason == "JobLaunchFailure":
		// Without an exit status (squeue -o) this is a launch failure or
		// a memory kill; only the exit status (sacct's 0:53 against 0:9)
		// tells them apart.
		return scheduler.ReasonScheduler, 0, false, launchNote + ", or killed it with SIGKILL for exceeding its memory limit"
	}
	return scheduler.ReasonScheduler, 0, false, ""
}

const launchNote = "SLURM could not start the job script (does the log directory exist and is it writable? see the slurmd log)"

func joinDetail(state, slurmReason, exit, note string) string {
	d := state
	if slurmReason != "" && slurmReason != "None" && slurmReason != "(null)" {
		d += " (" + slurmReason + ")"
	}
	if exit != "" {
		d += ", " + exit
	}
	if note != "" {
		d += ": " + note
	}
	return d
}

var signalNames = map[int]string{
	1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE",
	9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM",
	15: "SIGTERM", 24: "SIGXCPU", 25: "SIGXFSZ",
}

func signalName(n int) string {
	if name, ok := signalNames[n]; ok {
		return strconv.Itoa(n) + " (" + name + ")"
	}
	return strconv.Itoa(n)
}

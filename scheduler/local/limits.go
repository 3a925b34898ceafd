package local

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// launcher is the shell that starts an element with a walltime or a memory
// limit. It runs as the element's process (its pid and process group are
// the job's) and ends by becoming the job script, so the job's exit status
// and signals are the script's own.
//
// Arguments: $0 the script, $1 the walltime deadline in Unix seconds (0:
// none), $2 the grace seconds between SIGTERM and SIGKILL, $3 the timeout
// marker to create, $4 the element's run file, empty until the script's
// trap writes its exit status there.
//
// It first reads one line from descriptor 4, written by the starting
// process once it has placed this shell in the element's cgroup: empty, or
// an RLIMIT_AS in KiB to apply with ulimit -v. Nothing of the job runs
// before, so every process of the job is inside the limit.
//
// The watchdog is a child of this shell in the job's process group: while
// it lives the group id cannot be reused, so its signals reach only the
// job. Once a second it checks that the job's main process still runs
// (and has not written its exit status: a main process nobody reaped yet
// is a zombie that kill -0 still finds); at the deadline it creates the
// timeout marker, sends SIGTERM to the group (ignoring it itself), waits
// the grace period for the main process to end, then sends SIGKILL to the
// group, itself included. It lets go of the job's run-file lock (3) and
// logs, so a job whose main process ended is not kept "running" by it.
const launcher = `IFS= read -r __capi_as <&4 || exit 125
exec 4<&-
if [ -n "$__capi_as" ]; then ulimit -v "$__capi_as" || exit 125; fi
if [ "$1" -gt 0 ]; then
	(
		trap '' TERM
		exec 3>&- </dev/null >/dev/null 2>&1
		while kill -0 $$ && [ ! -s "$4" ]; do
			if [ "$(date +%s)" -ge "$1" ]; then
				(umask 077; : >"$3")
				kill -s TERM 0
				__capi_g=$2
				while [ "$__capi_g" -gt 0 ] && kill -0 $$; do sleep 1; __capi_g=$((__capi_g - 1)); done
				kill -s KILL 0
			fi
			sleep 1
		done
	) &
fi
exec "$0"
`

// deadline is the walltime limit of an element starting at start, as the
// launcher's whole Unix seconds, rounded up so that a job is not stopped
// before its walltime; with the watchdog's one-second checks it is stopped
// within two seconds after.
func deadline(start time.Time, walltime time.Duration) int64 {
	end := start.Add(walltime)
	s := end.Unix()
	if end.Nanosecond() > 0 {
		s++
	}
	return s
}

// graceSeconds is the launcher's grace period, at least a second.
func graceSeconds(d time.Duration) int {
	return max(int((d+time.Second-1)/time.Second), 1)
}

// nvidiaDevices counts /dev/nvidia0, /dev/nvidia1, ...: the default number
// of GPU slots (none on macOS).
func nvidiaDevices() int {
	m, _ := filepath.Glob("/dev/nvidia[0-9]*")
	n := 0
	for _, p := range m {
		if _, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(p), "nvidia")); err == nil {
			n++
		}
	}
	return n
}

// formatGPUs renders GPU indices as CUDA_VISIBLE_DEVICES does: "0,2".
func formatGPUs(gpus []int) string {
	parts := make([]string, len(gpus))
	for i, g := range gpus {
		parts[i] = strconv.Itoa(g)
	}
	return strings.Join(parts, ",")
}

// checkResources refuses what this machine can never give a job: more cpus
// or GPUs than it has slots, or a queue (the local executor has none; a
// queue that silently meant nothing would hide a config meant for a
// cluster).
func (s *Scheduler) checkResources(r scheduler.Resources) error {
	switch {
	case r.CPUs > s.slots:
		return &scheduler.ValueError{Kind: "cpus", Value: strconv.Itoa(r.CPUs),
			Hint: fmt.Sprintf("the local executor has %d cpu slots (local_slots); the job could never start", s.slots)}
	case r.GPUs > s.gpus:
		return &scheduler.ValueError{Kind: "gpus", Value: strconv.Itoa(r.GPUs),
			Hint: fmt.Sprintf("the local executor has %d GPU slots (local_gpus); the job could never start", s.gpus)}
	case r.Queue != "":
		return &scheduler.ValueError{Kind: "queue", Value: r.Queue,
			Hint: "the local executor has no queues; remove --queue (or queue in the configuration or profile) for executor local"}
	}
	return nil
}

// errNoQueues is what a refused queue wraps.
var errNoQueues = fmt.Errorf("the local executor has no queues: %w", errors.ErrUnsupported)

// describeLimits is the "#CAPI" comment's account of a job's limits.
func describeLimits(r scheduler.Resources) []string {
	var parts []string
	if r.GPUs > 0 {
		parts = append(parts, "gpus="+strconv.Itoa(r.GPUs))
	}
	if r.Memory > 0 {
		parts = append(parts, "memory="+strings.ReplaceAll(r.Memory.String(), " ", ""))
	}
	if r.Walltime > 0 {
		parts = append(parts, "walltime="+scheduler.FormatHHMMSS(r.Walltime))
	}
	return parts
}

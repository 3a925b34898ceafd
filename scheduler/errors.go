package scheduler

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrClusterAPI is matched by every error capi returns:
// errors.Is(err, ErrClusterAPI) tells capi's errors from others.
var ErrClusterAPI = errors.New("cluster api error")

// ErrTransient marks a failure that may succeed if tried again (a scheduler
// that timed out, "Socket timed out", "Please wait"). The engine retries
// submissions that fail with it; any other submit failure is permanent.
var ErrTransient error = sentinel("transient scheduler failure")

// ErrNotFound is returned when a job id is not known.
var ErrNotFound error = sentinel("job not found")

// ErrClosed is returned by an executor's methods after Close.
var ErrClosed error = sentinel("executor closed")

// sentinel is an error value that, like every error capi returns, matches
// ErrClusterAPI.
type sentinel string

func (s sentinel) Error() string { return string(s) }

// Is makes every sentinel match ErrClusterAPI.
func (s sentinel) Is(target error) bool { return target == ErrClusterAPI }

// ValueError is a value that capi cannot accept: a memory amount, a walltime,
// a job name, a path that cannot be written into a script safely.
type ValueError struct {
	Kind  string // "memory", "walltime", "path", ...
	Value string // the offending value, as given
	Hint  string // what to write instead
}

func (e *ValueError) Error() string {
	msg := fmt.Sprintf("invalid %s %q", e.Kind, e.Value)
	if e.Hint != "" {
		msg += ": " + e.Hint
	}
	return msg
}

// Is makes every ValueError match ErrClusterAPI.
func (e *ValueError) Is(target error) bool { return target == ErrClusterAPI }

// CommandError is an external command that failed to run or exited non-zero.
// It keeps everything the scheduler said, because bjobs can exit 1 and still
// print useful output, and users need the scheduler's own words.
type CommandError struct {
	Argv     []string
	ExitCode int // -1 when the command could not be started
	Stdout   []byte
	Stderr   []byte
	Err      error // the start error (e.g. exec.ErrNotFound), if any
}

func (e *CommandError) Error() string {
	name := "command"
	if len(e.Argv) > 0 {
		name = e.Argv[0]
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", name, e.Err)
	}
	msg := firstLines(e.Stderr, 3)
	if msg == "" {
		msg = firstLines(e.Stdout, 3)
	}
	if msg == "" {
		msg = "no output"
	}
	return fmt.Sprintf("%s exited %d: %s", name, e.ExitCode, msg)
}

func (e *CommandError) Unwrap() error { return e.Err }

// Is makes every CommandError match ErrClusterAPI.
func (e *CommandError) Is(target error) bool { return target == ErrClusterAPI }

// TimeoutError is an external command that did not finish within its
// timeout (command_timeout). It is transient: a busy scheduler may answer
// next time.
type TimeoutError struct {
	Argv    []string
	Timeout time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s did not answer within %s (command_timeout); the scheduler may be overloaded, try again or raise command_timeout",
		strings.Join(e.Argv, " "), e.Timeout)
}

// Is makes every TimeoutError match ErrClusterAPI and ErrTransient.
func (e *TimeoutError) Is(target error) bool {
	return target == ErrClusterAPI || target == ErrTransient
}

// SubmitError is a submission the scheduler did not confirm: it refused the
// job, or its answer held no job id. Output keeps what it printed.
type SubmitError struct {
	Scheduler string
	Output    string // stdout and stderr, as printed
	Err       error  // the underlying cause (often a *CommandError)
}

func (e *SubmitError) Error() string {
	detail := strings.TrimSpace(e.Output)
	if detail == "" && e.Err != nil {
		detail = e.Err.Error()
	} else if i := strings.IndexByte(detail, '\n'); i >= 0 {
		detail = strings.Join(strings.Fields(strings.ReplaceAll(detail, "\n", " | ")), " ")
	}
	if detail == "" {
		detail = "no output"
	}
	return fmt.Sprintf("%s did not accept the job: %s", e.Scheduler, detail)
}

func (e *SubmitError) Unwrap() error { return e.Err }

// Is makes every SubmitError match ErrClusterAPI.
func (e *SubmitError) Is(target error) bool { return target == ErrClusterAPI }

// Transient wraps err so that errors.Is(err, ErrTransient) holds, keeping
// the original reachable through errors.As.
func Transient(err error) error {
	if err == nil || errors.Is(err, ErrTransient) {
		return err
	}
	return &transientError{err}
}

type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() []error {
	return []error{e.err, ErrTransient}
}

func firstLines(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	lines := strings.Split(string(b), "\n")
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, " | ")
}

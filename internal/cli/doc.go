// Package cli implements the capi command. Each command follows the shape
// of the GitHub CLI: an options struct, a constructor that wires flags into
// it, and a run function that tests call without a terminal. One file per
// command: run, submit, array, status (and history), wait, watch, cancel,
// logs, script, config (show, check, paths), doctor, completion.
//
// Exit codes: 0 ok, 1 job failure, 2 usage or configuration error, 3
// scheduler error; `capi run` exits with the job's own exit code (130 when
// the job was killed). Errors are one line on stderr, "capi: ...".
//
// Decisions where the spec is silent:
//
//   - An unknown job id is a usage error (exit 2): the id was wrong, the
//     scheduler did not fail.
//   - wait, watch and array --wait share one outcome rule: 0 when every job
//     is done, 1 when any failed, else 130 when any was killed. Ctrl-C in
//     wait and watch stops waiting (130) and leaves the jobs running; in
//     array --wait (as in run) it cancels the array.
//   - status refreshes the jobs it shows that have not ended with one poll
//     of the scheduler (whoever recorded them may have stopped polling); a
//     failed poll shows the last known state with a warning.
//   - Commands that follow jobs submitted elsewhere poll every
//     poll_interval on grid schedulers and every 250 ms on the local
//     executor (its spool is cheap to read).
//   - Progress and live views redraw only when stdout is a terminal; in
//     pipes and logs they print plain lines (array --wait at most one per
//     second, watch one per change), never escape codes.
//   - The local executor starts a job's elements from the submitting
//     process. submit and array (without --wait) exit at once, so when
//     they leave elements pending they start a detached `capi
//     local-dispatch ID` (hidden command) that polls the spool until the job
//     has ended; jobs thus run to the end after the user logged out. The
//     local executor starts a job within Submit when a slot is free, so
//     a dispatcher is left only for jobs that really wait for slots.
//   - doctor probes each scheduler's version and accounting command with a
//     timeout (--timeout, 5 s); accounting counts as usable when the
//     command answers without saying it is disabled or cannot open its
//     file.
package cli

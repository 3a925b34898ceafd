// Package cli implements the capi command. Each command follows the shape
// of the GitHub CLI: an options struct, a constructor that wires flags into
// it, and a run function that tests call without a terminal. One file per
// command: run, submit, array, status (and history), wait, watch, cancel,
// logs, script, config (show, check, paths), doctor, version, completion;
// the terminal (term.go), tables (table.go, format.go), progress
// (progress.go), messages (log.go, usage.go) have files of their own.
//
// Exit codes: 0 ok, 1 job failure, 2 usage or configuration error, 3
// scheduler error, 130 interrupted; `capi run` exits with the job's own
// exit code (130 when the job was killed). Errors are one line on stderr,
// "capi: ...", and so are warnings, "capi: warning: ...".
//
// Decisions where the spec is silent:
//
//   - An unknown job id is a usage error (exit 2): the id was wrong, the
//     scheduler did not fail. When the job store knows the id under another
//     executor, the message names it ("it was submitted with --executor
//     sge"); the store is read directly for that, since the engine's
//     lookups keep to their own scheduler.
//   - wait, watch and array --wait share one outcome rule: 0 when every job
//     is done, 1 when any failed, else 130 when any was killed.
//   - An interrupt (SIGINT, Ctrl-C, or SIGTERM) exits 130 on every command,
//     whatever the jobs did: it overrides the outcome rule, so array --wait
//     interrupted after some elements failed exits 130, not 1. The first
//     interrupt cancels the context every command runs in (a scheduler
//     command in flight is stopped). Commands that wait listen themselves:
//     in wait, watch and logs --follow it stops waiting and the jobs keep
//     running; in run and array --wait it cancels the job (the report
//     counts the killed elements) and a second one stops waiting.
//     Elsewhere a second interrupt ends capi at once (the default action).
//   - status refreshes the jobs it shows that have not ended with one poll
//     of the scheduler (whoever recorded them may have stopped polling); a
//     failed poll shows the last known state with a warning.
//   - Commands that follow jobs submitted elsewhere poll every
//     poll_interval on grid schedulers and every 250 ms on the local
//     executor (its spool is cheap to read).
//   - Progress and live views redraw only when stdout is a terminal; in
//     pipes and logs they print plain lines (array --wait at most one per
//     second, watch one per change), never escape codes.
//   - Live views fit the terminal: its size comes from the terminal
//     (x/term) and is read again on SIGWINCH. The progress bar is one line
//     redrawn in place (carriage return, text, erase to end of line) and is
//     kept three columns narrower than the window: a line as wide as the
//     window leaves the cursor waiting to wrap, and the "^C" the terminal
//     echoes would then wrap it and leave a copy behind. Its terms shorten
//     ("done 45" → "d:45"), then the bar goes, as the window narrows.
//     After a resize the cursor goes back to where the line started before
//     the terminal rewrapped it (tmux and most terminals reflow; on xterm,
//     which cuts lines instead, this erases the line above the bar).
//   - The bar and its first count are the elements that ran to the end
//     ('#' done, '!' failed); killed elements are counted apart and leave
//     the bar unfilled. Reports list failed and killed indices apart, as
//     ranges ("100-300").
//   - watch draws on the alternate screen, as less and top do: frames
//     overwrite each other from the top-left corner, so nothing reaches the
//     scrollback; the title and the column header stay on top, the rows
//     that fit follow (unfinished jobs first when they do not all fit) and
//     "+N more" the rest; a column never gets narrower during a watch. On
//     the way out the screen is restored and the final table printed.
//   - Tables are compact by default (ID, NAME, STATUS, EXIT, REASON, AGE,
//     ELAPSED) so that a few jobs with typical names fit 80 columns; an
//     array's status cell shows "12/300" elements ended in a width that
//     depends only on the array's size. On a terminal the default table is
//     fitted to the width: NAME is shortened (marked "~"), then AGE and
//     ELAPSED are left out; in pipes cells are whole. -o wide adds HOST,
//     MAX_MEM and the full times, and is printed whole, like custom
//     columns: the user asked for those cells (less -S scrolls them); live
//     views are always fitted. -o json is --json; -o
//     custom-columns=HEADER:.path reads the JSON record (a bare name picks a
//     built-in column); --format runs a Go template on each JSON record, so
//     both use the field names scripts already know from --json.
//   - Colour marks failed (red), killed (yellow) and timed-out (red)
//     jobs, on a terminal only; NO_COLOR, TERM=dumb or --color never turn
//     it off, --color always forces it.
//   - --json is honoured or refused, never ignored: run prints the job's
//     record when it has ended (and streams no logs); watch, logs, script
//     and completion refuse it with a usage error saying what to use.
//   - Usage errors are capi's own sentences, exit 2: a missing or unknown
//     subcommand ("capi config chekc" suggests "check"), a missing job id,
//     an unknown flag (with the closest flags, or the command that has it,
//     or, for commands that run a program, that its flags go after --).
//   - capi version and capi --version read the module version, commit and
//     Go version from the build information; nothing to bump by hand.
//   - Shell completion offers job ids from the job store (unfinished ones
//     for wait, watch and cancel), described by name and status, without
//     asking the scheduler; and executors, profiles, statuses, output
//     formats and colour modes.
//   - --work-dir must exist and so must the directories of --stdout and
//     --stderr (exit 2 naming the path): a typo in --work-dir was created
//     silently, and a missing log directory let submit succeed and the job
//     fail on the node. --mkdir creates them. Directories holding a
//     scheduler placeholder (%J, $JOB_ID, {job_id}) are left to the
//     scheduler.
//   - Cancelling a job that already ended is not an error (exit 0), but
//     capi says on stderr that nothing was cancelled and how it ended.
//   - The local executor starts a job's elements from the submitting
//     process. submit and array (without --wait) exit at once, so when
//     they leave elements pending they start a detached `capi
//     local-dispatch` (hidden command) that adopts and starts the spool's
//     waiting jobs until nothing waits or runs; jobs thus run to the end
//     after the user logged out. The
//     local executor starts a job within Submit when a slot is free, so
//     a dispatcher is left only for jobs that really wait for slots. There
//     is at most one per spool: its role is a lock the submitter takes and
//     hands to it, and a submitter that finds the role taken leaves nothing.
//   - doctor probes each scheduler's version and accounting command with a
//     timeout (--timeout, 5 s); accounting counts as usable when the
//     command answers without saying it is disabled or cannot open its
//     file.
package cli

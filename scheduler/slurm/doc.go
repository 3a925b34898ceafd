// Package slurm runs capi jobs on SLURM with sbatch, squeue, sacct and
// scancel. It is thin: it renders #SBATCH directives, builds argv and parses
// output; the engine does the tracking. Every command goes through the
// injected scheduler.Runner. What follows was checked on SLURM 22.05.8
// (Debian 12) with the cluster of scripts/slurm-up.sh; the recorded outputs
// are in testdata/.
//
// # Directives
//
// Directives come in a fixed order: --job-name, --output, --error,
// --partition, --account, --cpus-per-task, --gpus, --mem, --time, --chdir,
// --array. Resources that are not set write nothing.
//
//   - Memory is written as --mem=<MiB>M, in whole mebibytes rounded up (so
//     a job never gets less than it asked for: 1.5 KB becomes 1M). --mem is
//     per node; capi jobs are single-node, so it is the job's memory.
//   - The walltime is written as --time=D-HH:MM:SS. SLURM rounds it up to
//     whole minutes: a 5 s limit kills the job after about 62 s.
//   - Arrays are --array=FIRST-LAST[%MAX].
//
// String values are written in double quotes. How sbatch reads an #SBATCH
// value was found by submitting scripts and reading back the job
// (scontrol show job, and the files slurmstepd created):
//
//   - An unquoted value ends at the first blank, and an unquoted '#' starts
//     a comment: --output=/tmp/a b/x.log is rejected ("Invalid directive"),
//     --output=/tmp/h#ash.log writes /tmp/h.
//   - Double and single quotes group; the other kind of quote is literal
//     inside them: "/tmp/it's.log" and '/tmp/q"x.log' both work.
//   - A backslash takes the next character literally, inside quotes too:
//     "/tmp/q\"uote.log" gives /tmp/q"uote.log.
//   - '$' and backquotes are not expanded.
//   - A line break cannot be represented: it ends the directive. Values with
//     line breaks (or NUL bytes) are a *scheduler.ValueError.
//
// Log paths are read a second time by slurmstepd when it opens the files:
// %j, %A, %a and friends are expanded (%% is a literal '%'), and a
// backslash anywhere in the path turns all expansion off and is itself
// removed ("/tmp/bs\x%j.log" creates "/tmp/bsx%j.log"). A log path with a
// backslash is therefore written with each backslash doubled when it has no
// '%', and refused with a *scheduler.ValueError when it has one. The
// --chdir value is not expanded by slurmstepd. A '%' that is part of a
// directory name in a log path would be read as a placeholder; the engine
// builds log paths from the work directory, so such a directory gives
// surprising log names.
//
// # Submit
//
// sbatch --parsable [extra args] SCRIPT. The id is the last non-empty line
// of its output, with a ";cluster" suffix removed (printed with --clusters
// or in a federation); "Submitted batch job N" is accepted too, with or
// without "sbatch: " in front. A non-zero exit is a
// *scheduler.SubmitError holding sbatch's words; it also wraps
// scheduler.ErrTransient when sbatch says the controller was unreachable or
// busy (timed out, "Unable to contact slurm controller", "Resource
// temporarily unavailable", connection refused, ...). With the controller
// down, sbatch gives up after about 9 s.
//
// # Poll
//
// One command, whatever the number of jobs:
//
//	squeue --states=all --user=USER -O ArrayJobID:|,ArrayTaskID:|,State:|,Reason:|,exit_code:|,SubmitTime:|,StartTime:|,EndTime:|,NodeList:|,Name:
//
// --states=all keeps finished jobs listed until MinJobAge (300 s by
// default; in practice a few seconds more) so that their outcome is seen.
// -j is never used: it fails as a whole when one id has been purged. Jobs
// are filtered by name prefix here, because squeue --name only takes exact
// names. The name comes last because only it can contain '|'.
//
// There is no --noheader: squeue's header line,
// "ARRAY_JOB_ID|ARRAY_TASK_ID|STATE|REASON|EXIT_CODE|SUBMIT_TIME|START_TIME|END_TIME|NODELIST|NAME",
// which capi can predict because it chose the fields, marks where squeue's
// own output starts. Sites wrap squeue in scripts that print lines of their
// own around it (gc3pie met "Site-specific preamble here." before the rows
// and "Additional info." after them). Lines before the header, and lines
// after it that cannot be rows (too few columns, or no job id in the
// first), are skipped and logged at debug level. A header without rows is
// an empty queue; output without the header fails the poll, with an error
// that quotes what was printed. A line that is a row but cannot be read (no
// state, an array range capi does not understand) fails the poll too:
// dropping it would make the engine believe the job vanished.
//
// -O is used rather than -o because its exit_code field carries the raw
// wait status of finished jobs (768 = exit 3, 9 = SIGKILL, 15 = SIGTERM),
// which -o cannot show; "ExitCode" is not a valid -O field in 22.05, but
// "exit_code" is. If a squeue rejects the -O fields ("Invalid job format
// specification"), the scheduler falls back once and for all to the same
// columns through -o "%F|%K|%T|%r|%V|%S|%e|%N|%j", without exit codes; the
// exit-status file written by the job script then supplies them.
//
// Arrays: ArrayJobID (%F) is the array's id for every element, and
// ArrayTaskID (%K) the element's index. A record for elements that have
// not started shows them as a set, "1-6%2" or "1-2,4-5%1" (after an
// element was cancelled while pending it is missing from the set and from
// sacct); it is expanded into one observation per element. %i would show
// "37_4", and %A the element's own job id, which is not the array's.
//
// squeue prints the expected start and end of jobs that have not started or
// ended; only real times are reported. Times are in the local time zone;
// squeue and sacct run with SLURM_TIME_FORMAT=standard, because a user's
// setting (e.g. "relative", which prints "23:35:20") would hide the date.
//
// # Accounting
//
// Account runs sacct --parsable2 --jobs=ID,... --format=JobID,
// State,ExitCode,Reason,Submit,Start,End,NodeList,MaxRSS,JobName (ids in
// chunks of 500). Its header line, "JobID|State|ExitCode|Reason|Submit|
// Start|End|NodeList|MaxRSS|JobName", is the mark of sacct's output as in
// a poll, and other lines around the rows are skipped the same way. Step
// lines are not observations. A job's (or array element's) MaxMem is the
// largest MaxRSS of the job line and all its steps: .batch, .extern and
// the numbered srun steps, because a job whose work runs in srun steps
// peaks there, not in its batch shell. Steps that ran at the same time are
// not summed (sacct does not say which overlapped), so for a job with
// concurrent steps MaxMem is the largest single step, less than the job's
// real peak. A step shows MaxRSS only when a sample was taken. The ".batch"
// line also lends the job, when the job line shows 0:0, the signal that
// ended it (0:15 for a cancel or time limit). sacct -j for an unknown id prints only the header and
// exits 0.
// When the first sacct says "Slurm accounting storage is disabled" (or is
// not installed) that is remembered, and Account returns nothing at once
// from then on; other failures are errors and are retried next time. For
// about a second after a job starts or ends, slurmdbd may show it with the
// name "allocation" and a stale state (PENDING for a running job); that name
// is dropped.
//
// # States
//
//	PENDING, CONFIGURING, REQUEUED, REQUEUE_HOLD,
//	REQUEUE_FED, RESV_DEL_HOLD, SPECIAL_EXIT        pending
//	RUNNING, COMPLETING, SUSPENDED, STOPPED,
//	RESIZING, SIGNALING, STAGE_OUT                  running
//	COMPLETED                                       done, exit 0
//	FAILED                                          failed, see below
//	CANCELLED [by UID]                              killed, cancelled
//	TIMEOUT, DEADLINE                               failed, timeout
//	OUT_OF_MEMORY                                   failed, out_of_memory
//	NODE_FAIL                                       failed, node_failure
//	BOOT_FAIL                                       failed, scheduler
//	PREEMPTED                                       failed, preempted
//	REVOKED (federation: runs on another cluster)   unknown
//	anything else                                   unknown
//
// SLURM's state, its reason and the exit status go into Detail ("FAILED
// (NonZeroExitCode), exit 3", "CANCELLED by 0, killed by signal 15
// (SIGTERM)"). ExitCode is "code:signal" in sacct and a wait status in
// squeue. FAILED is refined by how the job ended:
//
//   - exit code N > 0: reason exit_code, exit N.
//   - signal 9 (0:9; squeue reason JobLaunchFailure): the batch shell itself
//     was SIGKILLed. Cancels and time limits have their own states, and the
//     kernel's OOM killer usually picks the big program, not the shell (which
//     then exits 137). Without cgroups this is exactly what SLURM's memory
//     enforcement (OverMemoryKill) produces, so it is reported as
//     out_of_memory with exit 137; a job that SIGKILLs its own shell looks
//     the same, which Detail says.
//   - another signal N: reason exit_code, exit 128+N, as a shell reports it.
//   - a launch failure, e.g. a log directory that does not exist: squeue
//     shows JobLaunchFailure with exit_code 4021 (SLURM's error number, not a
//     wait status) and sacct 0:53. Reported as reason scheduler, without an
//     exit code, with a hint in Detail.
//   - no exit information (the -o fallback): NonZeroExitCode gives reason
//     exit_code without a code; JobLaunchFailure gives reason scheduler.
//
// # Cancel
//
// scancel ID... and ID_INDEX for elements (500 per command). scancel exits
// 0 for unknown and finished ids, so cancelling an ended job is not an
// error. SLURM has no "cancel as done"; the engine records such jobs itself.
package slurm

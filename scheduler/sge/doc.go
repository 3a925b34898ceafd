// Package sge drives Grid Engine (Son of Grid Engine, and the SGE/OGS/UGE
// family that shares its command line) through qsub, qstat, qacct and qdel.
//
// It is tested against Son of Grid Engine 8.1.9 from Debian 12; the recorded
// outputs in testdata/ say which command produced them. scripts/sge-up.sh
// starts a single-node cluster for the integration tests
// (go test -tags integration ./scheduler/sge/).
//
// # Script directives
//
// Directives writes, in this order: -N name, -S /bin/bash, -V, -wd DIR (or
// -cwd), -j y when stdout and stderr are one file, -o/-e, -q, -A,
// -pe smp N, -l h_vmem=, -l h_rt=, -l gpu=, -t a-b and -tc N.
//
//   - -S /bin/bash: in Grid Engine's default shell_start_mode
//     (posix_compliant) the queue's shell runs the script whatever its #!
//     line, and that shell is csh unless the site changed it. capi's scripts
//     are bash.
//   - -V: LSF and SLURM give a job the submitting environment by default,
//     Grid Engine only with -V; capi asks for it so that a job sees the same
//     environment on every scheduler (turn it off with
//     directives_skip: ["-V"]). Exported bash functions are not passed on.
//   - cpus > 1 become "-pe smp N". The parallel environment must put all
//     slots on one host (allocation_rule $pe_slots). Sites that call it
//     something else set Scheduler.ParallelEnv, or skip the line with
//     directives_skip and write their own with extra_directives.
//   - memory is the job's total; Grid Engine's h_vmem is per slot, so capi
//     writes memory / cpus, rounded up, in K, M or G (all 1024-based); a job
//     with -pe smp 2 and h_vmem=512M runs with a 1 GiB limit (ulimit -v
//     1048576, checked on the test cluster). h_vmem
//     limits virtual memory; a site that schedules on another resource
//     (mem_free, m_mem_free) sets Scheduler.MemoryResource.
//   - walltime becomes h_rt=HH:MM:SS. Grid Engine enforces it a few seconds
//     late and accounts the job as "failed 37" (see Accounting).
//   - gpus become "-l gpu=N": Grid Engine has no built-in GPU resource, and
//     gpu is the common name of the site-defined consumable
//     (Scheduler.GPUResource). A site without it refuses the job at submit
//     time ("unknown resource"); it is never dropped silently.
//   - arrays: Grid Engine task ids start at 1, so a range starting at 0 is
//     refused. Each task sees $SGE_TASK_ID; log paths use $TASK_ID, which is
//     "undefined" outside arrays.
//   - job names cannot start with a digit (qsub refuses them); capi says so
//     at script time instead of failing at submit.
//
// # Quoting in #$ lines
//
// Found by submitting held jobs and reading back "qstat -j" (SoGE 8.1.9):
//
//   - qsub removes every ' and " from a #$ line, wherever they are, and has
//     no escape for them; a double-quoted value keeps its blanks.
//   - '#' starts a comment, even inside quotes: "a#b" reads as "a".
//   - '\' and '$' are kept literally. Grid Engine later expands its own
//     pseudo variables ($HOME, $USER, $JOB_ID, $JOB_NAME, $HOSTNAME,
//     $TASK_ID, matched as prefixes: "$HOMEx" is $HOME then "x"; "${HOME}"
//     is left alone) in -o/-e paths and in the working directory, from -wd
//     and -cwd alike; there is no way to escape them. In log paths they are
//     a feature (capi's own $JOB_ID/$TASK_ID); a work directory containing
//     one is a *scheduler.ValueError. No shell ever reads a #$ line, so
//     nothing else can be injected.
//   - -o/-e take a list "[[host]:]path,...": ',' separates paths and the part
//     before a ':' is a host name. A leading ':' (empty host) keeps colons in
//     the path; commas cannot be written.
//   - the same characters on qsub's command line are taken verbatim.
//
// So values go into #$ lines bare or in double quotes, and a value with
// ', ", '#', a newline (or ',' in a log path) is a *scheduler.ValueError.
// Two rules keep awkward work directories usable: log paths inside the work
// directory are written relative to it (qsub resolves them against the job's
// working directory), and a work directory that a #$ line cannot carry is
// replaced by -cwd while Submit runs qsub inside it.
//
// # Submit
//
// "qsub -terse [extra args] SCRIPT" in the work directory. The id is the
// number in "571" or "573.1-4:1" (arrays), or in "Your job 570 (...)" /
// "Your job-array 572.1-4:1 (...)" when a site wrapper drops -terse. A
// refusal is a *scheduler.SubmitError with qsub's message; failures to talk
// to the qmaster (commlib errors, "unable to contact/send message to
// qmaster", time-outs) are also scheduler.ErrTransient. qsub -sync y is not
// used: it fails on this Grid Engine ("Error reading answer list from
// qmaster").
//
// # Poll and states
//
// One "qstat -xml -u USER" per poll ("-u *" for all users); the name prefix
// is matched on JB_name here. Running array tasks come one entry per task;
// pending ones as ranges ("1-3:1", "3,4", "5-9:2"), which are expanded into
// one observation per task. Times are the local times qstat prints.
//
// The XML document is the mark of qstat's own output: it starts at the
// line beginning with "<?xml" (or "<job_info") and ends with the root
// element. Sites wrap qstat in scripts that print lines of their own; the
// lines before and after the document are skipped, whatever they hold, and
// logged at debug level. A document without jobs is an empty queue; output
// without a document fails the poll, with an error quoting what qstat
// printed, and so does a document that is malformed or cut short.
//
// A state is a set of letters (sge_status(5)):
//
//	qw, hqw, hRwq, Rq          pending ("h": on hold)
//	r, t, Rr, Rt               running ("t": starting)
//	s, S, T, ts, tS, RS, ...   running (suspended, see Detail)
//	E (Eqw, Ehqw, ...)         pending, reason "scheduler"
//	d (dr, dt, dqw, ...)       as without d, reason "cancelled"
//	z                          left out (finished; qacct tells the end)
//	other letters              unknown
//
// Eqw deserves a word: Grid Engine keeps the job, runs nothing, and waits
// for a person to fix the cause and clear it (qmod -cj) or delete it. capi
// does not call that terminal, because the job may still run, but marks it
// with reason "scheduler" and a Detail that says what to run, so status
// output shows it plainly.
//
// # Accounting
//
// Account runs "qacct -j ID" for each id (qacct takes one id per call, and
// a non-numeric argument would be read as a job name pattern), at most 8 per
// Account call, rotating through the ids, because each call reads the whole
// accounting file. "error: job id N not found" means absent: Grid Engine
// writes no record for a job deleted while pending, and a record appears
// ~0.1 s after the job ends with scripts/sge-up.sh's flush settings (up to a
// minute with the defaults). Arrays give one block per task. Mapping of
// failed and exit_status:
//
//	failed 0, exit 0       done
//	failed 0, exit N       failed, reason exit_code, exit code N
//	failed 100, exit 137   killed, reason cancelled
//	failed 100, exit N     failed, reason exit_code, exit code N (a signal)
//	failed 37              failed, reason timeout or out_of_memory
//	failed 25              unknown (rescheduled; a later record decides)
//	other failed codes     failed, reason scheduler (setup failures: 26
//	                       output file, 27 shell, 28 working directory, ...)
//
// "failed 100 : assumedly after job" with 137 means the job's shell died of
// SIGKILL. That is what qdel does to a running job; it is also what an
// admin's kill -9 of the shell looks like, which capi cannot tell apart, so
// Detail says both. A program killed by the kernel's OOM killer does not
// look like this: the shell survives and exits 137 (failed 0, reason
// exit_code). "failed 37" is Grid Engine enforcing h_rt, h_cpu or h_vmem;
// the job's category line tells which limits it asked for, and a run time
// that reached its h_rt means timeout, otherwise an h_vmem request means
// out_of_memory (h_vmem set as an rlimit usually makes the program fail on
// its own first, with failed 0).
//
// Grid Engine reuses job ids after 9,999,999. A record of an older job with
// the same id would be reported for it, so observations carry the job name
// (jobname) for the engine to compare; when several records share an id
// and task, the last one in the accounting file wins.
//
// # Submission tokens
//
// Observations carry no Token: Grid Engine could keep one in the job context
// (qsub -ac), but qstat -xml does not list it, and asking qstat -j per job
// would break the one-command-per-poll rule. Jobs are recognised by their
// unique names instead.
//
// # Cancel
//
// "qdel ID ID.N ..." (ID.N is one array task), up to 200 arguments per call.
// qdel exits 1 when any job is unknown; "does not exist" answers are jobs
// that ended already and are not errors.
//
// # Which binaries
//
// Debian's /usr/bin/q* are a shell wrapper that spends ~65 ms per call
// finding SGE_ROOT, SGE_CELL and the architecture before it runs the real
// binary in /usr/lib/gridengine (~7 ms). New looks once: when qstat on PATH
// is that wrapper, the four binaries exist and SGE_ROOT/SGE_CELL (from the
// environment, /etc/default/gridengine, or Debian's defaults) name a cell
// with an act_qmaster file, capi calls the binaries directly with
// SGE_ROOT and SGE_CELL set. In every other case it runs qsub, qstat, qacct
// and qdel from PATH.
package sge

// Package lsf drives IBM Spectrum LSF through its commands: bsub (submit,
// script on standard input), bjobs (one JSON poll per interval), bhist
// (accounting for jobs that left bjobs after CLEAN_PERIOD) and bkill.
//
// It keeps the seed's (py-cluster-api) directive list and corrects it where
// real LSF differs; the facts and their sources are in
// reference/scheduler-formats.md and in the testdata/ fixtures:
//
//   - bsub output is scanned line by line for "Job <N> is submitted"; LSF
//     prints noise such as "LSF is processing your request. Please wait ..."
//     before it. bsub exits 255 for every error: "... Job not submitted." is
//     a refusal (permanent), while 255 without output, "Please wait",
//     "Cannot connect to LSF" or "Request from non-LSF host rejected" are
//     transient, so the engine may retry.
//   - bjobs is asked for "jobid jobindex" and element keys are built from
//     both (JOBID alone is the array's id unless LSB_BJOBS_DISPLAY_ENH=Y;
//     "123[4]" is accepted too). Its stdout is parsed even when it exits
//     non-zero, and "No unfinished job found" and friends arrive on stderr.
//   - bjobs' JSON document, the object whose first key is "COMMAND" with
//     the value "bjobs", is the mark of its own output. LSF prints "Please
//     wait" lines before it and site wrappers print lines of their own
//     around it; those lines are skipped and logged at debug level. Output
//     without the document is an empty queue when stderr only says that no
//     job matched, and a failed poll, quoting what bjobs printed, otherwise.
//   - Array slot limits go after the bracket: -J "name[1-50]%10".
//   - bkill -d is missing on LSF 10.1 without fix packs ("Illegal option --
//     d"); the scheduler notices once and falls back to plain bkill.
//
// # How #BSUB values are written
//
// bsub splits a #BSUB line into words at blanks and groups words inside a
// pair of double or single quotes; an unquoted '#' starts a comment. IBM
// does not document an escape character for these lines, so a value is
// written bare when it is made of safe characters only, in double quotes
// otherwise, and in single quotes when it holds a double quote or a '$' (so
// that nothing on the way can read it as a variable). A value that would need
// both kinds of quote, a backslash (whose meaning inside #BSUB quotes is not
// documented), or a control character is refused with a *scheduler.ValueError
// rather than written into a script that would run with the wrong paths.
//
// # States
//
//	PEND PROV PSUSP WAIT        pending (Detail carries PEND_REASON)
//	RUN USUSP SSUSP             running (suspended jobs have started)
//	DONE PDONE POST_DONE        done, exit code 0
//	EXIT + TERM_OWNER/ADMIN...  killed, reason cancelled
//	EXIT + TERM_RUNLIMIT        failed, reason timeout (also CPULIMIT, DEADLINE)
//	EXIT + TERM_MEMLIMIT        failed, reason out_of_memory (also SWAP)
//	EXIT + TERM_PREEMPT         failed, reason preempted
//	EXIT otherwise              failed, reason exit_code, with EXIT_CODE when shown
//	ZOMBI                       failed, reason node_failure
//	POST_ERR                    failed, reason scheduler (the site's post-exec failed)
//	UNKWN and anything else     unknown: not terminal, the engine keeps polling
//
// FINISH_TIME is only read for ended jobs: for a running job with a run
// limit it is the projected end. Times carry no year; the current one is
// assumed, or the one before when that would put them more than a day in
// the future. MAX_MEM is kept as LSF shows it ("5.2 Gbytes").
//
// # Accounting
//
// Jobs leave bjobs CLEAN_PERIOD seconds (default one hour) after they end.
// Account asks bhist -l for them, at most [MaxAccountIDs] ids per command,
// searching the current and the previous event log files (-n 2) so that a
// recent log switch does not hide a job while the cost of one lookup stays
// bounded. bhist is preferred to bacct because it also knows jobs that have
// not finished, and it prints the exit code and LSF's termination reason.
package lsf

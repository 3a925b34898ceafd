// Command fakelsf is a small, faithful stand-in for IBM Spectrum LSF's
// bsub, bjobs, bkill and bhist, for end-to-end tests on machines without
// LSF. It is one binary that acts by the name it is called under (link it
// as bsub, bjobs, bkill, bhist); fakelsftest builds and links it.
//
// It really runs jobs: bsub stores the script read from standard input,
// parses its #BSUB lines and starts a detached supervisor (this binary
// again, "fakelsf __run ID") that runs each job or array element in its own
// process group with LSB_JOBID and LSB_JOBINDEX set, honours the array slot
// limit (-J "name[1-10]%2") and the run limit (-W), and records exit codes. State lives in a JSON
// file in $FAKELSF_DIR guarded by flock, so concurrent commands are safe.
//
// What it prints follows reference/scheduler-formats.md (section 1): the
// bsub job line with its "default queue"/"queue" variants, bjobs -json with
// -o fields (every value a string, "\/" escaped, times like "Dec 28 19:56"),
// "No unfinished job found" and friends on stderr, bkill's per-job lines and
// "Illegal option -- d", bhist -l blocks hard-wrapped at 80 columns.
//
// Settings come from the environment, or from the file $FAKELSF_DIR/settings,
// whose KEY=VALUE lines override the environment and are read at every call
// (an empty value there means the default). The file is how a test starts
// and stops a fault while capi and the job supervisors keep the environment
// they started with; fakelsftest.Cluster.Set writes it.
//
// Environment:
//
//	FAKELSF_DIR            state directory (required)
//	FAKELSF_QUEUES         known queues, comma-separated (default "normal,short"; the first is the default queue)
//	FAKELSF_NOISE=1        bsub prints "LSF is processing your request. Please wait ..." lines first
//	FAKELSF_FAIL_NEXT_BSUB=N  the next N bsub calls (counted in the state dir) exit 255 silently without creating a job
//	FAKELSF_LOSE_NEXT_BSUB=N  the next N bsub calls create the job but print nothing and exit 255 (duplicate-safe retry tests)
//	FAKELSF_CLEAN_PERIOD   seconds a finished job stays visible to bjobs (default 3600, LSF's CLEAN_PERIOD); bhist keeps it
//	FAKELSF_NO_BKILL_D=1   bkill rejects -d like LSF 10.1.0 without fix packs
//	FAKELSF_KILL_GRACE     seconds between bkill's SIGINT+SIGTERM (or the run limit's SIGUSR2) and SIGKILL (default 1)
//	FAKELSF_CALL_LOG       a file each command appends its command line to (tests count calls with it)
//	FAKELSF_MINUTE         seconds in a -W run-limit minute (default 60): at the limit the job gets SIGUSR2, then SIGKILL
//
// Faults (seconds may have fractions, or be a range MIN-MAX drawn from at
// random at every call):
//
//	FAKELSF_DOWN=all|CMD,...     the named commands (bsub, bjobs, bkill, bhist; all or 1: every one) fail as when
//	                             mbatchd is down: "LSF is down. Please wait ..." on stderr, exit 255, nothing done
//	FAKELSF_BJOBS_HANG=SECONDS   bjobs sleeps this long before it reads the state and answers
//	FAKELSF_BJOBS_SLOW=SECONDS   bjobs sleeps this long after it read the state, before it answers (a late answer)
//	FAKELSF_BHIST_HANG=SECONDS   bhist sleeps this long before it reads the state and answers
//	FAKELSF_BJOBS_TRUNCATE=BYTES bjobs prints only the first BYTES bytes of its standard output, exit status unchanged
//	FAKELSF_BSUB_DELAY=SECONDS   bsub waits this long before it creates the job (mbatchd busy)
//	FAKELSF_BSUB_REPLY_DELAY=SECONDS  bsub waits this long after it created and started the job, before it answers
//	FAKELSF_PEND=SECONDS         every job pends this long before it starts (a busy queue)
package main

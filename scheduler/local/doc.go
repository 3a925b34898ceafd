// Package local is a small real scheduler on this machine.
//
// Jobs run detached from the submitting process (their own session and
// process group), so they outlive it. Their state lives in a spool directory
// under the state dir, which any process can read:
//
//	{state_dir}/local/
//	  journal            the events of every job, one JSON line each (see
//	                     journal.go): submit, start, end, cancel, and the
//	                     submitters' environments; compacted (compact.go)
//	  journal.lock       flocked while appending or compacting
//	  journal.tokens     which submission became which job, for the jobs
//	                     compaction dropped
//	  dispatcher         flocked by the one dispatcher of the spool
//	  owners/{id}        flocked by each live Scheduler instance
//	  scripts/           job scripts ({name}.{n}.sh, written by the engine),
//	                     and each element's run file next to its script
//	                     ({name}.{n}.{id}[.{index}].exit)
//	  timeouts/{id}.{el} made by the walltime watchdog
//	  jobs.v1/           the layout before the journal, once imported (v1.go)
//
// {el} is "job" for a single job and the index for array elements. The
// work directory gets only the job's logs (stdout.{id}.log and
// stderr.{id}.log unless overridden): the Scheduler is a
// scheduler.ScriptPlacer, so the engine writes scripts to the spool.
//
// An element's run file is made and flocked by the dispatcher just before
// the element starts, and inherited by the element's processes: liveness is
// that lock, not a pid, so "running" means "some process of the job is
// alive", immune to pid reuse. The script's exit trap writes its exit
// status into the same file, so an element costs one file of its own
// besides its logs. An element whose processes ended while nobody was there
// to reap them (its dispatcher died) is settled by the next process that
// reads the spool, from that exit status.
//
// One process at a time holds the spool's dispatcher role (dispatcher.go)
// and starts the waiting elements of every process's jobs, first in, first
// out (job id, then array index); a job that does not fit the free slots
// lets later, smaller ones start. The cpu-slot limit (local_slots, default
// the number of CPUs) and the GPU-slot limit (local_gpus, default the
// number of /dev/nvidia[0-9]* devices) hold across every process, because
// every start is an event in the journal that all of them read. Other
// processes follow the journal four times a second and tell their
// subscribers of the starts and ends of their jobs at once.
//
// Limits mean what they mean on a cluster:
//
//   - A job asking for more cpus or GPUs than there are slots, or for a
//     queue (there are none), is refused: a queue meant for a cluster that
//     silently meant nothing here would hide a mistake.
//   - GPUs are slots numbered 0 to local_gpus-1. Each running element holds
//     the ones it asked for and sees them in CUDA_VISIBLE_DEVICES ("0,1");
//     when local_gpus is above zero, a job that asked for none sees it set
//     and empty. local_gpus may exceed the devices found (to share them, or
//     to test).
//   - An element with a walltime or a memory limit starts through a small
//     launcher shell (see launcher) that applies the memory limit before
//     anything of the job runs and keeps a watchdog in the job's process
//     group. The watchdog enforces the walltime without any capi process:
//     within two seconds after it, it records the timeout in the spool,
//     sends SIGTERM to the job's process group, and SIGKILL after KillGrace
//     if the job is still running. The element ends failed, reason timeout,
//     whatever its exit status.
//   - Memory: see memory.go for the mechanisms (a cgroup v2 or v1 of the
//     element's own where capi may make one, else RLIMIT_AS, else none on
//     macOS) and how each tells a job that ran out of memory.
package local

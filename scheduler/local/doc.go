// Package local is a small real scheduler on this machine.
//
// Jobs run detached from the submitting process (their own session and
// process group), so they outlive it. Their state lives in a spool directory
// under the state dir, which any process can read:
//
//	{state_dir}/local/
//	  lock               flock: id allocation and dispatch
//	  owners/{pid}       flocked by each live capi process for its lifetime
//	  waiting/{id}       a job with elements nobody started yet: the queue,
//	                     served oldest first by every process
//	  dispatcher         flocked by the one detached dispatcher (capi local-dispatch)
//	  running/{id}.{el}  one entry per running element (its cpu count and
//	                     GPU indices, "2 0,1"): the slot table
//	  scripts/           job scripts ({name}.{n}.sh, written by the engine)
//	                     and the exit files their traps write next to them
//	  jobs/{id}/job.json the submission; the exclusive mkdir of jobs/{id} allocates the id
//	  jobs/{id}/{el}.run pid of a started element, flocked by the job's own processes
//	  jobs/{id}/{el}.end how it ended (written by the process that waited for it)
//	  jobs/{id}/{el}.cancel   cancel marker
//	  jobs/{id}/{el}.timeout  the element was stopped at its walltime
//	  jobs/{id}/{el}.mem      how its memory limit was applied
//
// {el} is "job" for a single job and the index for array elements. The
// work directory gets only the job's logs (stdout.{id}.log and
// stderr.{id}.log unless overridden): the Scheduler is a
// scheduler.ScriptPlacer, so the engine writes scripts to the spool.
//
// Liveness is a lock, not a pid: a started element holds the lock on its
// .run file through an inherited descriptor, so "running" means "some
// process of the job is alive", immune to pid reuse. A process that submits
// jobs owns their dispatch; when it dies, the next process that polls the
// spool (or dispatches, and finds it waiting) adopts the jobs it left
// pending. Jobs start first in, first out across every process: a process
// does not start a job while an older waiting job, of any process, could
// start in the free slots. The cpu-slot limit (local_slots,
// default the number of CPUs) and the GPU-slot limit (local_gpus, default
// the number of /dev/nvidia[0-9]* devices) hold across every process using
// the spool.
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

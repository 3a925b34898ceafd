// Package local is a small real scheduler on this machine.
//
// Jobs run detached from the submitting process (their own session and
// process group), so they outlive it. Their state lives in a spool directory
// under the state dir, which any process can read:
//
//	{state_dir}/local/
//	  lock               flock: id allocation and dispatch
//	  owners/{pid}       flocked by each live capi process for its lifetime
//	  running/{id}.{el}  one entry per running element (its cpu count): the slot table
//	  jobs/{id}/job.json the submission; the exclusive mkdir of jobs/{id} allocates the id
//	  jobs/{id}/{el}.run pid of a started element, flocked by the job's own processes
//	  jobs/{id}/{el}.end how it ended (written by the process that waited for it)
//	  jobs/{id}/{el}.cancel  cancel marker
//
// {el} is "job" for a single job and the index for array elements.
//
// Liveness is a lock, not a pid: a started element holds the lock on its
// .run file through an inherited descriptor, so "running" means "some
// process of the job is alive", immune to pid reuse. A process that submits
// jobs owns their dispatch; when it dies, the next process that polls the
// spool adopts the jobs it left pending. The cpu-slot limit (local_slots,
// default the number of CPUs) holds across every process using the spool.
package local

// Package clusterapi submits batch jobs to IBM LSF, SLURM, Grid Engine or
// the local machine and follows them to the end, the same way on each.
//
// It is the library behind the capi command, for services that launch
// work on a cluster and react when it ends. Import only this package: the
// value types shared with the scheduler packages ([Status], [Reason],
// [Resources], [Bytes], [Array]) are re-exported here.
//
// # Shape
//
// An [Executor] is the engine. [New] makes one for the scheduler named in a
// [Config] (usually from [LoadConfig], which reads the same
// cluster_api.yaml as the capi command; the zero Config runs jobs on this
// machine). [Executor.Submit] and [Executor.SubmitArray] take a [JobSpec]
// and return a [*Job], a handle that is safe for concurrent use:
// [Job.Snapshot] returns a [Record] (a copy), [Job.Done] a channel closed
// when the job has ended, [Job.Wait] blocks until then, and
// [Job.OnSuccess], [Job.OnFailure] and [Job.OnExit] register callbacks
// that fire exactly once, even when registered after the end.
//
// On a grid scheduler someone must ask it how the jobs are doing: a
// [Monitor] polls every poll_interval with one status command for all the
// jobs ([NewMonitor], then Start and Stop). The local executor learns of a
// job's end as soon as its process exits.
//
// Jobs are recorded in a job store (SQLite, under state_dir) before the
// scheduler is asked, so another process (a restarted service, capi status
// in a shell) sees the same jobs: [Executor.Get] and [Executor.List] read
// it, and [Executor.Reconnect] finds this application's jobs again by
// job_name_prefix. [Config].InMemory keeps jobs in memory only.
//
// Processes that share a state dir and a grid scheduler share one status
// command per interval: the one holding the poll lease in the store polls
// for all, the others read what it recorded (README, "One status query").
//
// # Status
//
// A [Record] says what the job is ([Status]: pending, running, done, failed,
// killed, unknown) and, once it has ended, why ([Reason]: its own exit
// code, a cancel, the walltime, memory, a node failure, ...), with the
// scheduler's own words in Detail. Arrays carry per-element states and
// counts in [Record].Array.
//
// # Inside the engine
//
// Observations come from several sources, ranked: the scheduler's own
// record (its queue, then its accounting) > capi's record of a cancel it
// made > the exit file every job script writes > "vanished" (no source knew
// the job for zombie_timeout). A job's state is one value (state.go: the
// job's and each element's phase, one shape) with one function that
// applies an observation and says what changed (jobState.apply; arrays are
// rolled up from their elements by jobState.rollUp). An array is held as
// its range: only elements some source reported have a state of their
// own. Every observation goes through Executor.applyAll (poll.go), whatever
// its source: a poll, a notification, what another process recorded, or
// the engine's own decision (a cancel, a vanish, turned into observations
// by decideLocked). The change goes to the store's writer and, when the
// job has ended, to its waiters and callbacks (commitLocked). A final
// status is replaced only by a stronger source, in memory and in the store
// (internal/store enforces it). Every poll is Executor.poll: this process
// runs the status command, or reads what the poll-lease holder recorded
// (sharedpoll.go). The writer (writer.go) owns its goroutine and writes
// changes in batches; a failed write is put back under newer changes, and
// Close bounds the last write and reports a failure.
//
// # Errors
//
// Every error matches [ErrClusterAPI] with errors.Is; [*SubmitError],
// [*CommandError], [*CommandTimeoutError], [*ValueError] and [*ConfigError]
// are reached with errors.As and keep what the scheduler said or where in
// the configuration file the problem is. Operations a scheduler cannot do
// return an error wrapping errors.ErrUnsupported.
package clusterapi

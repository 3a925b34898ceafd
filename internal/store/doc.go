// Package store is capi's durable job store: every submission with its
// command, resources, metadata, array range and paths, every job's current
// state and an append-only log of its state changes, in one SQLite file in
// capi's state directory (jobs.db). It is what lets a restarted engine
// restore full records, lets `capi status` in another shell see the same
// jobs, and makes a crash at any instant lose no submitted job.
//
// # Concurrency
//
// Several processes (a service and a few capi commands) open the file at
// once. The database runs in WAL mode, so readers never wait for writers;
// writers queue on a flock of jobs.db.lock (woken as soon as the holder
// commits, so a busy service cannot starve a capi command) and then take
// SQLite's write lock at BEGIN, with busy_timeout (5 s) as the fallback for
// other programs. Within a process, writes go through a single connection.
// WAL needs memory shared between the processes, so the state directory
// must be on a local file system, not NFS.
//
// # Durability
//
// Submission steps (BeginSubmit, CompleteSubmit, FailSubmit) are fsynced
// before they return: they survive a power loss. Two exceptions: the
// intent of a job that runs on this machine (Submission.OnThisMachine: a
// power cut ends the job too), and completions written in a batch with
// Apply, whose loss leaves the intent open for the next poll to settle
// from the scheduler. State updates (Apply, ApplyPoll, UpdateJob,
// UpdateElements) and MarkPurged survive a crash of the process but a
// power loss may undo the last of them; the next poll observes the same
// states again, and the next fsynced write makes them durable too.
//
// # Submissions
//
// The engine records an intent before it runs the scheduler's submit
// command (BeginSubmit), then the id (CompleteSubmit) or the refusal
// (FailSubmit). Intents left by a process that died in between are listed
// by PendingSubmits; the engine asks the scheduler for a job with the
// intent's unique name and adopts it or fails the intent.
//
// # Storage format
//
// Times are INTEGER nanoseconds since the Unix epoch (UTC), NULL when
// unknown; records come back in UTC. Resources and metadata are JSON. The
// schema version is PRAGMA user_version; Open migrates older files and
// refuses, without touching them, files of a newer capi and files that are
// not job stores. Nothing is ever deleted: purged jobs are only hidden.
package store

package store

import (
	"errors"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// Submitting is the status of a submission intent: BeginSubmit recorded it,
// but the scheduler has not (yet) confirmed a job id. It is not one of the
// portable statuses because no job exists for it as far as users can tell;
// List hides such rows unless they are asked for explicitly.
const Submitting scheduler.Status = "submitting"

// Errors callers can test with errors.Is. Each returned error wraps one of
// them and says, in its message, which database, job or token is involved.
var (
	// ErrNewerSchema: the database was written by a newer capi. It is left
	// untouched.
	ErrNewerSchema = errors.New("job store has a newer schema")
	// ErrNotDatabase: the file is not a capi job store (corrupt, truncated,
	// or some other file). It is left untouched.
	ErrNotDatabase = errors.New("not a capi job store")
	// ErrConflict: a submission is not in the state the call expects (for
	// example CompleteSubmit on a submission recorded as failed).
	ErrConflict = errors.New("job store conflict")
)

// ErrNotFound is scheduler.ErrNotFound, so that the engine can pass "no such
// job" through to its callers unchanged.
var ErrNotFound = scheduler.ErrNotFound

// Key identifies a job: the scheduler's name and the id it gave the job.
// Among jobs that are not superseded (see Record.Superseded) a key is
// unique.
type Key struct {
	Scheduler string
	JobID     string
}

func (k Key) String() string { return k.Scheduler + ":" + k.JobID }

// Submission is what BeginSubmit records before the scheduler is asked to run
// a job: everything needed to restore the full record after a restart.
type Submission struct {
	// Token identifies the submission until the scheduler gives it an id.
	// Empty means the store makes a random one; a token given here must be
	// unique in the store.
	Token     string
	Scheduler string
	// Name is the job's final name. The engine makes it unique so that,
	// after a crash, it can ask the scheduler whether the job was created.
	Name      string
	Command   string
	Resources scheduler.Resources
	// Metadata is the user's map; an empty map is stored (and returned) as
	// nil.
	Metadata   map[string]string
	Array      *scheduler.Array // nil for a single job
	ScriptPath string
	StdoutPath string
	StderrPath string
	WorkDir    string
	// SubmitTime is when the submission started; zero means now.
	SubmitTime time.Time
	// OnThisMachine says the job will run on this machine (the local
	// executor): the intent is then not fsynced, because a power cut
	// that could undo it ends the job as well.
	OnThisMachine bool
}

// Source says where a state came from. Sources are ranked: a final state
// (done, failed, killed) is replaced only by a stronger source, in the
// engine and in the store, so that a process that knows less never writes
// over what another process learnt.
type Source int8

// The sources, weakest first.
const (
	// SourceNone: not a final state, or not known.
	SourceNone Source = iota
	// SourceVanished: the engine gave up on a job no source knew.
	SourceVanished
	// SourceExitFile: the exit-status file the job's script wrote.
	SourceExitFile
	// SourceCancel: capi's own record of a cancel it made.
	SourceCancel
	// SourceScheduler: the scheduler's own record (queue or accounting).
	SourceScheduler
)

// Replaces reports whether a state of status st from source n may replace
// a stored state of status old from source was:
//   - a state that is not final is replaced by anything;
//   - a final state only by a final state: never by one that is not (a
//     process whose poll started before the job ended must not move it
//     back; capi does not follow requeues), and only by a stronger source,
//     or by the scheduler again (its accounting completes its queue's word);
//   - except that the scheduler's record of a cancel (killed, cancelled)
//     leaves capi's own record of that cancel, which may say done (cancel
//     as done).
func Replaces(was Source, old scheduler.Status, n Source, st scheduler.Status, reason scheduler.Reason) bool {
	switch {
	case !old.Terminal():
		return true
	case !st.Terminal():
		return false
	case n == SourceScheduler && was == SourceScheduler:
		return true
	case n == SourceScheduler && was == SourceCancel:
		return reason != scheduler.ReasonCancelled
	default:
		return n > was
	}
}

// JobState is what the engine knows about a job at one moment.
//
// Status, Reason, Detail and ExitCode describe the current state together
// and replace the stored values as given, when Replaces allows. ExecHost, MaxMem, StartTime and FinishTime are merged: an empty
// string or a zero time means "this source does not know" and keeps what
// the store has, because the sources the engine combines (queue, accounting,
// exit-code file) each know only part of a job.
type JobState struct {
	Status     scheduler.Status
	Source     Source
	Reason     scheduler.Reason
	Detail     string
	ExitCode   *int
	ExecHost   string
	MaxMem     string
	StartTime  time.Time
	FinishTime time.Time
}

// ElementState is the state of one array element: the same shape as a
// job's, with the same replace and merge rules.
type ElementState struct {
	Index int
	JobState
}

// Change is one job's part of a poll: its own state, its elements' states,
// or both.
type Change struct {
	Key      Key
	Job      *JobState // nil leaves the job row as it is
	Elements []ElementState
}

// Record is a job as stored: a copy, safe to keep and modify.
type Record struct {
	Scheduler string
	// JobID is empty while the submission is pending and when it failed.
	JobID string
	Token string

	Name       string
	Command    string
	Resources  scheduler.Resources
	Metadata   map[string]string
	Array      *scheduler.Array
	ScriptPath string
	StdoutPath string
	StderrPath string
	WorkDir    string

	JobState
	SubmitTime time.Time
	// UpdatedAt is when the store last changed this row.
	UpdatedAt time.Time

	// Purged jobs are hidden from List unless Filter.IncludePurged; they
	// stay as history.
	Purged bool
	// Superseded is set when the scheduler later gave the same id to a new
	// job (LSF job ids wrap around, SLURM's restart after a database
	// reset). The old record stays as history but Get no longer finds it.
	Superseded bool

	// OwnerHost and OwnerPID name the process that called BeginSubmit, so
	// that a process looking at PendingSubmits can tell an intent whose
	// owner died from one that another live process is still submitting.
	OwnerHost string
	OwnerPID  int

	// Elements holds the array elements the store has seen, by index. Get
	// fills it; List only with Filter.WithElements. Elements the scheduler
	// never reported are absent (the engine counts them as pending).
	Elements []ElementState
}

// Key returns the record's key. It is meaningful only when JobID is set.
func (r *Record) Key() Key { return Key{Scheduler: r.Scheduler, JobID: r.JobID} }

// Event is one entry of a job's append-only state history.
type Event struct {
	// Index is the array element the event is about; nil for the job
	// itself.
	Index    *int
	Time     time.Time
	Status   scheduler.Status
	Reason   scheduler.Reason
	Detail   string
	ExitCode *int
}

// Filter selects jobs for List. The zero value lists every visible job.
type Filter struct {
	// Scheduler restricts to one scheduler's jobs.
	Scheduler string
	// Statuses restricts to these statuses. Submission intents (status
	// Submitting) are listed only when Submitting is among them.
	Statuses []scheduler.Status
	// Name is a pattern on the job name where '*' matches any run of
	// characters; every other character matches itself, case-sensitively.
	Name string
	// Since keeps jobs submitted at or after this time.
	Since time.Time
	// IncludePurged lists purged and superseded jobs too.
	IncludePurged bool
	// Limit keeps only the newest Limit jobs (still returned oldest
	// first); 0 means no limit.
	Limit int
	// WithElements fills Record.Elements for array jobs.
	WithElements bool
}

package scheduler

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Scheduler is what a batch system provides to the engine. Implementations
// are safe for concurrent use. They keep no job state of their own beyond
// what their batch system needs (the engine tracks jobs).
type Scheduler interface {
	// Name is the executor name used in configuration: "lsf", "slurm", ...
	Name() string

	// Dialect describes the script conventions of this scheduler.
	Dialect() Dialect

	// Directives returns the scheduler's directive lines for job, each
	// with its prefix ("#SBATCH --job-name=x"), in a stable order. It is
	// pure: no commands run. Values are quoted so that no path or name can
	// break out of its directive; a value that cannot be represented safely
	// is a *ValueError.
	Directives(job *Job) ([]string, error)

	// Submit hands the written script to the scheduler and returns the job
	// id. Failures that may go away when tried again wrap ErrTransient; a
	// refusal is a *SubmitError carrying the scheduler's message.
	Submit(ctx context.Context, job *Job) (id string, err error)

	// Poll lists what the live queue knows of the user's jobs (matching
	// q.Prefix when set) with a single scheduler command, whatever the
	// number of jobs. Array jobs are expanded into one observation per
	// element. Output that was printed is parsed even when the command
	// exits non-zero; an error means the poll as a whole failed and no
	// conclusion may be drawn from what is missing.
	Poll(ctx context.Context, q Query) ([]Observation, error)

	// Cancel stops jobs or single array elements. Cancelling a job that
	// already ended is not an error.
	Cancel(ctx context.Context, req CancelRequest) error
}

// Accountant is implemented by schedulers with an accounting source for jobs
// that left the live queue (sacct, qacct, bhist). Jobs it does not know are
// absent from the result; an error means the lookup failed as a whole.
type Accountant interface {
	Account(ctx context.Context, ids []string) ([]Observation, error)
}

// NameCanceler is implemented by schedulers that can cancel every job whose
// name matches a pattern in one command (LSF's bkill -J pattern 0). The
// pattern uses '*' as a wildcard.
type NameCanceler interface {
	CancelName(ctx context.Context, pattern string, asDone bool) error
}

// Notifier is implemented by schedulers that learn of state changes without
// polling (the local executor sees its own children exit). The engine
// subscribes once; fn must not block for long.
type Notifier interface {
	Subscribe(fn func(Observation))
}

// CapiOnly is implemented by schedulers whose every job was submitted
// through capi (the local executor's spool holds nothing else), so that a
// poll without a name prefix lists only capi's jobs and reconnecting needs
// no job_name_prefix.
type CapiOnly interface {
	CapiOnly()
}

// SubmissionIndex is implemented by schedulers that forget finished jobs
// but keep which submission became which job (the local executor, whose
// journal drops jobs an hour after they end): SubmittedAs returns the job
// id of each given submission token (Job.Token) it knows. An interrupted
// submission whose job the scheduler no longer lists is then adopted, not
// failed.
type SubmissionIndex interface {
	SubmittedAs(ctx context.Context, tokens []string) (map[string]string, error)
}

// OnThisMachine is implemented by schedulers whose jobs run on the machine
// of the process that submits them (the local executor): what protects a
// job record against a power cut (an fsync per submission) protects
// little there, since the cut ends the job too (a job still waiting in the
// spool may start after the reboot; the next poll then settles its intent
// from the spool's record).
type OnThisMachine interface {
	OnThisMachine()
}

// ScriptPlacer is implemented by schedulers that keep job scripts in a
// directory of their own instead of the job's work directory: the local
// executor keeps them (and the exit files written next to them) in its
// spool, so that the work directory gets only the logs. Grid schedulers
// do not implement it: their scripts and exit files must be on the file
// system the compute nodes share.
type ScriptPlacer interface {
	// ScriptDir is the directory the engine writes job scripts to.
	ScriptDir() string
}

// Closer is implemented by schedulers that own goroutines or files; the
// engine closes them when it closes.
type Closer interface {
	Close() error
}

// Dialect is the script side of a scheduler: directive prefix, environment
// variables set inside jobs, and placeholders understood in log paths.
type Dialect struct {
	// DirectivePrefix starts each directive line: "#BSUB", "#SBATCH", "#$".
	DirectivePrefix string
	// JobIDVar holds the job id inside a running non-array job.
	JobIDVar string
	// ArrayJobIDVar holds the id of the whole array inside an element
	// (SLURM_ARRAY_JOB_ID, which differs from SLURM_JOB_ID).
	ArrayJobIDVar string
	// ArrayIndexVar holds the element index inside an array element.
	ArrayIndexVar string
	// LogJobID and LogIndex are the placeholders the scheduler expands in
	// log paths: "%J"/"%I" (LSF), "%j"/"%a" (SLURM), "$JOB_ID"/"$TASK_ID"
	// (Grid Engine). LogArrayJobID is used instead of LogJobID in arrays
	// when the two differ ("%A" for SLURM).
	LogJobID, LogArrayJobID, LogIndex string
	// LimitSignals are the signals the scheduler sends a job's shell when
	// the job reaches a run-time limit, before it kills the job (LSF:
	// SIGUSR2 at the run limit, SIGXCPU at the CPU-time limit). An exit
	// file saying the job's shell caught one of them reads failed/timeout;
	// any other caught signal reads killed/cancelled, unless the job had
	// run for its whole walltime (SLURM sends SIGTERM both at the time
	// limit and for scancel).
	LimitSignals []syscall.Signal
}

// Job is one submission as the scheduler sees it: the engine has already
// merged configuration, resolved paths and written the script.
type Job struct {
	// Name is the final job name (prefix applied, sanitized).
	Name string
	// Command is the user's command line, for information only: the script
	// runs it.
	Command   string
	Resources Resources
	// Array is nil for a single job.
	Array *Array
	// ScriptPath is the job script on disk; Script is its content (for
	// schedulers that submit through standard input).
	ScriptPath string
	Script     []byte
	// StdoutPath and StderrPath are the log paths in the scheduler's own
	// placeholder syntax (see Dialect).
	StdoutPath, StderrPath string
	// ExtraArgs are the submit command-line arguments: config-level first,
	// then job-level.
	ExtraArgs []string
	// Token uniquely identifies this submission (empty without a job
	// store). A scheduler that can record it with the job reports it back
	// in Observation.Token, which lets the engine recognise, after a crash,
	// a job it submitted but never learned the id of.
	Token string
}

// Query selects the jobs a poll lists.
type Query struct {
	// Prefix, when not empty, restricts the poll to job names starting
	// with it ("myprefix-").
	Prefix string
	// AllUsers lists every user's jobs, not only the current user's.
	AllUsers bool
}

// Target names a whole job or a single array element.
type Target struct {
	ID      string
	Index   int
	InArray bool // Index is meaningful
}

// CancelRequest asks the scheduler to stop jobs.
type CancelRequest struct {
	Targets []Target
	// AsDone records the jobs as done rather than killed where the
	// scheduler supports it (LSF bkill -d). The engine records them done
	// either way.
	AsDone bool
}

// Observation is what one source (live queue, accounting, notifier) says
// about one job or one array element at one moment.
type Observation struct {
	ID      string // the job id ("123"); for an element, the array's id
	Index   int    // the element index, when InArray
	InArray bool
	Name    string

	Status Status
	Reason Reason
	// Detail is the scheduler's own words: a state name, an exit reason,
	// a pending reason ("TIMEOUT", "TERM_MEMLIMIT: job killed after
	// reaching LSF memory usage limit").
	Detail string

	ExitCode int
	HasExit  bool // ExitCode is known

	Host   string
	MaxMem string // as the scheduler shows it ("5.2 Gbytes", "219764K")

	SubmitTime, StartTime, FinishTime time.Time

	// Token is the submission token the job was submitted with, when the
	// scheduler records it (see Job.Token); "" when unknown.
	Token string `json:",omitempty"`
}

// Options configures a scheduler when the engine creates it. Each scheduler
// reads the fields it needs.
type Options struct {
	Runner Runner
	Logger *slog.Logger
	// StateDir is capi's state directory (the local executor keeps its spool
	// below it).
	StateDir string
	// LSFUnits is the unit of LSF memory limits: "KB", "MB", "GB", "TB".
	LSFUnits string
	// LSFExplicitUnits writes the unit into -M and rusage (needs LSF
	// 10.1.0.2 or later); the seed writes bare numbers.
	LSFExplicitUnits bool
	// SuppressJobEmail sets LSB_JOB_REPORT_MAIL=N on LSF.
	SuppressJobEmail bool
	// Slots is the local executor's number of cpu slots; 0 = number of CPUs.
	Slots int
	// GPUs is the local executor's number of GPU slots; 0 = the number of
	// /dev/nvidia[0-9]* devices.
	GPUs int
}

// LogPath expands a log path's job id placeholders (LogArrayJobID and
// LogJobID) to id unless it is empty, and its index placeholder to index
// unless it is negative:
// the one expansion of log paths, for the engine's records and for a
// scheduler that opens logs itself (local).
func (d Dialect) LogPath(p, id string, index int) string {
	for _, ph := range []string{d.LogArrayJobID, d.LogJobID} {
		if ph != "" && id != "" {
			p = strings.ReplaceAll(p, ph, id)
		}
	}
	if d.LogIndex != "" && index >= 0 {
		p = strings.ReplaceAll(p, d.LogIndex, strconv.Itoa(index))
	}
	return p
}

// Factory creates a scheduler.
type Factory func(Options) (Scheduler, error)

package slurm

import (
	"errors"
	"log/slog"
	"os"
	"os/user"
	"sync"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// Scheduler drives SLURM through sbatch, squeue, sacct and scancel.
type Scheduler struct {
	run  scheduler.Runner
	log  *slog.Logger
	user string // passed to squeue -u; "" means --me
	loc  *time.Location

	// layout is the squeue output layout in use; it falls back from the
	// -O layout (which has exit codes) to the -o one once, when squeue
	// says it does not know a field.
	mu     sync.Mutex
	layout *squeueLayout

	acct accounting
}

var (
	_ scheduler.Scheduler  = (*Scheduler)(nil)
	_ scheduler.Accountant = (*Scheduler)(nil)
)

// New returns a SLURM scheduler that runs every command through
// opts.Runner.
func New(opts scheduler.Options) (*Scheduler, error) {
	if opts.Runner == nil {
		return nil, errors.New("slurm: no command runner given (scheduler.Options.Runner is nil)")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{
		run:    opts.Runner,
		log:    log,
		user:   currentUser(),
		loc:    time.Local,
		layout: &layoutLong,
	}, nil
}

// currentUser names the user whose jobs a poll lists. $USER is only a
// fallback: it is easily stale under sudo or su.
func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

// Name implements scheduler.Scheduler.
func (s *Scheduler) Name() string { return "slurm" }

// Dialect implements scheduler.Scheduler.
func (s *Scheduler) Dialect() scheduler.Dialect { return dialect }

var dialect = scheduler.Dialect{
	DirectivePrefix: "#SBATCH",
	JobIDVar:        "SLURM_JOB_ID",
	// Inside an array element SLURM_JOB_ID is the element's own unique id;
	// the id capi tracks is the array's.
	ArrayJobIDVar: "SLURM_ARRAY_JOB_ID",
	ArrayIndexVar: "SLURM_ARRAY_TASK_ID",
	LogJobID:      "%j",
	LogArrayJobID: "%A",
	LogIndex:      "%a",
}

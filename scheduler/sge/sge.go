package sge

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"sync/atomic"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// Defaults of the site-dependent names the directives use.
const (
	DefaultParallelEnv    = "smp"
	DefaultMemoryResource = "h_vmem"
	DefaultGPUResource    = "gpu"
)

// Scheduler drives Grid Engine through qsub, qstat, qacct and qdel.
//
// The exported fields are site settings; change them right after New and
// before the first use.
type Scheduler struct {
	// ParallelEnv is the parallel environment that carries a request for
	// more than one cpu ("-pe smp 4"). It must allocate all slots on one
	// host ($pe_slots). Default "smp".
	ParallelEnv string
	// MemoryResource is the per-slot memory resource ("-l h_vmem=2G").
	// Sites that schedule on mem_free or m_mem_free set it here. Default
	// "h_vmem".
	MemoryResource string
	// GPUResource is the consumable that counts GPUs ("-l gpu=1"). Grid
	// Engine has no built-in one; default "gpu".
	GPUResource string

	// noAccounting is set once qacct turned out to be missing or without
	// an accounting file: accounting is then an absent source, not an
	// outage that stops zombie time forever.
	noAccounting atomic.Bool

	run  scheduler.Runner
	log  *slog.Logger
	cmds commands
	user string
	loc  *time.Location
	// next rotates which ids Account looks up first, so that ids without
	// any record cannot starve the others when there are more than
	// maxAccountLookups of them.
	next atomic.Uint64
}

var (
	_ scheduler.Scheduler  = (*Scheduler)(nil)
	_ scheduler.Accountant = (*Scheduler)(nil)
)

// New returns a Grid Engine scheduler that runs every command through
// opts.Runner. It looks once for Debian's client wrappers and, when it finds
// them, calls the client binaries directly (see the package documentation).
func New(opts scheduler.Options) (*Scheduler, error) {
	return newScheduler(opts, detectCommands(osProbe{}), currentUser())
}

func newScheduler(opts scheduler.Options, cmds commands, userName string) (*Scheduler, error) {
	if opts.Runner == nil {
		return nil, errors.New("sge: Options.Runner is nil; the engine must pass a command runner")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cmds.env != nil {
		log.Debug("sge: calling the Grid Engine binaries directly", "qstat", cmds.qstat, "env", cmds.env)
	}
	return &Scheduler{
		ParallelEnv:    DefaultParallelEnv,
		MemoryResource: DefaultMemoryResource,
		GPUResource:    DefaultGPUResource,
		run:            opts.Runner,
		log:            log,
		cmds:           cmds,
		user:           userName,
		loc:            time.Local,
	}, nil
}

// currentUser is the name qstat -u needs. An empty result makes Poll fail
// with an explanation rather than list someone else's jobs.
func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	for _, k := range []string{"USER", "LOGNAME"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return ""
}

// Name implements scheduler.Scheduler.
func (s *Scheduler) Name() string { return "sge" }

// Dialect implements scheduler.Scheduler. Grid Engine keeps the same JOB_ID
// in every task of an array, so the array id and the job id are one
// variable; log paths use qsub's own pseudo variables $JOB_ID and $TASK_ID.
func (s *Scheduler) Dialect() scheduler.Dialect {
	return scheduler.Dialect{
		DirectivePrefix: "#$",
		JobIDVar:        "JOB_ID",
		ArrayJobIDVar:   "JOB_ID",
		ArrayIndexVar:   "SGE_TASK_ID",
		LogJobID:        "$JOB_ID",
		LogArrayJobID:   "$JOB_ID",
		LogIndex:        "$TASK_ID",
	}
}

// command builds a Command for one of the client programs with the
// environment the direct binaries need.
func (s *Scheduler) command(prog string, args ...string) scheduler.Command {
	argv := make([]string, 0, len(args)+1)
	argv = append(argv, prog)
	argv = append(argv, args...)
	c := scheduler.Command{Argv: argv}
	if len(s.cmds.env) > 0 {
		c.Env = append([]string(nil), s.cmds.env...)
	}
	return c
}

// errContext adds what capi was doing to a runner error while keeping it
// reachable with errors.As / errors.Is.
func errContext(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sge: %s: %w", what, err)
}

package lsf

import (
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// Scheduler submits to, polls and cancels jobs on LSF. It is safe for
// concurrent use.
type Scheduler struct {
	run      scheduler.Runner
	log      *slog.Logger
	unitName string          // "KB", "MB", "GB", "TB"
	unit     scheduler.Bytes // size of one unitName
	explicit bool            // write the unit after memory amounts
	noMail   bool
	now      func() time.Time

	// noKillDone is set once bkill has answered "Illegal option -- d":
	// older LSF 10.1 has no -d, and asking again on every cancel would
	// double the number of bkill calls.
	noKillDone atomic.Bool
	// noAccounting is set once bhist turned out to be missing: most users
	// of a site cannot run it, and accounting is then an absent source (the
	// engine falls back to exit files and, after zombie_timeout, vanished),
	// not an outage that stops zombie time forever.
	noAccounting atomic.Bool
}

var (
	_ scheduler.Scheduler    = (*Scheduler)(nil)
	_ scheduler.Accountant   = (*Scheduler)(nil)
	_ scheduler.NameCanceler = (*Scheduler)(nil)
)

// New creates an LSF scheduler. opts.Runner runs every command;
// opts.LSFUnits (default "MB") is the site's LSF_UNIT_FOR_LIMITS.
func New(opts scheduler.Options) (*Scheduler, error) {
	if opts.Runner == nil {
		return nil, errors.New("lsf: no command runner given (scheduler.Options.Runner is nil)")
	}
	name, unit, err := parseUnits(opts.LSFUnits)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{
		run:      opts.Runner,
		log:      log,
		unitName: name,
		unit:     unit,
		explicit: opts.LSFExplicitUnits,
		noMail:   opts.SuppressJobEmail,
		now:      time.Now,
	}, nil
}

// parseUnits accepts the spellings LSF_UNIT_FOR_LIMITS takes in lsf.conf
// ("MB", "M", "mb") and returns the canonical one.
func parseUnits(s string) (string, scheduler.Bytes, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", "MB", "M":
		return "MB", scheduler.MB, nil
	case "KB", "K":
		return "KB", scheduler.KB, nil
	case "GB", "G":
		return "GB", scheduler.GB, nil
	case "TB", "T":
		return "TB", scheduler.TB, nil
	}
	return "", 0, &scheduler.ValueError{Kind: "lsf_units", Value: s,
		Hint: "use the site's LSF_UNIT_FOR_LIMITS from lsf.conf: KB, MB, GB or TB"}
}

// Name implements scheduler.Scheduler.
func (s *Scheduler) Name() string { return "lsf" }

// Dialect implements scheduler.Scheduler.
func (s *Scheduler) Dialect() scheduler.Dialect {
	return scheduler.Dialect{
		DirectivePrefix: "#BSUB",
		JobIDVar:        "LSB_JOBID",
		ArrayJobIDVar:   "LSB_JOBID",
		ArrayIndexVar:   "LSB_JOBINDEX",
		LogJobID:        "%J",
		LogArrayJobID:   "%J",
		LogIndex:        "%I",
		// scheduler-formats.md: -W sends SIGUSR2, then SIGKILL.
		LimitSignals: []syscall.Signal{syscall.SIGUSR2, syscall.SIGXCPU},
	}
}

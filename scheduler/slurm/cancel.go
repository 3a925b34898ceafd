package slurm

import (
	"context"
	"fmt"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// Cancel implements scheduler.Scheduler. scancel exits 0 for ids that are
// unknown or already finished, which is what the contract wants. SLURM has
// no "cancel as done"; the engine records such jobs done itself.
func (s *Scheduler) Cancel(ctx context.Context, req scheduler.CancelRequest) error {
	args := make([]string, 0, len(req.Targets))
	for _, t := range req.Targets {
		if !validJobID(t.ID) {
			return fmt.Errorf("slurm: cannot cancel %q: not a SLURM job id", t.ID)
		}
		if t.InArray {
			args = append(args, fmt.Sprintf("%s_%d", t.ID, t.Index))
		} else {
			args = append(args, t.ID)
		}
	}
	for chunk := range chunks(args, maxIDsPerCommand) {
		argv := append([]string{"scancel"}, chunk...)
		if _, err := s.run.Run(ctx, scheduler.Command{Argv: argv}); err != nil {
			return fmt.Errorf("slurm: cancel failed: %w", err)
		}
	}
	return nil
}

// maxIDsPerCommand keeps argv bounded when many jobs are cancelled or
// looked up at once.
const maxIDsPerCommand = 500

func chunks(s []string, n int) func(func([]string) bool) {
	return func(yield func([]string) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}

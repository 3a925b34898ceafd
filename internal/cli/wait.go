package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	capi "github.com/go-cluster-api/clusterapi"
)

type waitOptions struct {
	*globals
	quiet bool
}

func newWaitCmd(g *globals) *cobra.Command {
	o := &waitOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "wait ID...",
		Short: "Block until jobs end; exit 0 only if all are done",
		Long: `Block until every job given is terminal, printing one line per job as it ends
(the records as a JSON list with --json). The jobs may have been submitted by
any process sharing the state dir (capi submit in another shell, a service).

Exit status: 0 if every job is done, 1 if any failed, 130 if any was killed (or
capi was interrupted: the jobs keep running).`,
		Example: `  id=$(capi submit -- ./step1.sh) && capi wait "$id" && capi submit -- ./step2.sh
  capi wait 1234 1235 1236
  capi wait --json 1234 | jq '.[0].exit_code'`,
		Args:              jobIDs(false),
		Annotations:       jsonOK,
		ValidArgsFunction: g.completeJobs(true, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args)
		},
	}
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "print nothing; only the exit status tells")
	return cmd
}

func (o *waitOptions) run(ctx context.Context, ids []string) error {
	if ctx == nil {
		ctx = background()
	}
	s, err := o.openSession()
	if err != nil {
		return err
	}
	defer s.Close()
	jobs, err := s.getAll(ctx, ids)
	if err != nil {
		return err
	}
	stop := s.monitor(o.globals)
	defer stop()
	sigs, stopSignals := o.interrupts()
	defer stopSignals()

	recs := make([]capi.Record, len(jobs))
	ended := make([]bool, len(jobs))
	left := len(jobs)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		for i, j := range jobs {
			if ended[i] || !j.Snapshot().Terminal() {
				continue
			}
			<-j.Done()
			recs[i], ended[i] = j.Snapshot(), true
			left--
			if !o.json && !o.quiet {
				fmt.Fprintln(o.io.Out, summary(recs[i]))
			}
		}
		if left == 0 {
			break
		}
		select {
		case <-sigs:
			return &exitError{code: ExitKilled, err: fmt.Errorf("interrupted: stopped waiting for %d job(s); they keep running", left)}
		case <-tick.C:
		}
	}
	if o.json {
		if err := writeJSON(o.io.Out, recs); err != nil {
			return err
		}
	}
	if code := outcome(recs); code != ExitOK {
		return &exitError{code: code}
	}
	return nil
}

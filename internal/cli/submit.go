package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	capi "github.com/go-cluster-api/clusterapi"
)

type submitOptions struct {
	*globals
	res resourceFlags
}

func newSubmitCmd(g *globals) *cobra.Command {
	o := &submitOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "submit [flags] -- COMMAND [ARG...]",
		Short: "Submit one job and print its id",
		Long: `Submit one job and print its id (the whole record with --json), without waiting
for it. Follow it with capi status, capi wait, capi watch or capi logs, from
this or any other shell.`,
		Example: `  capi submit -- ./align.sh sample1
  id=$(capi submit --cpus 4 --memory "8 GB" --walltime 2:00 -- python train.py)
  capi wait "$id"
  capi submit --json --meta sample=S1 -- ./pipeline.sh | jq .job_id`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args)
		},
	}
	o.res.register(cmd.Flags())
	return cmd
}

func (o *submitOptions) run(ctx context.Context, argv []string) error {
	if ctx == nil {
		ctx = background()
	}
	spec, err := o.res.spec(argv)
	if err != nil {
		return err
	}
	ex, err := o.newExecutor()
	if err != nil {
		return err
	}
	defer ex.Close()
	job, err := ex.Submit(ctx, spec)
	if err != nil {
		return codeErr(err)
	}
	awaitStart(ex, job)
	o.leaveDispatcher(ex, job)
	return printSubmitted(o.globals, job.Snapshot())
}

func printSubmitted(g *globals, rec capi.Record) error {
	if g.json {
		return writeJSON(g.io.Out, rec)
	}
	_, err := fmt.Fprintln(g.io.Out, rec.ID)
	return err
}

// startGrace bounds how long submit waits for a local job to start.
const startGrace = 2 * time.Second

// awaitStart gives the local executor a moment to start a job before this
// process exits: a local job's dispatch belongs to the process that
// submitted it until another capi process adopts it, so a job still
// pending when submit exits waits for the next capi command to run it.
func awaitStart(ex *capi.Executor, job *capi.Job) {
	if ex.Name() != "local" {
		return
	}
	deadline := time.Now().Add(startGrace)
	for time.Now().Before(deadline) {
		if job.Snapshot().Status != capi.Pending {
			return
		}
		select {
		case <-job.Done():
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

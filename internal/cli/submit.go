package cli

import (
	"context"
	"fmt"

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
this or any other shell.

--work-dir and the directories of --stdout and --stderr must exist (--mkdir
creates them): a job whose log directory is missing would fail on the node.`,
		Example: `  capi submit -- ./align.sh sample1
  id=$(capi submit --cpus 4 --memory "8 GB" --walltime 2:00 -- python train.py)
  capi wait "$id"
  capi submit --json --meta sample=S1 -- ./pipeline.sh | jq .job_id`,
		Args:        cobra.ArbitraryArgs,
		Annotations: jsonOK,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args)
		},
	}
	o.res.register(cmd.Flags(), true)
	return cmd
}

func (o *submitOptions) run(ctx context.Context, argv []string) error {
	if ctx == nil {
		ctx = background()
	}
	spec, err := o.res.submission(argv)
	if err != nil {
		return err
	}
	ex, err := o.newExecutor()
	if err != nil {
		return err
	}
	defer o.closeExecutor(ex)
	job, err := ex.Submit(ctx, spec)
	if err != nil {
		return codeErr(err)
	}
	return printSubmitted(o.globals, job.Snapshot())
}

func printSubmitted(g *globals, rec capi.Record) error {
	if g.json {
		return writeJSON(g.io.Out, rec)
	}
	_, err := fmt.Fprintln(g.io.Out, rec.ID)
	return err
}

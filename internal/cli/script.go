package cli

import (
	"github.com/spf13/cobra"

	capi "github.com/go-cluster-api/clusterapi"
)

type scriptOptions struct {
	*globals
	res           resourceFlags
	rng           string
	maxConcurrent int
}

func newScriptCmd(g *globals) *cobra.Command {
	o := &scriptOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "script [flags] -- COMMAND [ARG...]",
		Short: "Print the job script that would be submitted, without submitting",
		Long: `Print the exact job script capi would write and submit for this command with the
current configuration (directives, prologue, command, epilogue). Nothing is
written or submitted. With --range, the script of an array job.`,
		Example: `  capi script -- echo hello
  capi --executor slurm script --cpus 4 --memory "8 GB" --walltime 04:00 -- ./align.sh
  capi --profile big script --range 1-10 --max-concurrent 2 -- ./task.sh`,
		Args:        cobra.ArbitraryArgs,
		Annotations: noJSON("the job script is printed as it is"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(args)
		},
	}
	o.res.register(cmd.Flags(), false)
	cmd.Flags().StringVar(&o.rng, "range", "", "render an array job with indices FIRST-LAST")
	cmd.Flags().IntVar(&o.maxConcurrent, "max-concurrent", 0, "array elements running at once (with --range)")
	return cmd
}

func (o *scriptOptions) run(argv []string) error {
	spec, err := o.res.spec(argv)
	if err != nil {
		return err
	}
	var arr *capi.Array
	if o.rng != "" {
		a, err := parseRange(o.rng)
		if err != nil {
			return err
		}
		if o.maxConcurrent < 0 {
			return usageErr("--max-concurrent must be 0 (no limit) or positive")
		}
		a.MaxConcurrent = o.maxConcurrent
		arr = &a
	} else if o.maxConcurrent != 0 {
		return usageErr("--max-concurrent needs --range")
	}
	ex, err := o.newExecutor()
	if err != nil {
		return err
	}
	defer o.closeExecutor(ex)
	content, err := ex.Script(spec, arr)
	if err != nil {
		return codeErr(err)
	}
	_, err = o.io.Out.Write(content)
	return err
}

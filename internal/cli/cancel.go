package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	capi "github.com/go-cluster-api/clusterapi"
)

type cancelOptions struct {
	*globals
	name   string
	all    bool
	asDone bool
	index  int
}

func newCancelCmd(g *globals) *cobra.Command {
	o := &cancelOptions{globals: g, index: -1}
	cmd := &cobra.Command{
		Use:   "cancel ID... | --name PATTERN | --all",
		Short: "Cancel jobs by id, by name pattern, or all unfinished ones",
		Long: `Cancel jobs. Running jobs are stopped (the local executor sends SIGTERM to the
whole process tree, then SIGKILL after 5 s); pending ones never start. The jobs
are recorded killed, or done with --done. Cancelling a job that already ended
is not an error: capi says that nothing was cancelled, and exits 0.

--name matches the full job name (job_name_prefix included) with '*' as a
wildcard; --all cancels every unfinished job capi knows.`,
		Example: `  capi cancel 1234
  capi cancel 1234 --index 7
  capi cancel --name 'myapp-align*'
  capi cancel --all --done`,
		Args:              cobra.ArbitraryArgs,
		Annotations:       jsonOK,
		ValidArgsFunction: g.completeJobs(true, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.name, "name", "", "cancel jobs whose name matches this pattern ('*' wildcard)")
	f.BoolVar(&o.all, "all", false, "cancel every unfinished job")
	f.BoolVar(&o.asDone, "done", false, "record the jobs as done instead of killed")
	f.IntVar(&o.index, "index", -1, "cancel only this element of an array job (one ID)")
	return cmd
}

func (o *cancelOptions) run(ctx context.Context, ids []string) error {
	if ctx == nil {
		ctx = background()
	}
	modes := 0
	for _, on := range []bool{len(ids) > 0, o.name != "", o.all} {
		if on {
			modes++
		}
	}
	if modes != 1 {
		return usageErr("give job ids, --name PATTERN or --all (exactly one of them)")
	}
	if o.index >= 0 && len(ids) != 1 {
		return usageErr("--index needs exactly one job id")
	}
	s, err := o.openSession()
	if err != nil {
		return err
	}
	defer s.Close()
	var cancelled []*capi.Job
	var already []capi.Record // named by id, but ended before
	switch {
	case o.name != "":
		if err := s.reconnect(ctx); err != nil && !errors.Is(err, capi.ErrNoPrefix) {
			return codeErr(err)
		}
		if cancelled, err = s.ex.CancelByName(ctx, o.name, &capi.CancelOptions{AsDone: o.asDone}); err != nil {
			return codeErr(err)
		}
	case o.all:
		if err := s.reconnect(ctx); err != nil && !errors.Is(err, capi.ErrNoPrefix) {
			return codeErr(err)
		}
		if cancelled, err = s.ex.CancelAll(ctx, &capi.CancelOptions{AsDone: o.asDone}); err != nil {
			return codeErr(err)
		}
	default:
		opts := &capi.CancelOptions{AsDone: o.asDone}
		if o.index >= 0 {
			opts.Index = &o.index
		}
		for _, id := range ids {
			j, err := s.get(ctx, id)
			if err != nil {
				return err
			}
			if ended(j.Snapshot(), opts.Index) {
				already = append(already, j.Snapshot())
				continue
			}
			if err := s.ex.Cancel(ctx, id, opts); err != nil {
				if errors.Is(err, capi.ErrNotFound) {
					return &exitError{code: ExitUsage, err: fmt.Errorf("cancel %s: %w", id, err)}
				}
				return codeErr(fmt.Errorf("cancel %s: %w", id, err))
			}
			cancelled = append(cancelled, j)
		}
	}
	recs := make([]capi.Record, len(cancelled))
	for i, j := range cancelled {
		recs[i] = j.Snapshot()
	}
	if o.json {
		return writeJSON(o.io.Out, recordList(append(recs, already...)))
	}
	for _, r := range already {
		what, how := describe(r), endedHow(r.Status, r.ExitCode, r.Reason)
		if o.index >= 0 && r.Array != nil {
			what = fmt.Sprintf("element %d of job %s (%s)", o.index, r.ID, r.Name)
			for _, el := range r.Array.Elements {
				if el.Index == o.index {
					how = endedHow(el.Status, el.ExitCode, el.Reason)
				}
			}
		}
		fmt.Fprintf(o.io.ErrOut, "capi: %s had already ended (%s); nothing was cancelled\n", what, how)
	}
	if len(recs) == 0 && len(already) == 0 {
		fmt.Fprintln(o.io.ErrOut, "capi: no unfinished jobs matched; nothing was cancelled")
	}
	for _, r := range recs {
		fmt.Fprintln(o.io.Out, summary(r))
	}
	return nil
}

// endedHow says how a job ended: "done, exit 0", "killed (cancelled)".
func endedHow(st capi.Status, exit *int, reason capi.Reason) string {
	s := string(st)
	if exit != nil {
		s += fmt.Sprintf(", exit %d", *exit)
	}
	if reason != "" && reason != capi.ReasonExitCode {
		s += fmt.Sprintf(" (%s)", reason)
	}
	return s
}

// ended reports whether the job, or its element index, has ended already.
func ended(r capi.Record, index *int) bool {
	if index != nil && r.Array != nil {
		for _, el := range r.Array.Elements {
			if el.Index == *index {
				return el.Status.Terminal()
			}
		}
		return false
	}
	return r.Terminal()
}

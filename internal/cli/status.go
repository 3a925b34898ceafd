package cli

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	capi "github.com/go-cluster-api/clusterapi"
)

// filterFlags select jobs by status, name and age.
type filterFlags struct {
	statuses []string
	name     string
	since    string
	limit    int
}

func (f *filterFlags) register(cmd *cobra.Command, withLimit bool) {
	fl := cmd.Flags()
	fl.StringSliceVar(&f.statuses, "status", nil, "only jobs with these statuses: pending, running, done, failed, killed, unknown (repeatable or comma-separated)")
	cmd.RegisterFlagCompletionFunc("status", completeStatuses)
	fl.StringVar(&f.name, "name", "", "only jobs whose name matches this pattern ('*' matches anything; the prefix is part of the name)")
	fl.StringVar(&f.since, "since", "", `only jobs submitted since: a duration ("2h", "3d") or a date ("2026-01-31", RFC 3339)`)
	if withLimit {
		fl.IntVar(&f.limit, "limit", 0, "only the newest N jobs (0 = all)")
	}
}

var allStatuses = []capi.Status{capi.Pending, capi.Running, capi.Done, capi.Failed, capi.Killed, capi.Unknown}

func (f *filterFlags) filter(now time.Time) (listFilter, error) {
	var lf listFilter
	for _, s := range f.statuses {
		st := capi.Status(strings.ToLower(strings.TrimSpace(s)))
		if !slices.Contains(allStatuses, st) {
			return lf, usageErr("--status %q: use pending, running, done, failed, killed or unknown", s)
		}
		lf.statuses = append(lf.statuses, st)
	}
	lf.name = f.name
	if f.since != "" {
		t, err := parseSince(f.since, now)
		if err != nil {
			return lf, err
		}
		lf.since = t
	}
	if f.limit < 0 {
		return lf, usageErr("--limit must not be negative")
	}
	lf.limit = f.limit
	return lf, nil
}

// parseSince reads a duration back from now ("90m", "2h", "3d") or a
// date/time ("2026-01-31", "2026-01-31T10:00:00Z", "2026-01-31 10:00").
func parseSince(s string, now time.Time) (time.Time, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if d, err := time.ParseDuration(n + "h"); err == nil && d >= 0 {
			return now.Add(-24 * d), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usageErr(`--since %q: give a duration ("2h", "3d") or a date ("2026-01-31", "2026-01-31T10:00:00Z")`, s)
}

type statusOptions struct {
	*globals
	filter    filterFlags
	out       outputFlags
	reconnect bool
	history   bool
}

func newStatusCmd(g *globals) *cobra.Command {
	o := &statusOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "status [ID...]",
		Short: "Show jobs: status, exit code, reason, age and run time",
		Long: `Show jobs as a table: id, name, status (for an array, how many of its elements
have ended: "running  12/300"), exit code, reason, age (since submitted) and
elapsed run time. On a terminal the table fits its width. -o wide adds the
host, peak memory and full submit, start and finish times; -o json (or --json)
prints a JSON list; -o custom-columns=HEADER:.path,... picks fields of the JSON
record; --format runs a Go template on each record.

Without ids: the jobs in the job store that are not purged; with --reconnect,
also the jobs the scheduler knows under job_name_prefix. Jobs submitted from
any shell or service sharing the state dir are shown.`,
		Example: `  capi status
  capi status 1234 1235 -o wide
  capi status --status failed --since 2h
  capi status --name 'myapp-align*' --json | jq '.[] | {job_id, status, reason}'
  capi status -o custom-columns=ID:.job_id,CPUS:.resources.cpus,HOST:.exec_host
  capi status --status failed --format '{{.job_id}}' | xargs -n1 capi logs
  capi --executor lsf --set job_name_prefix=myapp status --reconnect`,
		Args:              cobra.ArbitraryArgs,
		Annotations:       jsonOK,
		ValidArgsFunction: g.completeJobs(false, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), args)
		},
	}
	o.filter.register(cmd, false)
	o.out.register(cmd)
	cmd.Flags().BoolVar(&o.reconnect, "reconnect", false, "also ask the scheduler for jobs under job_name_prefix")
	return cmd
}

func newHistoryCmd(g *globals) *cobra.Command {
	o := &statusOptions{globals: g, history: true}
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List past jobs from the job store, purged ones included",
		Long: `List the jobs in the job store, oldest first, including the finished jobs that
status no longer shows (purged). Filter by status, name and age. The output
flags are those of capi status.`,
		Example: `  capi history --since 7d
  capi history --status failed --limit 20 -o wide
  capi history --name 'myapp-*' --json`,
		Args:        noArgs,
		Annotations: jsonOK,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context(), nil)
		},
	}
	o.filter.register(cmd, true)
	o.out.register(cmd)
	return cmd
}

func (o *statusOptions) run(ctx context.Context, ids []string) error {
	if ctx == nil {
		ctx = background()
	}
	lf, err := o.filter.filter(time.Now())
	if err != nil {
		return err
	}
	print, err := o.out.printer(o.globals)
	if err != nil {
		return err
	}
	lf.includePurged = o.history
	s, err := o.openSession()
	if err != nil {
		return err
	}
	defer s.Close()
	var recs []capi.Record
	if len(ids) > 0 {
		jobs, err := s.getAll(ctx, ids)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			recs = append(recs, j.Snapshot())
		}
		recs = s.fresh(ctx, o.globals, recs)
		recs = slices.DeleteFunc(recs, func(r capi.Record) bool { return !matches(r, lf) })
	} else {
		if o.reconnect {
			if err := s.reconnect(ctx); err != nil {
				return codeErr(err)
			}
		}
		if recs, err = s.list(ctx, lf); err != nil {
			return codeErr(err)
		}
		recs = s.fresh(ctx, o.globals, recs)
		// A refreshed job may no longer match a status filter. Jobs that
		// ended longer than completed_retention ago count as purged even
		// when no engine got round to marking them.
		now := time.Now()
		recs = slices.DeleteFunc(recs, func(r capi.Record) bool {
			return (!o.history && s.ex.Expired(r, now)) || !matches(r, lf)
		})
	}
	return print(recs)
}

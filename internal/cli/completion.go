package cli

import (
	"context"
	"slices"
	"time"

	"github.com/spf13/cobra"

	capi "github.com/go-cluster-api/clusterapi"
)

// addCompletionCmd adds cobra's completion command, with capi's examples,
// and completes what capi knows beyond commands and flags: job ids from
// the job store, executors, profiles, statuses and output formats.
func addCompletionCmd(g *globals, root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Example = `  source <(capi completion bash)
  capi completion zsh > "${fpath[1]}/_capi"
  capi completion fish > ~/.config/fish/completions/capi.fish`
		c.Annotations = noJSON("completion is a shell script")
		for _, s := range c.Commands() {
			s.Annotations = noJSON("completion is a shell script")
		}
	}
	root.RegisterFlagCompletionFunc("executor", fixedCompletions(capi.ExecutorNames()...))
	root.RegisterFlagCompletionFunc("profile", g.completeProfiles)
	root.RegisterFlagCompletionFunc("color", fixedCompletions("auto", "always", "never"))
}

func fixedCompletions(words ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return words, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeProfiles lists the profiles of the config file in use.
func (g *globals) completeProfiles(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	g.quiet = true
	q := *g
	q.profile = ""
	_, info, err := q.loadConfig(false)
	if err != nil || info.File == "" {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return profileNames(info.File), cobra.ShellCompDirectiveNoFileComp
}

// completionLimit bounds how many job ids are offered: the newest, which
// are the ones people type.
const completionLimit = 500

// completeJobs offers the ids of jobs in the job store, described by name
// and status; unfinished limits them to jobs that have not ended (wait,
// watch, cancel), one stops after the first argument (logs). The store is
// read as it is: completion must answer at once, so no scheduler is asked.
func (g *globals) completeJobs(unfinished, one bool) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if one && len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		g.quiet = true
		ex, err := g.newExecutor()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer g.closeExecutor(ex)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		f := capi.ListFilter{Limit: completionLimit}
		if unfinished {
			f.Statuses = []capi.Status{capi.Pending, capi.Running, capi.Unknown}
		}
		recs, err := ex.List(ctx, f)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, r := range slices.Backward(recs) {
			// A submission a killed capi left has no id yet.
			if r.ID != "" && !slices.Contains(args, r.ID) {
				out = append(out, cobra.CompletionWithDesc(r.ID, orDash(r.Name)+" "+statusCell(r)))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
	}
}

// completeStatuses completes --status.
func completeStatuses(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	out := make([]cobra.Completion, len(allStatuses))
	for i, s := range allStatuses {
		out[i] = string(s)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

package cli

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/go-cluster-api/clusterapi/internal/suggest"
)

// Usage errors in capi's words. Cobra's own ("accepts 1 arg(s), received
// 0", a help page and exit 0 for "capi config chekc") leak its vocabulary
// and let a typo pass in a CI script; every one of these is a single
// "capi:" line with what to type instead, and exit 2.

// cmdName is how a message names the command: "wait", "config check"; the
// "capi: " every message starts with names capi itself.
func cmdName(c *cobra.Command) string {
	if !c.HasParent() {
		return "capi"
	}
	return strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ")
}

// seeHelp ends a usage message.
func seeHelp(c *cobra.Command) string {
	return fmt.Sprintf("see '%s --help'", c.CommandPath())
}

// noArgs refuses arguments for a command that takes none.
func noArgs(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if c.HasSubCommands() {
		return unknownSubcommand(c, args[0])
	}
	return usageErr("%s takes no arguments, got %q (%s)", cmdName(c), strings.Join(args, " "), seeHelp(c))
}

// jobIDs wants at least one job id (or exactly one with one set).
func jobIDs(exactlyOne bool) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return usageErr("%s: missing job id (%s; 'capi status' lists them)", cmdName(c), usageLine(c))
		case exactlyOne && len(args) > 1:
			return usageErr("%s takes one job id, got %d (%s; %s)", cmdName(c), len(args), strings.Join(args, " "), usageLine(c))
		}
		return nil
	}
}

// usageLine is the command's synopsis, "capi logs ID".
func usageLine(c *cobra.Command) string {
	return strings.TrimSuffix(c.UseLine(), " [flags]")
}

// groupArgs is the argument check of a command that only holds
// subcommands (config, completion): its own name alone, or followed by a
// word that is not a subcommand, is a usage error.
func groupArgs(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return usageErr("%s: missing command: one of %s (%s)", cmdName(c), strings.Join(subcommandNames(c), ", "), seeHelp(c))
	}
	return unknownSubcommand(c, args[0])
}

func unknownSubcommand(c *cobra.Command, word string) error {
	msg := fmt.Sprintf("%s: unknown command %q", cmdName(c), word)
	if !c.HasParent() {
		msg = fmt.Sprintf("unknown command %q", word)
	}
	if s := c.SuggestionsFor(word); len(s) > 0 {
		return usageErr("%s; did you mean %s?", msg, quoteOr(s))
	}
	if !c.HasParent() {
		// "capi echo hi", "capi ./task.sh": a program to run, perhaps.
		return usageErr("%s (to run a program: capi run -- %s ...; %s)", msg, word, seeHelp(c))
	}
	return usageErr("%s: choose one of %s (%s)", msg, strings.Join(subcommandNames(c), ", "), seeHelp(c))
}

func subcommandNames(c *cobra.Command) []string {
	var names []string
	for _, s := range c.Commands() {
		if s.IsAvailableCommand() {
			names = append(names, s.Name())
		}
	}
	return names
}

// quoteOr lists suggestions: "status", or "status" or "stats".
func quoteOr(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, " or ")
}

// pflag's messages, to be rephrased.
var (
	reUnknownFlag  = regexp.MustCompile(`^unknown flag: --(\S+)`)
	reUnknownShort = regexp.MustCompile(`^unknown shorthand flag: '(.)' in (\S+)`)
	reNeedsArg     = regexp.MustCompile(`^flag needs an argument: (?:'(.)' in -\S+|--(\S+))`)
	reInvalid      = regexp.MustCompile(`^invalid argument "(.*)" for "(?:-., )?--(\S+)" flag: (.*)$`)
)

// flagError rephrases a flag parsing error and suggests the flag the user
// probably meant.
func flagError(c *cobra.Command, err error) error {
	msg := err.Error()
	if m := reUnknownFlag.FindStringSubmatch(msg); m != nil {
		flag, _, _ := strings.Cut(m[1], "=")
		if s := suggestFlags(c.Flags(), flag); len(s) > 0 {
			return usageErr("%s: unknown flag --%s; did you mean %s?", cmdName(c), flag, strings.Join(s, " or "))
		}
		return usageErr("%s: unknown flag --%s%s (%s)", cmdName(c), flag, flagHint(c, flag), seeHelp(c))
	}
	if m := reUnknownShort.FindStringSubmatch(msg); m != nil {
		return usageErr("%s: unknown flag -%s in %s%s (%s)", cmdName(c), m[1], m[2], commandHint(c), seeHelp(c))
	}
	if m := reNeedsArg.FindStringSubmatch(msg); m != nil {
		flag := "--" + m[2]
		if m[1] != "" {
			flag = "-" + m[1]
		}
		return usageErr("%s: %s needs a value (%s)", cmdName(c), flag, seeHelp(c))
	}
	if m := reInvalid.FindStringSubmatch(msg); m != nil {
		return usageErr("%s: --%s %q: %s", cmdName(c), m[2], m[1], valueHint(c, m[2], m[3]))
	}
	return usageErr("%s: %v (%s)", cmdName(c), err, seeHelp(c))
}

// valueHint says what a flag of this type wants instead of strconv's words.
func valueHint(c *cobra.Command, name, parseErr string) string {
	f := c.Flags().Lookup(name)
	if f == nil {
		return parseErr
	}
	switch f.Value.Type() {
	case "int", "int64", "uint":
		return "want a whole number"
	case "bool":
		return "want true or false"
	case "duration":
		return "want a duration such as 500ms, 2s or 1m"
	}
	return parseErr
}

// flagHint names the command that has a flag this one lacks, or, on
// commands that run a program, says that its flags go after "--".
func flagHint(c *cobra.Command, typed string) string {
	if owners := flagOwners(c.Root(), typed); len(owners) > 0 {
		return fmt.Sprintf("; it is a flag of %s", strings.Join(owners, ", "))
	}
	return commandHint(c)
}

// commandHint reminds that a program's own flags go after "--".
func commandHint(c *cobra.Command) string {
	if strings.Contains(c.Use, "-- COMMAND") {
		return fmt.Sprintf("; a program's own flags go after --: %s [flags] -- COMMAND [ARG...]", c.CommandPath())
	}
	return ""
}

// suggestFlags returns the flags whose name the typed one starts, is the
// start of, or is at most two edits away from; closest first.
func suggestFlags(fs *pflag.FlagSet, typed string) []string {
	type cand struct {
		name string
		d    int
	}
	var cands []cand
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		d := suggest.Distance(typed, f.Name)
		if len(typed) >= 3 && (strings.HasPrefix(f.Name, typed) || strings.HasPrefix(typed, f.Name)) {
			d = min(d, 1)
		}
		if d <= 2 && d < len(typed) {
			cands = append(cands, cand{"--" + f.Name, d})
		}
	})
	slices.SortStableFunc(cands, func(a, b cand) int { return a.d - b.d })
	var out []string
	for _, c := range cands {
		if len(out) == 2 || c.d > cands[0].d {
			break
		}
		out = append(out, c.name)
	}
	return out
}

// flagOwners lists the commands that define a flag of this name.
func flagOwners(root *cobra.Command, name string) []string {
	var owners []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden {
			return
		}
		if c.LocalNonPersistentFlags().Lookup(name) != nil {
			owners = append(owners, c.CommandPath())
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	return owners
}

// requireSubcommands makes every command that only groups others (config,
// completion) refuse a missing or unknown subcommand instead of printing
// its help and exiting 0.
func requireSubcommands(c *cobra.Command) {
	for _, s := range c.Commands() {
		requireSubcommands(s)
	}
	// Two edits: a transposition ("chekc") is two.
	c.SuggestionsMinimumDistance = 2
	if c.HasParent() && c.HasSubCommands() && !c.Runnable() {
		c.Args = groupArgs
		c.RunE = func(c *cobra.Command, args []string) error { return groupArgs(c, args) }
	}
}

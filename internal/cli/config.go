package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	capi "github.com/go-cluster-api/clusterapi"
)

func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show, check and locate the configuration",
		Long: `Inspect capi's configuration: the merged values and where each came from
(config show), a strict validation (config check), and the files searched
(config paths).`,
		Example: `  capi config show
  capi --profile big config show --json
  capi config check
  capi config paths`,
	}
	cmd.AddCommand(newConfigShowCmd(g), newConfigCheckCmd(g), newConfigPathsCmd(g))
	return cmd
}

type configShowOptions struct{ *globals }

func newConfigShowCmd(g *globals) *cobra.Command {
	o := &configShowOptions{g}
	return &cobra.Command{
		Use:   "show",
		Short: "Print every configuration key, its value and where it came from",
		Long: `Print the merged configuration: every key with its value and its source: the
default, the file and line it was read from, the profile, or --set.`,
		Example: `  capi config show
  capi --profile gpu --set cpus=8 config show
  capi config show --json | jq -r '.keys[] | select(.source != "default") | .key'`,
		Args:        noArgs,
		Annotations: jsonOK,
		RunE:        func(cmd *cobra.Command, args []string) error { return o.run() },
	}
}

type configEntry struct {
	Key     string `json:"key"`
	Value   string `json:"value"`
	Source  string `json:"source"`
	Default string `json:"default"`
}

type configShow struct {
	File     string        `json:"file"`
	Profile  string        `json:"profile,omitempty"`
	Keys     []configEntry `json:"keys"`
	Warnings []string      `json:"warnings,omitempty"`
}

func (o *configShowOptions) run() error {
	cfg, info, err := o.loadConfig(false)
	if err != nil {
		return err
	}
	show := configShow{File: info.File, Profile: o.profile, Warnings: info.Warnings}
	for _, k := range capi.ConfigKeys() {
		v, _ := cfg.Value(k.Key)
		src, ok := info.Sources[k.Key]
		if !ok {
			src = "default"
			v = k.Default
			if k.Key == "state_dir" {
				v = capi.DefaultStateDir()
			}
		}
		show.Keys = append(show.Keys, configEntry{Key: k.Key, Value: v, Source: src, Default: k.Default})
	}
	if o.json {
		return writeJSON(o.io.Out, show)
	}
	if info.File != "" {
		fmt.Fprintf(o.io.Out, "# config file: %s\n", info.File)
	} else {
		fmt.Fprintln(o.io.Out, "# no config file found: defaults (see capi config paths)")
	}
	if o.profile != "" {
		fmt.Fprintf(o.io.Out, "# profile: %s\n", o.profile)
	}
	tw := tabwriter.NewWriter(o.io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVALUE\tSOURCE")
	for _, e := range show.Keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Key, orDash(e.Value), e.Source)
	}
	return tw.Flush()
}

type configCheckOptions struct{ *globals }

func newConfigCheckCmd(g *globals) *cobra.Command {
	o := &configCheckOptions{g}
	return &cobra.Command{
		Use:   "check",
		Short: "Validate the configuration strictly (unknown keys are errors)",
		Long: `Validate the configuration file and every profile in it: unknown keys, values
of the wrong type, invalid memory or walltime, unknown executor or profile.
Each problem is printed on its own line; the exit status is 2 if there is
any, 0 otherwise.`,
		Example: `  capi config check
  capi --config site.yaml config check && echo ok`,
		Args:        noArgs,
		Annotations: jsonOK,
		RunE:        func(cmd *cobra.Command, args []string) error { return o.run() },
	}
}

func (o *configCheckOptions) run() error {
	var problems []string
	add := func(p string) {
		if !slices.Contains(problems, p) {
			problems = append(problems, p)
		}
	}
	// Warnings become problems here, not log lines.
	quiet := *o.globals
	quiet.io.ErrOut = io.Discard
	_, info, err := quiet.loadConfig(false)
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) && ee.err != nil {
			err = ee.err
		}
		add(err.Error())
	}
	for _, w := range info.Warnings {
		add(w)
	}
	// Every profile is checked, not only the selected one: a typo in a
	// profile used only by a nightly job should show up now.
	if info.File != "" {
		for _, p := range profileNames(info.File) {
			if p == o.profile {
				continue
			}
			sub := quiet
			sub.profile = p
			_, pinfo, err := sub.loadConfig(false)
			if err != nil {
				var ee *exitError
				if errors.As(err, &ee) && ee.err != nil {
					err = ee.err
				}
				add(fmt.Sprintf("profile %s: %v", p, err))
			}
			for _, w := range pinfo.Warnings {
				add(w)
			}
		}
	}
	if o.json {
		if err := writeJSON(o.io.Out, struct {
			File     string   `json:"file"`
			OK       bool     `json:"ok"`
			Problems []string `json:"problems"`
		}{info.File, len(problems) == 0, append([]string{}, problems...)}); err != nil {
			return err
		}
	} else {
		for _, p := range problems {
			fmt.Fprintf(o.io.ErrOut, "capi: config: %s\n", p)
		}
	}
	if len(problems) > 0 {
		return &exitError{code: ExitUsage, err: fmt.Errorf("config check: %d problem(s)", len(problems))}
	}
	if !o.json {
		if info.File == "" {
			fmt.Fprintln(o.io.Out, "no config file found; the defaults are valid")
		} else {
			fmt.Fprintf(o.io.Out, "%s: ok\n", info.File)
		}
	}
	return nil
}

// profileNames lists the profiles defined in a config file ("" on any
// problem: loading reports those).
func profileNames(file string) []string {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "profiles" || root.Content[i+1].Kind != yaml.MappingNode {
			continue
		}
		var names []string
		for j := 0; j+1 < len(root.Content[i+1].Content); j += 2 {
			names = append(names, root.Content[i+1].Content[j].Value)
		}
		return names
	}
	return nil
}

type configPathsOptions struct{ *globals }

func newConfigPathsCmd(g *globals) *cobra.Command {
	o := &configPathsOptions{g}
	return &cobra.Command{
		Use:   "paths",
		Short: "List the config file locations searched, and which one is used",
		Long: `List the places capi looks for its configuration, in order: --config (which
must exist), $CLUSTER_API_CONFIG, ./cluster_api.yaml,
~/.config/cluster_api/config.yaml. The first that exists is used.`,
		Example: `  capi config paths
  CLUSTER_API_CONFIG=site.yaml capi config paths --json`,
		Args:        noArgs,
		Annotations: jsonOK,
		RunE:        func(cmd *cobra.Command, args []string) error { return o.run() },
	}
}

type configPath struct {
	Path   string `json:"path"`
	Exists bool   `json:"exists"`
	Used   bool   `json:"used"`
}

func (o *configPathsOptions) run() error {
	paths := capi.SearchPaths()
	if o.config != "" {
		paths = []string{o.config}
	}
	var out []configPath
	used := false
	for _, p := range paths {
		_, err := os.Stat(p)
		cp := configPath{Path: p, Exists: err == nil || !errors.Is(err, fs.ErrNotExist)}
		if cp.Exists && !used {
			cp.Used, used = true, true
		}
		out = append(out, cp)
	}
	if o.json {
		return writeJSON(o.io.Out, out)
	}
	tw := tabwriter.NewWriter(o.io.Out, 0, 4, 2, ' ', 0)
	for _, p := range out {
		state := "missing"
		switch {
		case p.Used:
			state = "used"
		case p.Exists:
			state = "exists (ignored: an earlier one is used)"
		}
		fmt.Fprintf(tw, "%s\t%s\n", p.Path, state)
	}
	if !used {
		if o.config != "" {
			fmt.Fprintln(tw, "(--config names a file that does not exist: capi will refuse to run)")
		} else {
			fmt.Fprintln(tw, "(no file found: capi uses the defaults, executor local)")
		}
	}
	return tw.Flush()
}

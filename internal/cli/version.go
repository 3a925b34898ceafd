package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// versionInfo is what `capi version` reports, read from the build
// information the Go toolchain embeds: no version string to keep in sync
// by hand, and a binary built from a modified checkout says so.
type versionInfo struct {
	// Version is the module version: a tag (v1.2.0) for `go install
	// ...@v1.2.0`, a pseudo-version for a build from a checkout, "(devel)"
	// when the toolchain could not tell.
	Version    string `json:"version"`
	Commit     string `json:"commit,omitempty"`
	CommitTime string `json:"commit_time,omitempty"`
	Modified   bool   `json:"modified,omitempty"`
	Go         string `json:"go"`
	Platform   string `json:"platform"`
}

func readVersion() versionInfo {
	v := versionInfo{Version: "(devel)", Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.CommitTime = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String is one line: "capi v1.2.0 (commit 0123abc 2026-05-01T10:00:00Z,
// modified) go1.26 linux/amd64".
func (v versionInfo) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "capi %s", v.Version)
	var vcs []string
	if v.Commit != "" {
		vcs = append(vcs, "commit "+strings.TrimSpace(v.Commit[:min(12, len(v.Commit))]+" "+v.CommitTime))
	}
	if v.Modified {
		vcs = append(vcs, "modified")
	}
	if len(vcs) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(vcs, ", "))
	}
	fmt.Fprintf(&b, " %s %s", v.Go, v.Platform)
	return b.String()
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print capi's version, commit and Go version",
		Long: `Print the version of this capi binary: its module version, the commit it was
built from (and whether the checkout had local changes), the Go version and
the platform. --json prints the same as an object. capi --version is the same.`,
		Example: `  capi version
  capi --version
  capi version --json | jq -r .commit`,
		Args:        noArgs,
		Annotations: jsonOK,
		RunE: func(cmd *cobra.Command, args []string) error {
			return printVersion(g)
		},
	}
}

func printVersion(g *globals) error {
	v := readVersion()
	if g.json {
		return writeJSON(g.io.Out, v)
	}
	_, err := fmt.Fprintln(g.io.Out, v)
	return err
}

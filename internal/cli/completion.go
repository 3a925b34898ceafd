package cli

import "github.com/spf13/cobra"

// addCompletionCmd adds cobra's completion command with capi's examples.
func addCompletionCmd(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Example = `  source <(capi completion bash)
  capi completion zsh > "${fpath[1]}/_capi"
  capi completion fish > ~/.config/fish/completions/capi.fish`
		}
	}
}

// Package cli implements the capi command. Each command follows the shape
// of the GitHub CLI: an options struct, a constructor that wires flags into
// it, and a run function that tests call without a terminal.
//
// Exit codes: 0 ok, 1 job failure, 2 usage or configuration error, 3
// scheduler error; `capi run` exits with the job's own exit code (130 when
// the job was killed).
package cli

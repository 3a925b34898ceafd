// Command capi submits and monitors batch jobs on LSF, SLURM, Grid Engine
// and the local machine. Run `capi --help`.
package main

import (
	"os"

	"github.com/go-cluster-api/clusterapi/internal/cli"
)

func main() { os.Exit(cli.Main()) }

package integration

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/runner"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

// diagnose says what the scheduler's own commands report about job id
// (and the queue as a whole) right now, for a test that gave up waiting:
// "not terminal after 2m" alone does not tell a stuck scheduler from a
// stuck engine.
func (tg target) diagnose(id string) string {
	base, _, _ := strings.Cut(id, "[")
	var cmds [][]string
	switch tg.executor {
	case "slurm":
		cmds = [][]string{{"scontrol", "show", "job", base}, {"squeue", "-a"}, {"sacct", "-j", base}, {"sinfo"}}
	case "sge":
		cmds = [][]string{{"qstat", "-j", base}, {"qstat", "-f"}, {"qacct", "-j", base}}
	case "lsf":
		cmds = [][]string{{"bjobs", "-a", "-o", "jobid stat exit_code job_name submit_time start_time finish_time", base}, {"bhist", "-l", base}}
	}
	run := tg.runner
	if run == nil {
		run = &runner.Exec{Timeout: 10 * time.Second}
	}
	if len(cmds) == 0 {
		return "(the " + tg.executor + " executor has no commands to ask)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "what %s says about job %s now:", tg.executor, id)
	for _, argv := range cmds {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		res, err := run.Run(ctx, scheduler.Command{Argv: argv})
		cancel()
		fmt.Fprintf(&b, "\n$ %s", strings.Join(argv, " "))
		if err != nil {
			fmt.Fprintf(&b, "  (%v)", err)
		}
		for _, out := range [][]byte{res.Stdout, res.Stderr} {
			if s := strings.TrimSpace(string(out)); s != "" {
				b.WriteString("\n" + s)
			}
		}
	}
	return b.String()
}

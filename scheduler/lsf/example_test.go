package lsf_test

import (
	"context"
	"fmt"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
	"github.com/go-cluster-api/clusterapi/scheduler/lsf"
)

// The directives of an array job with a slot limit, as the engine puts them
// into the script.
func ExampleScheduler_Directives() {
	// A real program passes &runner.Exec{Timeout: ...}; nothing runs here.
	noop := scheduler.RunnerFunc(func(context.Context, scheduler.Command) (scheduler.Result, error) {
		return scheduler.Result{}, nil
	})
	s, err := lsf.New(scheduler.Options{Runner: noop, LSFUnits: "MB"})
	if err != nil {
		panic(err)
	}
	lines, err := s.Directives(&scheduler.Job{
		Name:       "capi-align",
		Array:      &scheduler.Array{First: 1, Last: 50, MaxConcurrent: 10},
		Resources:  scheduler.Resources{CPUs: 4, Memory: 16 * scheduler.GB, Walltime: 2 * time.Hour, WorkDir: "/scratch/run 1"},
		StdoutPath: "/scratch/run 1/stdout.%J.%I.log",
		StderrPath: "/scratch/run 1/stderr.%J.%I.log",
	})
	if err != nil {
		panic(err)
	}
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// #BSUB -J "capi-align[1-50]%10"
	// #BSUB -o "/scratch/run 1/stdout.%J.%I.log"
	// #BSUB -e "/scratch/run 1/stderr.%J.%I.log"
	// #BSUB -n 4
	// #BSUB -R "span[hosts=1]"
	// #BSUB -M 16384
	// #BSUB -R "rusage[mem=16384]"
	// #BSUB -W 2:00
	// #BSUB -cwd "/scratch/run 1"
}

package sge_test

import (
	"context"
	"fmt"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
	"github.com/go-cluster-api/clusterapi/scheduler/sge"
)

// The directives of a 4-cpu array job with 8 GB in all: h_vmem is per
// slot, so it asks for 2G; the log in the work directory is written
// relative to it.
func ExampleScheduler_Directives() {
	noCommands := scheduler.RunnerFunc(func(context.Context, scheduler.Command) (scheduler.Result, error) {
		return scheduler.Result{}, fmt.Errorf("no commands in this example")
	})
	s, err := sge.New(scheduler.Options{Runner: noCommands})
	if err != nil {
		panic(err)
	}
	lines, err := s.Directives(&scheduler.Job{
		Name: "capi-align",
		Resources: scheduler.Resources{
			CPUs: 4, Memory: 8 * scheduler.GB, Walltime: 4 * time.Hour,
			Queue: "all.q", WorkDir: "/data/run 1",
		},
		Array:      &scheduler.Array{First: 1, Last: 100, MaxConcurrent: 10},
		StdoutPath: "/data/run 1/stdout.$JOB_ID.$TASK_ID.log",
		StderrPath: "/data/run 1/stderr.$JOB_ID.$TASK_ID.log",
	})
	if err != nil {
		panic(err)
	}
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// #$ -N capi-align
	// #$ -S /bin/bash
	// #$ -V
	// #$ -wd "/data/run 1"
	// #$ -o stdout.$JOB_ID.$TASK_ID.log
	// #$ -e stderr.$JOB_ID.$TASK_ID.log
	// #$ -q all.q
	// #$ -pe smp 4
	// #$ -l h_vmem=2G
	// #$ -l h_rt=04:00:00
	// #$ -t 1-100
	// #$ -tc 10
}

package clusterapi_test

import (
	"context"
	"fmt"
	"os"
	"time"

	clusterapi "github.com/go-cluster-api/clusterapi"
)

// Submit a job on the local executor, react when it ends, and wait for it.
func Example() {
	dir, err := os.MkdirTemp("", "capi-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	e, err := clusterapi.New(clusterapi.Config{Executor: "local", StateDir: dir, InMemory: true}, nil)
	if err != nil {
		panic(err)
	}
	defer e.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	job, err := e.Submit(ctx, clusterapi.JobSpec{
		Name:      "hello",
		Command:   "echo hello from $CAPI_JOB_ID",
		Resources: clusterapi.Resources{WorkDir: dir},
	})
	if err != nil {
		panic(err)
	}
	ended := make(chan string, 1)
	job.OnSuccess(func(r clusterapi.Record) { ended <- "success callback" })
	job.OnFailure(func(r clusterapi.Record) { ended <- "failure callback" })

	// The local executor reports completions itself; with a grid scheduler,
	// run a Monitor (NewMonitor(e, nil).Start()) so that jobs get polled.
	rec, err := job.Wait(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(rec.Status, *rec.ExitCode)
	fmt.Println(<-ended)
	out, _ := os.ReadFile(rec.StdoutPath)
	fmt.Print(string(out) == "hello from "+rec.ID+"\n")
	// Output:
	// done 0
	// success callback
	// true
}

// An array job: every element sees its index, and the parent is done only
// when every element is.
func ExampleExecutor_SubmitArray() {
	dir, err := os.MkdirTemp("", "capi-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	e, err := clusterapi.New(clusterapi.Config{StateDir: dir, LocalSlots: 2, InMemory: true}, nil)
	if err != nil {
		panic(err)
	}
	defer e.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	job, err := e.SubmitArray(ctx, clusterapi.JobSpec{
		Name:      "square",
		Command:   `echo $((CAPI_ARRAY_INDEX * CAPI_ARRAY_INDEX)); exit $((CAPI_ARRAY_INDEX == 3))`,
		Resources: clusterapi.Resources{WorkDir: dir},
	}, clusterapi.Array{First: 1, Last: 4, MaxConcurrent: 2})
	if err != nil {
		panic(err)
	}
	rec, err := job.Wait(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(rec.Status, rec.Array.Counts.Done, "done,", rec.Array.Counts.Failed, "failed:", rec.Array.FailedIndices)
	for _, el := range rec.Array.Elements {
		out, _ := os.ReadFile(el.StdoutPath)
		fmt.Printf("%d: exit %d, printed %s", el.Index, *el.ExitCode, out)
	}
	// Output:
	// failed 3 done, 1 failed: [3]
	// 1: exit 0, printed 1
	// 2: exit 0, printed 4
	// 3: exit 1, printed 9
	// 4: exit 0, printed 16
}

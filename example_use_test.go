package clusterapi_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	clusterapi "github.com/go-cluster-api/clusterapi"
)

// Read the configuration the capi command reads: the file's base keys, a
// profile on top, then explicit overrides; Sources says where each value
// came from.
func ExampleLoadConfig() {
	dir, err := os.MkdirTemp("", "capi-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "cluster_api.yaml")
	err = os.WriteFile(file, []byte(`executor: slurm
memory: 4 GB
walltime: "04:00"
profiles:
  big:
    cpus: 16
    memory: 64 GB
`), 0o644)
	if err != nil {
		panic(err)
	}

	cfg, info, err := clusterapi.LoadConfig(clusterapi.LoadOptions{
		Path:      file,
		Profile:   "big",
		Overrides: map[string]string{"queue": "long"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.Executor, cfg.CPUs, cfg.Memory, cfg.Walltime, cfg.Queue)
	for _, key := range []string{"executor", "memory", "queue"} {
		fmt.Println(key, "from", strings.ReplaceAll(info.Sources[key], dir+string(filepath.Separator), ""))
	}
	// Output:
	// slurm 16 64 GB 4h0m0s long
	// executor from cluster_api.yaml:1
	// memory from profile big (cluster_api.yaml:7)
	// queue from --set
}

// Memory and walltime are written the same way on every scheduler.
func ExampleParseMemory() {
	m, err := clusterapi.ParseMemory("1.5GB")
	fmt.Println(m, m.In(clusterapi.MB), err)
	w, err := clusterapi.ParseWalltime("04:00") // four hours, on LSF, SLURM and Grid Engine
	fmt.Println(w, err)
	_, err = clusterapi.ParseMemory("8 GiB")
	var ve *clusterapi.ValueError
	fmt.Println(errors.As(err, &ve))
	// Output:
	// 1536 MB 1536 <nil>
	// 4h0m0s <nil>
	// true
}

// Wait for a job with a deadline: Done is a channel, so it composes with
// select.
func ExampleJob_Done() {
	dir, err := os.MkdirTemp("", "capi-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	e, err := clusterapi.New(clusterapi.Config{StateDir: dir, InMemory: true}, nil)
	if err != nil {
		panic(err)
	}
	defer e.Close()

	job, err := e.Submit(context.Background(), clusterapi.JobSpec{
		Command:   "sleep 0.1",
		Resources: clusterapi.Resources{WorkDir: dir},
	})
	if err != nil {
		panic(err)
	}
	select {
	case <-job.Done():
		fmt.Println(job.Snapshot().Status)
	case <-time.After(time.Minute):
		fmt.Println("still", job.Snapshot().Status, "after a minute")
	}
	// Output: done
}

// Cancel a running job: it is recorded killed at once, with the reason.
func ExampleExecutor_Cancel() {
	dir, err := os.MkdirTemp("", "capi-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	e, err := clusterapi.New(clusterapi.Config{StateDir: dir, InMemory: true}, nil)
	if err != nil {
		panic(err)
	}
	defer e.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	job, err := e.Submit(ctx, clusterapi.JobSpec{Name: "long", Command: "sleep 60", Resources: clusterapi.Resources{WorkDir: dir}})
	if err != nil {
		panic(err)
	}
	if err := e.Cancel(ctx, job.ID(), nil); err != nil {
		panic(err)
	}
	rec, err := job.Wait(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(rec.Name, rec.Status, rec.Reason)
	// Cancelling it again is not an error.
	fmt.Println(e.Cancel(ctx, job.ID(), nil))
	// Output:
	// long killed cancelled
	// <nil>
}

// The job store: jobs another process submitted (or this one, before a
// restart) are listed, filtered by status, name and age.
func ExampleExecutor_List() {
	dir, err := os.MkdirTemp("", "capi-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	cfg := clusterapi.Config{StateDir: dir, JobNamePrefix: "myapp"}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	submitter, err := clusterapi.New(cfg, nil)
	if err != nil {
		panic(err)
	}
	for _, c := range []string{"true", "exit 2"} {
		job, err := submitter.Submit(ctx, clusterapi.JobSpec{Name: "step", Command: c, Resources: clusterapi.Resources{WorkDir: dir}})
		if err != nil {
			panic(err)
		}
		if _, err := job.Wait(ctx); err != nil {
			panic(err)
		}
	}
	submitter.Close()

	// Later, elsewhere: another executor on the same state dir.
	e, err := clusterapi.New(cfg, nil)
	if err != nil {
		panic(err)
	}
	defer e.Close()
	failed, err := e.List(ctx, clusterapi.ListFilter{Statuses: []clusterapi.Status{clusterapi.Failed}, Name: "myapp-*"})
	if err != nil {
		panic(err)
	}
	for _, r := range failed {
		fmt.Println(r.Name, r.Status, *r.ExitCode, r.Reason)
	}
	// Output: myapp-step failed 2 exit_code
}

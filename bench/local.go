package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clusterapi "github.com/go-cluster-api/clusterapi"
)

// workloadTimeout bounds every workload, so that a hang is reported rather
// than waited for.
const workloadTimeout = 10 * time.Minute

// benchLocal compares the local executor's throughput with the raw
// fork/exec+wait rate of the same kind of job, at the same concurrency.
func benchLocal(o options) error {
	fmt.Printf("\n== local: N `true` jobs, submitted and completed (local_slots = %d) ==\n", o.slots)
	fmt.Println("raw = os/exec of `bash job.sh` (job.sh: #!/bin/bash + true), waited for, by", o.slots, "workers")
	fmt.Println("rawlogs = raw with each job's stdout and stderr in two new files, as a local job's are")
	fmt.Println("capi = clusterapi.New(executor local) → Submit ×N (one goroutine) → <-job.Done() for all; time from first Submit to last done")
	fmt.Printf("%-8s %-7s %10s %10s %12s %8s\n", "N", "mode", "jobs/s", "submit/s", "elapsed", "vs raw")
	for _, n := range o.sizes {
		dir, cleanup, err := tempDir(o, "capi-bench-local-")
		if err != nil {
			return err
		}
		raw, err := rawExecRate(dir, n, o.slots, false)
		if err != nil {
			cleanup()
			return err
		}
		fmt.Printf("%-8d %-7s %10.0f %10s %11.2fs %8s\n", n, "raw", raw.rate(n), "-", raw.elapsed.Seconds(), "1.00")
		logged, err := rawExecRate(dir, n, o.slots, true)
		if err != nil {
			cleanup()
			return err
		}
		fmt.Printf("%-8d %-7s %10.0f %10s %11.2fs %8.2f\n", n, "rawlogs", logged.rate(n), "-", logged.elapsed.Seconds(), logged.rate(n)/raw.rate(n))
		for _, mode := range o.stores {
			r, err := capiLocalRate(filepath.Join(dir, mode), n, o.slots, mode == "memory")
			if err != nil {
				cleanup()
				return fmt.Errorf("%s, N = %d: %w", mode, n, err)
			}
			fmt.Printf("%-8d %-7s %10.0f %10.0f %11.2fs %8.2f\n", n, mode, r.rate(n), float64(n)/r.submit.Seconds(), r.elapsed.Seconds(), r.rate(n)/raw.rate(n))
		}
		cleanup()
	}
	return nil
}

type timing struct {
	elapsed time.Duration // first start to last end
	submit  time.Duration // time spent submitting (capi only)
}

func (t timing) rate(n int) float64 { return float64(n) / t.elapsed.Seconds() }

// rawExecRate runs `bash job.sh` n times with `workers` at once. With logs,
// each run's stdout and stderr go to two new files, as a local job's do:
// the floor of any runner that keeps logs, on this disk.
func rawExecRate(dir string, n, workers int, logs bool) (timing, error) {
	script := filepath.Join(dir, "job.sh")
	if err := os.WriteFile(script, []byte("#!/bin/bash\ntrue\n"), 0o755); err != nil {
		return timing{}, err
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				if err := runRaw(dir, script, i, logs); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	t := timing{elapsed: time.Since(start)}
	close(errs)
	return t, <-errs
}

// runRaw runs job i of rawExecRate.
func runRaw(dir, script string, i int64, logs bool) error {
	cmd := exec.Command("bash", script)
	cmd.Dir = dir
	if logs {
		out, err := os.Create(filepath.Join(dir, fmt.Sprintf("out.%d.log", i)))
		if err != nil {
			return err
		}
		defer out.Close()
		errf, err := os.Create(filepath.Join(dir, fmt.Sprintf("err.%d.log", i)))
		if err != nil {
			return err
		}
		defer errf.Close()
		cmd.Stdout, cmd.Stderr = out, errf
	}
	return cmd.Run()
}

// capiLocalRate submits n `true` jobs to a fresh local executor and waits
// for all of them.
func capiLocalRate(dir string, n, slots int, inMemory bool) (timing, error) {
	ctx, cancel := context.WithTimeout(context.Background(), workloadTimeout)
	defer cancel()
	work := filepath.Join(dir, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return timing{}, err
	}
	e, err := clusterapi.New(clusterapi.Config{
		Executor: "local", LocalSlots: slots, InMemory: inMemory,
		StateDir: filepath.Join(dir, "state"),
	}, nil)
	if err != nil {
		return timing{}, err
	}
	defer e.Close()
	jobs := make([]*clusterapi.Job, 0, n)
	spec := clusterapi.JobSpec{Name: "t", Command: "true", Resources: clusterapi.Resources{WorkDir: work}}
	start := time.Now()
	for range n {
		j, err := e.Submit(ctx, spec)
		if err != nil {
			return timing{}, err
		}
		jobs = append(jobs, j)
	}
	t := timing{submit: time.Since(start)}
	for _, j := range jobs {
		select {
		case <-j.Done():
		case <-ctx.Done():
			return timing{}, fmt.Errorf("job %s not done after %s", j.ID(), workloadTimeout)
		}
	}
	t.elapsed = time.Since(start)
	for _, j := range jobs {
		if r := j.Snapshot(); r.Status != clusterapi.Done {
			return timing{}, fmt.Errorf("job %s ended %s (%s %s)", j.ID(), r.Status, r.Reason, r.Detail)
		}
	}
	return t, nil
}

// benchLatency measures job exit → callback on the local executor.
//
// The job's command is `sleep 0.05; printf '%s\n' "$EPOCHREALTIME" > FILE`: a bash
// builtin (no fork), so the time stamp is taken in the job's own process,
// with microsecond resolution, as its last action before the script's exit
// trap and the shell's exit. The latency is the callback's time.Now() minus
// that stamp: it includes the shell's exit, the kernel's reaping, the local
// executor's wait, the engine's update and the callback dispatch. The
// engine's own share (Record.FinishTime, taken when the local executor's
// Wait returned, to the callback) is printed next to it.
func benchLatency(o options) error {
	fmt.Printf("\n== latency: local job exit → callback (local_slots = %d, %d jobs per row) ==\n", o.slots, o.latencyN)
	fmt.Println("exit = the job's own $EPOCHREALTIME as its last command; reaped = Record.FinishTime (local executor's Wait returned)")
	fmt.Printf("%-7s %-11s %12s %12s %12s %12s %8s\n", "mode", "submission", "median", "p99", "max", "reaped→cb", "skipped")
	for _, mode := range o.stores {
		for _, burst := range []bool{false, true} {
			dir, cleanup, err := tempDir(o, "capi-bench-latency-")
			if err != nil {
				return err
			}
			res, err := callbackLatency(dir, o.latencyN, o.slots, mode == "memory", burst)
			cleanup()
			if err != nil {
				return fmt.Errorf("%s: %w", mode, err)
			}
			how := "one by one"
			if burst {
				how = "all at once"
			}
			fmt.Printf("%-7s %-11s %12s %12s %12s %12s %8d\n", mode, how,
				fmtDur(res.exit.pct(50)), fmtDur(res.exit.pct(99)), fmtDur(res.exit.pct(100)), fmtDur(res.reaped.pct(50)), res.skipped)
		}
	}
	fmt.Println("(skipped: jobs that ended before their callback was registered, not counted)")
	return nil
}

type durations []time.Duration

// pct returns the p-th percentile (nearest rank) of sorted d.
func (d durations) pct(p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(d)))) - 1
	return d[min(max(i, 0), len(d)-1)]
}

type latencyResult struct {
	exit, reaped durations
	skipped      int
}

func callbackLatency(dir string, n, slots int, inMemory, burst bool) (latencyResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), workloadTimeout)
	defer cancel()
	work, stamps := filepath.Join(dir, "work"), filepath.Join(dir, "stamps")
	for _, d := range []string{work, stamps} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return latencyResult{}, err
		}
	}
	e, err := clusterapi.New(clusterapi.Config{
		Executor: "local", LocalSlots: slots, InMemory: inMemory,
		StateDir: filepath.Join(dir, "state"),
	}, nil)
	if err != nil {
		return latencyResult{}, err
	}
	defer e.Close()
	type sample struct {
		id         string
		registered time.Time
		called     time.Time
		finish     time.Time
	}
	var mu sync.Mutex
	samples := make([]*sample, 0, n)
	done := make(chan struct{}, n)
	spec := clusterapi.JobSpec{
		Name: "lat",
		// The short sleep lets the harness register the callback before the
		// job ends: a job that starts inside Submit could otherwise end first
		// and be left out of the sample. The stamp is still the last action.
		Command:   `sleep 0.05; printf '%s\n' "$EPOCHREALTIME" > ` + stamps + `/"$CAPI_JOB_ID"`,
		Resources: clusterapi.Resources{WorkDir: work},
	}
	for range n {
		j, err := e.Submit(ctx, spec)
		if err != nil {
			return latencyResult{}, err
		}
		s := &sample{id: j.ID(), registered: time.Now()}
		mu.Lock()
		samples = append(samples, s)
		mu.Unlock()
		j.OnExit(func(r clusterapi.Record) {
			now := time.Now()
			mu.Lock()
			s.called, s.finish = now, r.FinishTime
			mu.Unlock()
			done <- struct{}{}
		})
		if !burst {
			if err := waitOne(ctx, done); err != nil {
				return latencyResult{}, err
			}
		}
	}
	if burst {
		for range n {
			if err := waitOne(ctx, done); err != nil {
				return latencyResult{}, err
			}
		}
	}
	var res latencyResult
	mu.Lock()
	defer mu.Unlock()
	for _, s := range samples {
		ended, err := readStamp(filepath.Join(stamps, s.id))
		if err != nil {
			return latencyResult{}, fmt.Errorf("job %s: %w", s.id, err)
		}
		if ended.Before(s.registered) {
			res.skipped++
			continue
		}
		res.exit = append(res.exit, s.called.Sub(ended))
		res.reaped = append(res.reaped, s.called.Sub(s.finish))
	}
	slices.Sort(res.exit)
	slices.Sort(res.reaped)
	return res, nil
}

func waitOne(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return errors.New("callbacks did not all fire in time")
	}
}

// readStamp reads bash's $EPOCHREALTIME ("1732490000.123456"; the decimal
// separator follows the locale).
func readStamp(path string) (time.Time, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}, err
	}
	s := strings.TrimSpace(string(b))
	sec, frac, ok := strings.Cut(strings.ReplaceAll(s, ",", "."), ".")
	if !ok || len(frac) != 6 {
		return time.Time{}, fmt.Errorf("time stamp %q is not $EPOCHREALTIME (bash 5 needed)", s)
	}
	si, err1 := strconv.ParseInt(sec, 10, 64)
	us, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, fmt.Errorf("time stamp %q is not $EPOCHREALTIME", s)
	}
	return time.Unix(si, us*1000), nil
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

// tempDir makes a directory for one workload; cleanup removes it unless
// -keep.
func tempDir(o options, pattern string) (string, func(), error) {
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		return "", nil, err
	}
	return dir, func() {
		if o.keep {
			fmt.Println("kept", dir)
			return
		}
		os.RemoveAll(dir)
	}, nil
}

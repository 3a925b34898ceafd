package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// benchSharedPoll: K processes (`capi wait`) follow the same array of
// 1,000 elements on the fake LSF for o.sharedFor with poll_interval 2 s;
// the fake logs every command, and the figure is bjobs calls per minute for
// each K, for every capi binary given (this tree's, and -shared-baseline, a
// capi built from another commit, side by side). Then the array is killed
// and each process's exit says how long after the end it learnt of it.
func benchSharedPoll(o options) error {
	fmt.Printf("\n== shared-poll: K processes each `capi wait` on one array of 1000 elements, poll_interval 2 s, %s per K ==\n", o.sharedFor)
	dir, cleanup, err := tempDir(o, "capi-bench-shared-")
	if err != nil {
		return err
	}
	defer cleanup()
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	if err := buildFakeLSF(bin); err != nil {
		return err
	}
	binaries := []struct{ name, path string }{{"this tree", filepath.Join(bin, "capi")}}
	build := exec.Command("go", "build", "-o", binaries[0].path, "github.com/go-cluster-api/clusterapi/cmd/capi")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building capi: %v\n%s", err, out)
	}
	if o.sharedBaseline != "" {
		binaries = append(binaries, struct{ name, path string }{"baseline", o.sharedBaseline})
	}
	fmt.Printf("%-10s %4s %16s %14s %14s\n", "capi", "K", "bjobs/minute", "learn median", "learn p99")
	for _, k := range o.sharedK {
		for _, b := range binaries {
			perMin, med, p99, err := sharedRound(dir, bin, b.path, k, o.sharedFor)
			if err != nil {
				return fmt.Errorf("%s, K=%d: %w", b.name, k, err)
			}
			fmt.Printf("%-10s %4d %16.1f %14s %14s\n", b.name, k, perMin, med.Round(time.Millisecond), p99.Round(time.Millisecond))
		}
	}
	return nil
}

// sharedRound runs one K with one capi binary on a fresh fake cluster and
// state dir.
func sharedRound(dir, bin, capi string, k int, window time.Duration) (perMinute float64, median, p99 time.Duration, err error) {
	round, err := os.MkdirTemp(dir, "round-")
	if err != nil {
		return 0, 0, 0, err
	}
	cluster, calls := filepath.Join(round, "cluster"), filepath.Join(round, "calls.log")
	config := filepath.Join(round, "cluster_api.yaml")
	if err := os.WriteFile(config, []byte("executor: lsf\njob_name_prefix: capibench\npoll_interval: 2\n"), 0o644); err != nil {
		return 0, 0, 0, err
	}
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "FAKELSF_DIR="+cluster,
		"FAKELSF_CALL_LOG="+calls, "CLUSTER_API_CONFIG="+config, "XDG_STATE_HOME="+filepath.Join(round, "state"))
	command := func(args ...string) *exec.Cmd {
		c := exec.Command(capi, args...)
		c.Env, c.Dir = env, round
		return c
	}
	// One element runs (and sleeps), 999 wait behind the slot limit: 1000
	// rows in every bjobs, one supervisor process.
	out, err := command("array", "--range", "1-1000", "--max-concurrent", "1", "--", "sleep", "100000").Output()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("capi array: %v", err)
	}
	id := strings.TrimSpace(string(out))
	waiters := make([]*exec.Cmd, k)
	ended := make([]time.Time, k)
	done := make(chan int, k)
	for i := range waiters {
		waiters[i] = command("wait", id)
		waiters[i].SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := waiters[i].Start(); err != nil {
			return 0, 0, 0, err
		}
		go func() {
			waiters[i].Wait()
			ended[i] = time.Now()
			done <- i
		}()
	}
	defer func() {
		for _, w := range waiters {
			syscall.Kill(-w.Process.Pid, syscall.SIGKILL)
		}
	}()
	// Warm-up: every process has found the array and settled into its poll.
	time.Sleep(5 * time.Second)
	os.Remove(calls)
	time.Sleep(window)
	b, _ := os.ReadFile(calls)
	n := bytes.Count(b, []byte("\nbjobs ")) + map[bool]int{true: 1}[bytes.HasPrefix(b, []byte("bjobs "))]
	perMinute = float64(n) / window.Minutes()

	killed := time.Now()
	kill := exec.Command(filepath.Join(bin, "bkill"), id)
	kill.Env = env
	if out, err := kill.CombinedOutput(); err != nil {
		return 0, 0, 0, fmt.Errorf("bkill: %v: %s", err, out)
	}
	timeout := time.After(2 * time.Minute)
	var lags []time.Duration
	for range k {
		select {
		case i := <-done:
			lags = append(lags, ended[i].Sub(killed))
		case <-timeout:
			return 0, 0, 0, fmt.Errorf("%d of %d capi wait processes did not end within 2 minutes of the kill", k-len(lags), k)
		}
	}
	slices.Sort(lags)
	return perMinute, lags[len(lags)/2], lags[min(len(lags)-1, len(lags)*99/100)], nil
}

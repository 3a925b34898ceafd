// Command bench runs capi's end-to-end workloads and prints ratios measured
// side by side in one run (SPEC §4):
//
//	local    N `true` jobs through the local executor (in memory and with the
//	         job store) against the raw fork/exec+wait rate of `bash job.sh`
//	         at the same concurrency
//	latency  local job exit → callback, median and p99
//	lsf      scheduler commands per poll with N jobs tracked on the fake LSF
//	shared-poll  status commands per minute when K processes follow the same
//	         jobs on the fake LSF (one shared poll), against a baseline binary
//
// Run it from the module root (the lsf workload builds internal/fakelsf):
//
//	go run ./bench                                  # defaults, < 3 min
//	go run ./bench -workloads local -n 5000 -store memory
//
// Numbers depend on the machine and on what else runs on it; the load
// average is printed with them.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

type options struct {
	workloads map[string]bool
	sizes     []int
	slots     int
	stores    []string // "memory", "store"
	latencyN  int
	lsfJobs   int
	lsfPolls  int
	// shared-poll: numbers of processes, how long to count for each, and
	// a capi binary of another commit to compare with.
	sharedK        []int
	sharedFor      time.Duration
	sharedBaseline string
	keep           bool
	cpuprofile     string
}

func main() {
	os.Exit(run())
}

func run() int {
	var (
		workloads = flag.String("workloads", "local,latency,lsf", "comma-separated workloads: local, latency, lsf")
		sizes     = flag.String("n", "1000,10000", "local: numbers of `true` jobs, comma-separated")
		slots     = flag.Int("slots", runtime.NumCPU(), "local: local_slots, and the raw baseline's concurrency")
		store     = flag.String("store", "memory,store", "local and latency: executor modes, comma-separated: memory (in_memory: true), store (SQLite job store)")
		latencyN  = flag.Int("latency-n", 200, "latency: number of jobs (each mode: one at a time, then all at once)")
		lsfJobs   = flag.Int("lsf-jobs", 10000, "lsf: tracked jobs on the fake LSF (a tenth of them arrays of 10)")
		lsfPolls  = flag.Int("lsf-polls", 3, "lsf: polls to count")
		sharedK   = flag.String("shared-k", "1,5,20", "shared-poll: numbers of capi wait processes, comma-separated")
		sharedFor = flag.Duration("shared-for", time.Minute, "shared-poll: how long to count status commands for each K")
		sharedOld = flag.String("shared-baseline", "", "shared-poll: a capi binary built from another commit, measured side by side")
		keep      = flag.Bool("keep", false, "keep the temporary directories")
		cpuprof   = flag.String("cpuprofile", "", "write a CPU profile of the whole run to `file`")
	)
	flag.Parse()
	o := options{workloads: map[string]bool{}, slots: *slots, latencyN: *latencyN, lsfJobs: *lsfJobs, lsfPolls: *lsfPolls, keep: *keep, cpuprofile: *cpuprof,
		sharedFor: *sharedFor, sharedBaseline: *sharedOld}
	for _, w := range strings.Split(*workloads, ",") {
		switch w = strings.TrimSpace(w); w {
		case "local", "latency", "lsf", "shared-poll":
			o.workloads[w] = true
		case "":
		default:
			fmt.Fprintf(os.Stderr, "bench: unknown workload %q (local, latency, lsf, shared-poll)\n", w)
			return 2
		}
	}
	for _, s := range strings.Split(*sharedK, ",") {
		k, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || k < 1 {
			fmt.Fprintf(os.Stderr, "bench: bad -shared-k %q\n", s)
			return 2
		}
		o.sharedK = append(o.sharedK, k)
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "bench: bad -n %q\n", s)
			return 2
		}
		o.sizes = append(o.sizes, n)
	}
	for _, s := range strings.Split(*store, ",") {
		switch s = strings.TrimSpace(s); s {
		case "memory", "store":
			o.stores = append(o.stores, s)
		default:
			fmt.Fprintf(os.Stderr, "bench: bad -store %q (memory, store)\n", s)
			return 2
		}
	}
	if o.slots < 1 {
		fmt.Fprintln(os.Stderr, "bench: -slots must be at least 1")
		return 2
	}
	stop, err := startProfile(o.cpuprofile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	defer stop()

	printMachine()
	start := time.Now()
	failed := false
	step := func(name string, fn func(options) error) {
		if !o.workloads[name] {
			return
		}
		if err := fn(o); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n", name, err)
			failed = true
		}
	}
	step("local", benchLocal)
	step("latency", benchLatency)
	step("lsf", benchLSF)
	step("shared-poll", benchSharedPoll)
	fmt.Printf("\ntotal %.1fs\n", time.Since(start).Seconds())
	if failed {
		return 1
	}
	return 0
}

// printMachine prints what the figures depend on.
func printMachine() {
	fmt.Printf("machine: %d cpus, %s, %s/%s, kernel %s\n", runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, readTrim("/proc/sys/kernel/osrelease"))
	if mem := memTotal(); mem != "" {
		fmt.Printf("memory: %s\n", mem)
	}
	fmt.Printf("load average at start: %s\n", loadAvg())
	fmt.Printf("date: %s\n", time.Now().UTC().Format(time.RFC3339))
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

func loadAvg() string {
	f := strings.Fields(readTrim("/proc/loadavg"))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func memTotal() string {
	for _, l := range strings.Split(readTrim("/proc/meminfo"), "\n") {
		if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err == nil {
				return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	return ""
}

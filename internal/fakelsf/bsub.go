package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const bsubUsage = `Usage: bsub [-h] [-V] [-H] [-x] [-r | -rn] [-N] [-B] [-I | -Ip | -Is | -K]
            [-q queue_name ...] [-m host_name[+[pref_level]] ...] [-n min_proc[,max_proc]]
            [-R res_req] [-J job_name_spec] [-o out_file] [-e err_file] [-cwd dir]
            [-W [hour:]minute] [-M mem_limit] [-P project_name] [command [argument ...]]
`

func bsub(args []string) int {
	script, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bsub: cannot read the job from standard input: %v\n", err)
		return 255
	}
	opts := map[string]string{}
	fixed := map[string]bool{}
	if err := parseOptions(args, opts, fixed); err != nil {
		fmt.Fprintf(os.Stderr, "bsub: %v\n%s", err, bsubUsage)
		return 255
	}
	for k := range opts {
		fixed[k] = true
	}
	for _, line := range strings.Split(string(script), "\n") {
		rest, ok := strings.CutPrefix(line, "#BSUB")
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
			continue
		}
		words, err := splitDirective(rest)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v. Job not submitted.\n", strings.TrimSpace(line), err)
			return 255
		}
		if err := parseOptions(words, opts, fixed); err != nil {
			fmt.Fprintf(os.Stderr, "bsub: %v\n%s", err, bsubUsage)
			return 255
		}
	}
	if len(strings.TrimSpace(string(script))) == 0 {
		fmt.Fprintln(os.Stderr, "No command is specified. Job not submitted.")
		return 255
	}

	queues := strings.Split(settingOr("FAKELSF_QUEUES", "normal,short"), ",")
	queue, queueGiven := opts["q"], opts["q"] != ""
	if !queueGiven {
		queue = queues[0]
	}
	known := false
	for _, q := range queues {
		known = known || q == queue
	}
	if !known {
		fmt.Fprintf(os.Stderr, "%s: No such queue. Job not submitted.\n", queue)
		return 255
	}
	name, indices, limit, err := parseJobName(opts["J"])
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: Bad job name. Job not submitted.\n", opts["J"])
		return 255
	}
	runLimit := 0
	if w := opts["W"]; w != "" {
		if runLimit, err = parseRunLimit(w); err != nil {
			fmt.Fprintln(os.Stderr, "Bad RUNLIMIT specification. Job not submitted.")
			return 255
		}
	}
	cwd, _ := os.Getwd()
	job := &Job{
		Name: name, User: currentUser(), Queue: queue, Project: opts["P"],
		Cwd: opts["cwd"], SubmitCwd: cwd, Stdout: firstOf(opts["o"], opts["oo"]), Stderr: firstOf(opts["e"], opts["eo"]),
		Command:  strings.Join(strings.Split(strings.TrimRight(string(script), "\n"), "\n"), ";"),
		RunLimit: runLimit, Array: indices != nil, SlotLimit: limit, SubmitTime: time.Now(),
	}
	if job.Name == "" {
		job.Name = job.Command
	}
	if indices == nil {
		indices = []int{0}
	}
	for _, i := range indices {
		job.Elements = append(job.Elements, &Element{Index: i, Stat: "PEND"})
	}

	// mbatchd busy: bsub waits before the job exists, and again before it
	// answers; a caller killed meanwhile leaves bsub to finish alone.
	time.Sleep(settingSeconds("FAKELSF_BSUB_DELAY"))
	silentFail, lose := false, false
	err = update(func(s *State) (bool, error) {
		if s.FailedBsubs < settingInt("FAKELSF_FAIL_NEXT_BSUB", 0) {
			s.FailedBsubs++
			silentFail = true
			return true, nil
		}
		if s.LostBsubs < settingInt("FAKELSF_LOSE_NEXT_BSUB", 0) {
			s.LostBsubs++
			lose = true
		}
		job.ID = s.NextID
		s.NextID++
		dir, err := stateDir()
		if err != nil {
			return false, err
		}
		job.Script = filepath.Join(dir, "jobs", strconv.Itoa(job.ID)+".sh")
		if err := os.WriteFile(job.Script, script, 0o755); err != nil {
			return false, err
		}
		// The job and its supervisor appear together, so that no one sees
		// a job that nothing will run, even when bsub is killed right
		// after; the supervisor waits for this lock before it reads the job.
		pid, err := startSupervisor(job.ID)
		if err != nil {
			return false, fmt.Errorf("cannot start the job: %w", err)
		}
		job.Supervisor = pid
		s.Jobs = append(s.Jobs, job)
		return true, nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "bsub: fakelsf: %v\n", err)
		return 255
	}
	if silentFail {
		return 255
	}
	time.Sleep(settingSeconds("FAKELSF_BSUB_REPLY_DELAY"))
	if lose {
		return 255
	}
	if setting("FAKELSF_NOISE") == "1" {
		fmt.Println("LSF is processing your request. Please wait ...")
		fmt.Println("LSF is processing your request. Please wait ...")
	}
	if queueGiven {
		fmt.Printf("Job <%d> is submitted to queue <%s>.\n", job.ID, queue)
	} else {
		fmt.Printf("Job <%d> is submitted to default queue <%s>.\n", job.ID, queue)
	}
	return 0
}

// startSupervisor starts "fakelsf __run ID" detached (own session, no
// inherited output), so that bsub returns at once and the caller's command
// runner does not wait for the job.
func startSupervisor(id int) (int, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(self, "__run", strconv.Itoa(id))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	pid := cmd.Process.Pid
	return pid, cmd.Process.Release()
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "nobody"
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

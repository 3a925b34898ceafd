package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// exited is one finished element process.
type exited struct {
	index     int
	code      int
	maxKB     int64
	overLimit bool // stopped at its run limit
}

// supervise runs a job's elements (the slot limit permitting) and records
// how each ended. It is the fake's sbatchd + res for one job.
func supervise(idArg string) int {
	id, err := strconv.Atoi(idArg)
	if err != nil {
		return 2
	}
	// A busy queue: the job pends a while before it may start (a bkill
	// meanwhile ends it as for any pending job).
	time.Sleep(settingSeconds("FAKELSF_PEND"))
	host, _ := os.Hostname()
	done := make(chan exited)
	running := 0
	for {
		err := update(func(s *State) (bool, error) {
			j := s.job(id)
			if j == nil {
				return false, fmt.Errorf("job %d not found", id)
			}
			active := 0
			for _, e := range j.Elements {
				if e.Stat == "RUN" {
					active++
				}
			}
			changed := false
			for _, e := range j.Elements {
				if e.Stat != "PEND" || (j.SlotLimit > 0 && active >= j.SlotLimit) {
					continue
				}
				if err := startElement(j, e, host, done); err != nil {
					e.Stat, e.ExitCode, e.Finish = "EXIT", "127", time.Now()
					e.ExitReason = "fakelsf: " + err.Error()
				} else {
					active++
					running++
				}
				changed = true
			}
			return changed, nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "fakelsf supervisor:", err)
			return 1
		}
		if running == 0 {
			return 0
		}
		ev := <-done
		running--
		if err := update(func(s *State) (bool, error) {
			recordExit(s.job(id), ev)
			return true, nil
		}); err != nil {
			fmt.Fprintln(os.Stderr, "fakelsf supervisor:", err)
			return 1
		}
	}
}

func startElement(j *Job, e *Element, host string, done chan<- exited) error {
	cmd := exec.Command(j.Script)
	cmd.Dir = j.SubmitCwd
	if j.Cwd != "" {
		if st, err := os.Stat(expand(j.Cwd, j, e)); err == nil && st.IsDir() {
			cmd.Dir = expand(j.Cwd, j, e)
		}
	}
	cmd.Env = append(os.Environ(),
		"LSB_JOBID="+strconv.Itoa(j.ID),
		"LSB_JOBINDEX="+strconv.Itoa(e.Index),
		"LSB_JOBNAME="+j.displayName(e),
		"LSB_QUEUE="+j.Queue,
		"LSB_HOSTS="+host,
	)
	var files []*os.File
	open := func(p string) (*os.File, error) {
		if p == "" {
			return nil, nil
		}
		p = expand(p, j, e)
		if !strings.HasPrefix(p, "/") {
			p = cmd.Dir + "/" + p
		}
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err == nil {
			files = append(files, f)
		}
		return f, err
	}
	out, err := open(j.Stdout)
	if err != nil {
		return err
	}
	errFile, err := open(j.Stderr)
	if err != nil {
		return err
	}
	if out != nil {
		cmd.Stdout = out
	}
	// Without -e, LSF writes standard error to the -o file.
	if errFile != nil {
		cmd.Stderr = errFile
	} else if out != nil {
		cmd.Stderr = out
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		for _, f := range files {
			f.Close()
		}
		return err
	}
	e.Stat, e.PID, e.Host, e.Start = "RUN", cmd.Process.Pid, host, time.Now()
	index := e.Index
	ended := make(chan struct{})
	if j.RunLimit > 0 {
		go enforceRunLimit(cmd.Process.Pid, time.Duration(j.RunLimit)*minute(), ended)
	}
	go func() {
		cmd.Wait()
		close(ended)
		for _, f := range files {
			f.Close()
		}
		ev := exited{index: index, code: waitCode(cmd.ProcessState), overLimit: overLimit(cmd.ProcessState.Pid())}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			ev.maxKB = int64(ru.Maxrss)
			if runtime.GOOS == "darwin" {
				ev.maxKB /= 1024
			}
		}
		done <- ev
	}()
	return nil
}

// minute is how long a run-limit minute lasts: FAKELSF_MINUTE seconds
// (default 60), so that tests can reach a -W limit quickly.
func minute() time.Duration {
	return time.Duration(settingInt("FAKELSF_MINUTE", 60)) * time.Second
}

// enforceRunLimit does what LSF does when an element started as pg reaches
// its run limit (-W; scheduler-formats.md): SIGUSR2 to the job, then
// SIGKILL after the grace period. A marker file tells the supervisor why
// the element ended.
func enforceRunLimit(pg int, limit time.Duration, ended <-chan struct{}) {
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-ended:
		return
	case <-t.C:
	}
	if dir, err := stateDir(); err == nil {
		os.WriteFile(runLimitMarker(dir, pg), nil, 0o644)
	}
	syscall.Kill(-pg, syscall.SIGUSR2)
	killAfterGrace(pg)
}

func runLimitMarker(dir string, pg int) string {
	return filepath.Join(dir, "jobs", "runlimit."+strconv.Itoa(pg))
}

// overLimit reports (and forgets) whether the element started as pid was
// stopped at its run limit.
func overLimit(pid int) bool {
	dir, err := stateDir()
	if err != nil {
		return false
	}
	return os.Remove(runLimitMarker(dir, pid)) == nil
}

// waitCode is the exit status as LSF reports it: 128+signal for a job
// killed by a signal.
func waitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

func recordExit(j *Job, ev exited) {
	if j == nil {
		return
	}
	for _, e := range j.Elements {
		if e.Index != ev.index || e.Stat != "RUN" {
			continue
		}
		e.Finish, e.MaxMemKB = time.Now(), ev.maxKB
		switch {
		case e.KillAsked && e.KillAsDone:
			e.Stat, e.ExitCode = "DONE", ""
		case e.KillAsked:
			e.Stat, e.ExitCode, e.ExitReason = "EXIT", strconv.Itoa(ev.code), "TERM_OWNER: job killed by owner"
		case ev.overLimit:
			e.Stat, e.ExitCode, e.ExitReason = "EXIT", strconv.Itoa(ev.code), "TERM_RUNLIMIT: job killed after reaching LSF run time limit"
		case ev.code == 0:
			e.Stat, e.ExitCode = "DONE", ""
		default:
			e.Stat, e.ExitCode = "EXIT", strconv.Itoa(ev.code)
		}
	}
}

// expand replaces %J and %I as LSF does in -o, -e and -cwd (%I is 0 outside
// arrays).
func expand(p string, j *Job, e *Element) string {
	return strings.NewReplacer("%J", strconv.Itoa(j.ID), "%I", strconv.Itoa(e.Index)).Replace(p)
}

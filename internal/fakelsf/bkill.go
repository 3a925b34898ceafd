package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

const bkillUsage = `Usage: bkill [-h] [-V] [-l] [-b] [-r | -s signal | -d] [-app application_profile_name]
             [-g job_group_name] [-J job_name] [-m host_name | -m host_group]
             [-q queue_name] [-sla service_class_name] [-u user_name | -u all]
             [0] [job_ID ... | "job_ID[index_list]" ...]
`

func bkill(args []string) int {
	var (
		asDone      bool
		namePattern string
		ids         []string
	)
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "-d":
			if setting("FAKELSF_NO_BKILL_D") == "1" {
				fmt.Fprint(os.Stderr, "bkill: Illegal option -- d\n"+strings.Replace(bkillUsage, " | -d]", "]", 1))
				return 255
			}
			asDone = true
		case "-b", "-r":
		case "-J", "-s", "-u", "-q", "-m", "-g":
			if i+1 >= len(args) {
				fmt.Fprintf(os.Stderr, "bkill: option requires an argument -- %s\n%s", a[1:], bkillUsage)
				return 255
			}
			i++
			if a == "-J" {
				namePattern = args[i]
			}
		default:
			if strings.HasPrefix(a, "-") {
				fmt.Fprintf(os.Stderr, "bkill: Illegal option -- %s\n%s", strings.TrimPrefix(a, "-"), bkillUsage)
				return 255
			}
			ids = append(ids, a)
		}
	}
	if len(ids) == 0 && namePattern == "" {
		fmt.Fprint(os.Stderr, bkillUsage)
		return 255
	}

	var out, errs []string
	var pgids []int
	now := time.Now()
	// kill marks the unfinished elements of j selected by idx (-1: all);
	// it reports whether any was still unfinished.
	kill := func(j *Job, idx int) bool {
		any := false
		for _, e := range j.Elements {
			if (idx >= 0 && e.Index != idx) || e.finished() {
				continue
			}
			any = true
			switch e.Stat {
			case "RUN":
				e.KillAsked, e.KillAsDone = true, asDone
				if e.PID > 0 {
					pgids = append(pgids, e.PID)
				}
			default:
				e.Finish = now
				if asDone {
					e.Stat = "DONE"
				} else {
					e.Stat, e.ExitReason = "EXIT", "TERM_OWNER: job killed by owner"
				}
			}
		}
		return any
	}
	err := update(func(s *State) (bool, error) {
		zero := false
		for _, id := range ids {
			if id == "0" {
				zero = true
				continue
			}
			j, idx, ok := lookup(s, id)
			switch {
			case !ok || (idx >= 0 && !hasIndex(j, idx)):
				errs = append(errs, fmt.Sprintf("Job <%s>: No matching job found", id))
			case kill(j, idx):
				out = append(out, fmt.Sprintf("Job <%s> is being terminated", id))
			default:
				errs = append(errs, fmt.Sprintf("Job <%s>: Job has already finished", id))
			}
		}
		if zero || (len(ids) == 0 && namePattern != "") {
			// Without 0, -J kills only the most recent matching job.
			var matched []*Job
			for _, j := range s.Jobs {
				if namePattern == "" || matchName(namePattern, j.Name) {
					matched = append(matched, j)
				}
			}
			if !zero {
				for i := len(matched) - 1; i >= 0; i-- {
					if unfinished(matched[i]) {
						matched = matched[i : i+1]
						break
					}
				}
			}
			n := 0
			for _, j := range matched {
				if kill(j, -1) {
					out = append(out, fmt.Sprintf("Job <%d> is being terminated", j.ID))
					n++
				}
			}
			if n == 0 {
				errs = append(errs, "No matching job found")
			}
		}
		return true, nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "bkill: fakelsf state: %v\n", err)
		return 255
	}
	for _, l := range out {
		fmt.Println(l)
	}
	for _, l := range errs {
		fmt.Fprintln(os.Stderr, l)
	}
	terminate(pgids)
	if len(errs) > 0 {
		return 255
	}
	return 0
}

// terminate signals each job's process group as bkill does by default
// (scheduler-formats.md): SIGINT, SIGTERM, then, once the job's script has
// ended or the grace period (LSF's JOB_TERMINATE_INTERVAL) is over, SIGKILL
// to whatever is left in the group. SIGTERM follows SIGINT after a moment:
// bash runs only one of two trapped signals that arrive together.
func terminate(pgids []int) {
	for _, pg := range pgids {
		syscall.Kill(-pg, syscall.SIGINT)
	}
	time.Sleep(100 * time.Millisecond)
	for _, pg := range pgids {
		syscall.Kill(-pg, syscall.SIGTERM)
	}
	for _, pg := range pgids {
		killAfterGrace(pg)
	}
}

// killAfterGrace waits up to FAKELSF_KILL_GRACE seconds for the element
// started as pg to end, then sends SIGKILL to its group. The supervisor's
// record tells when the script ended: the group itself may linger as
// zombies that init has not reaped.
func killAfterGrace(pg int) {
	deadline := time.Now().Add(time.Duration(settingInt("FAKELSF_KILL_GRACE", 1)) * time.Second)
	for stillRunning(pg) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	syscall.Kill(-pg, syscall.SIGKILL)
}

// stillRunning reports whether the element started as pid is still RUN in
// the state file (read without the lock: it is replaced atomically).
func stillRunning(pid int) bool {
	s, err := peek()
	if err != nil {
		return false
	}
	for _, j := range s.Jobs {
		for _, e := range j.Elements {
			if e.PID == pid {
				return e.Stat == "RUN"
			}
		}
	}
	return false
}

func hasIndex(j *Job, idx int) bool {
	for _, e := range j.Elements {
		if e.Index == idx {
			return true
		}
	}
	return false
}

func unfinished(j *Job) bool {
	for _, e := range j.Elements {
		if !e.finished() {
			return true
		}
	}
	return false
}

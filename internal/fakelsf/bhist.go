package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

const bhistSeparator = "------------------------------------------------------------------------------"

func bhist(args []string) int {
	// bhist reads LSF's event files, slowly on a busy cluster.
	time.Sleep(settingSeconds("FAKELSF_BHIST_HANG"))
	var ids []string
	long := false
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "-l":
			long = true
		case "-a", "-d", "-p", "-r", "-s", "-w", "-UF":
		case "-n", "-J", "-u", "-q", "-S", "-C", "-D":
			i++
		default:
			if strings.HasPrefix(a, "-") {
				fmt.Fprintf(os.Stderr, "bhist: illegal option -- %s\n", strings.TrimPrefix(a, "-"))
				return 255
			}
			ids = append(ids, a)
		}
	}
	if !long {
		fmt.Fprintln(os.Stderr, "fakelsf: only bhist -l is implemented")
		return 255
	}
	var blocks []string
	var missing []string
	err := update(func(s *State) (bool, error) {
		if len(ids) == 0 {
			for _, j := range s.Jobs {
				for _, e := range j.Elements {
					blocks = append(blocks, histBlock(j, e))
				}
			}
		}
		for _, id := range ids {
			j, idx, ok := lookup(s, id)
			found := false
			if ok {
				for _, e := range j.Elements {
					if idx < 0 || e.Index == idx {
						blocks = append(blocks, histBlock(j, e))
						found = true
					}
				}
			}
			if !found {
				missing = append(missing, id)
			}
		}
		return false, nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "bhist: fakelsf state: %v\n", err)
		return 255
	}
	if len(blocks) > 0 {
		fmt.Print(strings.Join(blocks, bhistSeparator+"\n"))
	}
	if len(missing) > 0 {
		fmt.Fprintln(os.Stderr, "No matching job found")
		return 255
	}
	return 0
}

// histBlock renders one job or element like bhist -l: event lines
// "Thu Apr 18 10:00:40: ...", hard-wrapped at 80 columns.
func histBlock(j *Job, e *Element) string {
	var lines []string
	add := func(t time.Time, text string) { lines = append(lines, histTime(t)+": "+text) }
	id := j.displayID(e)
	header := fmt.Sprintf("Job <%s>, Job Name <%s>, User <%s>, Project <%s>, Command <%s>",
		id, j.displayName(e), j.User, firstOf(j.Project, "default"), j.Command)
	lines = append(lines, header)
	add(j.SubmitTime, fmt.Sprintf("Submitted from host <%s>, to Queue <%s>, CWD <%s>;", submitHost(), j.Queue, j.SubmitCwd))
	if !e.Start.IsZero() {
		add(e.Start, fmt.Sprintf("Dispatched 1 Task(s) on Host(s) <%s>, Allocated 1 Slot(s) on Host(s) <%s>, Effective RES_REQ <select[type == local] order[r15s:pg] >;", e.Host, e.Host))
		add(e.Start, fmt.Sprintf("Starting (Pid %d);", e.PID))
	}
	if e.KillAsked || strings.HasPrefix(e.ExitReason, "TERM_OWNER") {
		add(e.Finish, fmt.Sprintf("Signal <KILL> requested by user or administrator <%s>;", j.User))
	}
	switch e.Stat {
	case "DONE":
		add(e.Finish, "Done successfully. The CPU time used is 0.0 seconds;")
		add(e.Finish, "Post job process done successfully;")
	case "EXIT":
		if e.ExitCode != "" {
			add(e.Finish, "Exited with exit code "+e.ExitCode+". The CPU time used is 0.0 seconds;")
		} else {
			add(e.Finish, "Exited. The CPU time used is 0.0 seconds;")
		}
		if e.ExitReason != "" {
			add(e.Finish, "Completed <exit>; "+e.ExitReason+".")
		} else {
			add(e.Finish, "Completed <exit>;")
		}
	}
	var b strings.Builder
	b.WriteByte('\n')
	for _, l := range lines {
		b.WriteString(wrap(l))
	}
	if e.finished() && !e.Start.IsZero() {
		fmt.Fprintf(&b, "\nMEMORY USAGE:\nMAX MEM: %s;  AVG MEM: %s\n", maxMem(e.MaxMemKB), maxMem(e.MaxMemKB))
	}
	end := time.Now()
	if e.finished() {
		end = e.Finish
	}
	pend, run := end.Sub(j.SubmitTime), time.Duration(0)
	if !e.Start.IsZero() {
		pend, run = e.Start.Sub(j.SubmitTime), end.Sub(e.Start)
	}
	secs := func(d time.Duration) string { return strconv.Itoa(int(d.Seconds())) }
	fmt.Fprintf(&b, "\nSummary of time in seconds spent in various states by  %s\n", histTime(end))
	fmt.Fprintf(&b, "  PEND     PSUSP    RUN      USUSP    SSUSP    UNKWN    TOTAL\n")
	fmt.Fprintf(&b, "  %-8s %-8s %-8s %-8s %-8s %-8s %-8s\n", secs(pend), "0", secs(run), "0", "0", "0", secs(pend+run))
	return b.String()
}

func submitHost() string {
	name, _ := os.Hostname()
	return name
}

// wrap hard-wraps a line at 80 columns, continuing with a 21-space indent,
// as bhist -l does.
func wrap(l string) string {
	const width, indent = 80, 21
	var b strings.Builder
	first := true
	for {
		max := width
		if !first {
			max = width - indent
			b.WriteString(strings.Repeat(" ", indent))
		}
		if len(l) <= max {
			b.WriteString(l + "\n")
			return b.String()
		}
		b.WriteString(l[:max] + "\n")
		l = l[max:]
		first = false
	}
}

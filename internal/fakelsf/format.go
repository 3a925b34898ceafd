package main

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// lsfTime is bjobs' time stamp: "Dec 28 19:56", "Jan  7 09:59".
func lsfTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("Jan _2 15:04")
}

// histTime is bhist -l's: "Thu Apr 18 10:00:40".
func histTime(t time.Time) string { return t.Format("Mon Jan _2 15:04:05") }

// maxMem renders a peak like LSF: "12 Mbytes", "5.2 Gbytes".
func maxMem(kb int64) string {
	if kb >= 1024*1024 {
		return fmt.Sprintf("%.1f Gbytes", float64(kb)/(1024*1024))
	}
	return fmt.Sprintf("%d Mbytes", kb/1024)
}

// jsonString quotes s the way bjobs -json does: standard JSON with '/'
// escaped as "\/".
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '/':
			b.WriteString(`\/`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// fieldValue is one bjobs -o field of one element; ok is false for a
// field the fake does not know.
func fieldValue(field string, j *Job, e *Element, now time.Time) (string, bool) {
	switch field {
	case "jobid":
		return strconv.Itoa(j.ID), true
	case "jobindex":
		return strconv.Itoa(e.Index), true
	case "stat":
		return e.Stat, true
	case "job_name", "name":
		return j.displayName(e), true
	case "user":
		return j.User, true
	case "queue":
		return j.Queue, true
	case "proj_name", "project":
		return firstOf(j.Project, "default"), true
	case "exec_cwd":
		return firstOf(j.Cwd, j.SubmitCwd), true
	case "exit_code":
		return e.ExitCode, true
	case "exit_reason":
		return e.ExitReason, true
	case "exec_host":
		return e.Host, true
	case "submit_time":
		return lsfTime(j.SubmitTime), true
	case "start_time":
		return lsfTime(e.Start), true
	case "finish_time":
		switch {
		case e.finished() && j.RunLimit > 0:
			return lsfTime(e.Finish) + " L", true
		case e.finished():
			return lsfTime(e.Finish), true
		case e.Stat == "RUN" && j.RunLimit > 0:
			// A running job with a run limit shows its projected end.
			return lsfTime(e.Start.Add(time.Duration(j.RunLimit)*time.Minute)) + " L", true
		}
		return "", true
	case "max_mem":
		if e.finished() && !e.Start.IsZero() {
			return maxMem(e.MaxMemKB), true
		}
		return "", true
	case "pend_reason":
		if e.Stat != "PEND" {
			return "", true
		}
		for _, o := range j.Elements {
			if o.Stat == "RUN" && j.SlotLimit > 0 {
				return "The job array has reached its running element limit;", true
			}
		}
		return "New job is waiting for scheduling;", true
	}
	return "", false
}

// matchName reports whether an LSF -J pattern ('*' wildcard) matches name.
func matchName(pattern, name string) bool {
	ok, err := path.Match(strings.NewReplacer("[", `\[`, "]", `\]`, "?", `\?`).Replace(pattern), name)
	return err == nil && ok
}

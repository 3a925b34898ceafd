package sge

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// Poll implements scheduler.Scheduler with one "qstat -xml -u USER" (or
// -u '*'), whatever the number of jobs; the prefix is matched here on the
// job names, because qstat cannot filter by name prefix.
func (s *Scheduler) Poll(ctx context.Context, q scheduler.Query) ([]scheduler.Observation, error) {
	who := s.user
	if q.AllUsers {
		who = "*"
	}
	if who == "" {
		return nil, errors.New("sge: cannot tell the current user's name for qstat -u; set $USER, or poll all users (poll_all_users: true)")
	}
	res, err := s.run.Run(ctx, s.command(s.cmds.qstat, "-xml", "-u", who))
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	obs, skipped, perr := parseQstat(res.Stdout, q.Prefix, s.loc)
	scheduler.LogSkipped(s.log, "sge: qstat", skipped)
	if perr != nil {
		if err != nil {
			return nil, errContext("qstat", err)
		}
		return nil, fmt.Errorf("sge: qstat -xml printed output capi cannot read (%w); run `qstat -xml -u %s` to see it", perr, who)
	}
	if err != nil {
		// A complete document came with the failure: trust what it says.
		s.log.Warn("sge: qstat exited non-zero but printed a complete job list", "err", err)
	}
	return obs, nil
}

// qstatJob is one <job_list> entry. Running array tasks come one per entry
// with their task number in <tasks>; pending tasks come as ranges.
type qstatJob struct {
	Number, Name, State, Start, Submit, Queue, Tasks string
}

// set stores the text of one child element of <job_list>.
func (j *qstatJob) set(field string, text []byte) {
	switch field {
	case "JB_job_number":
		j.Number = string(text)
	case "JB_name":
		j.Name = string(text)
	case "state":
		j.State = string(text)
	case "JAT_start_time":
		j.Start = string(text)
	case "JB_submission_time":
		j.Submit = string(text)
	case "queue_name":
		j.Queue = string(text)
	case "tasks":
		j.Tasks = string(text)
	}
}

// maxTasks bounds how many array elements one document may expand to, so
// that a corrupt range ("1-999999999:1") cannot exhaust memory. Grid
// Engine's own default limit (max_aj_tasks) is 75,000 per array.
const maxTasks = 1 << 20

// parseQstat reads "qstat -xml" output: every <job_list> wherever it sits
// (directly in <queue_info>/<job_info>, or inside <Queue-List> with -f),
// keeps the jobs whose name starts with prefix, and expands array tasks.
// Zombie entries (finished jobs listed by -s z) are left out: their end
// is told by qacct.
//
// Sites wrap qstat in scripts that print lines of their own; the document
// (from the line starting "<?xml" or "<job_info" to the end of the root
// element) is qstat's own output, and the non-blank lines before and after
// it are returned as skipped. Output without such a line is an error.
//
// It walks raw tokens and checks the nesting itself rather than decoding
// into structs by reflection, which doubled the cost of a poll of 100k jobs.
func parseQstat(out []byte, prefix string, loc *time.Location) ([]scheduler.Observation, []string, error) {
	start := documentStart(out)
	if start < 0 {
		return nil, scheduler.NonBlankLines(out), fmt.Errorf("qstat printed no XML document (no line starts with <?xml or <job_info); it printed %s", scheduler.QuoteStart(out))
	}
	skipped := scheduler.NonBlankLines(out[:start])
	dec := xml.NewDecoder(bytes.NewReader(out[start:]))
	// Grid Engine declares no encoding; should a build declare latin-1,
	// names are read byte for byte rather than failing the poll.
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	var (
		obs        []scheduler.Observation
		seen       = map[taskKey]bool{}
		stack      []string
		closedRoot bool
		total      int
		inJob      bool
		job        qstatJob
		field      string
		text       []byte
	)
	for !closedRoot {
		tok, err := dec.RawToken()
		if err == io.EOF {
			return nil, skipped, errors.New("no complete <job_info> document")
		}
		if err != nil {
			return nil, skipped, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			if len(stack) == 0 && name != "job_info" {
				return nil, skipped, fmt.Errorf("root element is <%s>, want one <job_info>", name)
			}
			stack = append(stack, name)
			switch {
			case name == "job_list" && inJob:
				return nil, skipped, errors.New("<job_list> inside <job_list>")
			case name == "job_list":
				inJob, job = true, qstatJob{}
			case inJob:
				field, text = name, text[:0]
			}
		case xml.CharData:
			if inJob && field != "" {
				text = append(text, t...)
			}
		case xml.EndElement:
			name := t.Name.Local
			if len(stack) == 0 || stack[len(stack)-1] != name {
				return nil, skipped, fmt.Errorf("unexpected </%s>", name)
			}
			stack = stack[:len(stack)-1]
			switch {
			case name == "job_list" && inJob:
				inJob = false
				if prefix != "" && !strings.HasPrefix(job.Name, prefix) {
					break
				}
				n, err := appendJob(&obs, job, seen, loc, maxTasks-total)
				if err != nil {
					return nil, skipped, err
				}
				total += n
			case inJob && name == field:
				job.set(field, text)
				field = ""
			}
			closedRoot = len(stack) == 0
		}
	}
	skipped = append(skipped, scheduler.NonBlankLines(out[start+int(dec.InputOffset()):])...)
	return obs, skipped, nil
}

// documentStart is the offset of the first line that starts, after
// blanks, with "<?xml" or "<job_info"; -1 when there is none.
func documentStart(out []byte) int {
	for off := 0; off < len(out); {
		line := out[off:]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		t := bytes.TrimLeft(line, " \t\r")
		if bytes.HasPrefix(t, []byte("<?xml")) || bytes.HasPrefix(t, []byte("<job_info")) {
			return off + len(line) - len(t)
		}
		off += len(line) + 1
	}
	return -1
}

type taskKey struct {
	id    string
	index int
	array bool
}

// appendJob adds the observations of one entry and returns how many.
func appendJob(obs *[]scheduler.Observation, j qstatJob, seen map[taskKey]bool, loc *time.Location, budget int) (int, error) {
	id := strings.TrimSpace(j.Number)
	if !isJobID(id) {
		return 0, fmt.Errorf("job number %q is not a number", j.Number)
	}
	st, ok := mapState(id, strings.TrimSpace(j.State))
	if !ok {
		return 0, nil // zombie
	}
	base := scheduler.Observation{
		ID:         id,
		Name:       j.Name,
		Status:     st.status,
		Reason:     st.reason,
		Detail:     st.detail,
		Host:       hostOf(j.Queue),
		SubmitTime: parseISOTime(j.Submit, loc),
		StartTime:  parseISOTime(j.Start, loc),
	}
	tasks := strings.TrimSpace(j.Tasks)
	if tasks == "" {
		k := taskKey{id: id}
		if seen[k] {
			return 0, nil
		}
		seen[k] = true
		*obs = append(*obs, base)
		return 1, nil
	}
	n := 0
	err := expandTasks(tasks, budget, func(i int) {
		k := taskKey{id: id, index: i, array: true}
		if seen[k] {
			return
		}
		seen[k] = true
		o := base
		o.InArray, o.Index = true, i
		*obs = append(*obs, o)
		n++
	})
	if err != nil {
		return n, fmt.Errorf("job %s: %w", id, err)
	}
	return n, nil
}

func isJobID(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// hostOf takes the host from a queue instance name ("all.q@node1").
func hostOf(queue string) string {
	queue = strings.TrimSpace(queue)
	if _, host, ok := strings.Cut(queue, "@"); ok {
		return host
	}
	return ""
}

// parseISOTime reads qstat -xml's times: local time without a zone
// ("2026-11-24T22:23:03"), sometimes with milliseconds (Univa); an epoch
// number in qstat -j. Anything else is unknown (zero), not an error: a
// time is not worth failing a poll for.
func parseISOTime(s string, loc *time.Location) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	if isJobID(s) {
		var sec int64
		fmt.Sscan(s, &sec)
		return time.Unix(sec, 0).In(loc)
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, loc)
	if err != nil {
		return time.Time{}
	}
	return t
}

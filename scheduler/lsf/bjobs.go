package lsf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// bjobsFields is the -o field list. jobindex is asked for because JOBID is
// the array's id for every element unless the site set
// LSB_BJOBS_DISPLAY_ENH=Y.
const bjobsFields = "jobid jobindex stat job_name exit_code exit_reason exec_host " +
	"submit_time start_time finish_time max_mem pend_reason"

// pollArgv is the single bjobs command of a poll. -o must come right
// before its field list: newer LSF rejects "-o -json fields" (BatchEuphoria
// 361e02b). Its length does not depend on the number of jobs.
func pollArgv(q scheduler.Query) []string {
	argv := []string{"bjobs", "-a", "-json", "-o", bjobsFields}
	if q.AllUsers {
		argv = append(argv, "-u", "all")
	}
	if q.Prefix != "" {
		argv = append(argv, "-J", q.Prefix+"*")
	}
	return argv
}

// Poll implements scheduler.Scheduler.
func (s *Scheduler) Poll(ctx context.Context, q scheduler.Query) ([]scheduler.Observation, error) {
	argv := pollArgv(q)
	res, err := s.run.Run(ctx, scheduler.Command{Argv: argv})
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		var cerr *scheduler.CommandError
		if !errors.As(err, &cerr) || cerr.Err != nil {
			return nil, err // timed out or could not start: nothing was printed
		}
	}
	obs, skipped, perr := parseBJobs(res.Stdout, res.Stderr, s.now())
	scheduler.LogSkipped(s.log, "lsf: bjobs", skipped)
	if perr != nil {
		if err != nil {
			return nil, fmt.Errorf("%w (%v)", err, perr)
		}
		return nil, perr
	}
	if len(obs) == 0 && err != nil && !onlyNoJobMessages(res.Stderr) {
		// Nothing parsed and LSF complained about something else (bad
		// option, mbatchd down): the poll failed, nothing can be concluded.
		return nil, err
	}
	return obs, nil
}

// bjobsDoc is the -json shape: {"COMMAND":"bjobs","JOBS":n,"RECORDS":[...]}
// with every value a string.
type bjobsDoc struct {
	Records []bjobsRecord `json:"RECORDS"`
}

type bjobsRecord struct {
	JobID      string `json:"JOBID"`
	JobIndex   string `json:"JOBINDEX"`
	Stat       string `json:"STAT"`
	JobName    string `json:"JOB_NAME"`
	ExitCode   string `json:"EXIT_CODE"`
	ExitReason string `json:"EXIT_REASON"`
	ExecHost   string `json:"EXEC_HOST"`
	SubmitTime string `json:"SUBMIT_TIME"`
	StartTime  string `json:"START_TIME"`
	FinishTime string `json:"FINISH_TIME"`
	MaxMem     string `json:"MAX_MEM"`
	PendReason string `json:"PEND_REASON"`
	Error      string `json:"ERROR"`
}

// parseBJobs turns bjobs -json output into observations, and returns the
// non-blank lines of stdout around the JSON document, which it skipped.
//
// The document is the mark of bjobs' own output: a JSON object whose first
// key is "COMMAND" with the value "bjobs", starting on a line of its own.
// LSF prints lines before it ("LSF is processing your request. Please
// wait ...", "Cannot connect to LSF. Please wait ...") and site wrappers
// print lines of their own around it; those are skipped. stderr only
// matters when stdout holds no document: the "no job" messages then mean
// an empty poll, whatever noise stdout holds.
func parseBJobs(stdout, stderr []byte, now time.Time) ([]scheduler.Observation, []string, error) {
	start := documentStart(stdout)
	if start < 0 {
		skipped := scheduler.NonBlankLines(stdout)
		if onlyNoJobMessages(stderr) || (len(skipped) == 0 && len(bytes.TrimSpace(stderr)) == 0) {
			return nil, skipped, nil
		}
		if len(skipped) == 0 {
			return nil, nil, fmt.Errorf("bjobs printed no job list: %s", firstLine(stderr))
		}
		return nil, skipped, fmt.Errorf("bjobs printed no JSON job list (is this LSF 10.1.0.2 or later?); it printed %q", firstLine(stdout))
	}
	skipped := scheduler.NonBlankLines(stdout[:start])
	end := len(stdout) // not closed: let the decoder say what is wrong
	if n := objectEnd(stdout[start:]); n > 0 {
		end = start + n
		skipped = append(skipped, scheduler.NonBlankLines(stdout[end:])...)
	}
	var doc bjobsDoc
	if n := recordsHint(stdout[start:end]); n > 0 {
		// encoding/json appends into the capacity it is given; grown
		// from empty, a 100k-record slice is reallocated some 40 times
		// (×1.25 steps), five times its size in garbage per poll.
		doc.Records = make([]bjobsRecord, 0, n)
	}
	if err := json.Unmarshal(stdout[start:end], &doc); err != nil {
		// A value of another type than string (not seen from LSF) costs
		// that field only; anything else means the output is unusable.
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) {
			return nil, skipped, fmt.Errorf("bjobs printed JSON that cannot be read (%v); output starts: %s", err, firstLine(stdout[start:]))
		}
	}
	obs := make([]scheduler.Observation, 0, len(doc.Records))
	for i := range doc.Records {
		r := &doc.Records[i]
		if r.Error != "" {
			continue // {"ERROR":"Job <123> is not found"}
		}
		o, ok := observe(r, now)
		if ok {
			obs = append(obs, o)
		}
	}
	return obs, skipped, nil
}

// documentStart is the offset of the '{' that opens bjobs' document: the
// first line that starts, after blanks, with '{' followed by the key
// "COMMAND" and the value "bjobs" (blanks allowed between the tokens, as
// JSON allows); -1 when there is none.
func documentStart(out []byte) int {
	for off := 0; off < len(out); {
		line := out[off:]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		t := bytes.TrimLeft(line, " \t\r")
		if len(t) > 0 && t[0] == '{' && opensBJobsDoc(out[off+len(line)-len(t)+1:]) {
			return off + len(line) - len(t)
		}
		off += len(line) + 1
	}
	return -1
}

// opensBJobsDoc reports whether b, the text after an opening brace, starts
// with "COMMAND":"bjobs".
func opensBJobsDoc(b []byte) bool {
	for _, tok := range []string{`"COMMAND"`, ":", `"bjobs"`} {
		b = bytes.TrimLeft(b, " \t\r\n")
		if !bytes.HasPrefix(b, []byte(tok)) {
			return false
		}
		b = b[len(tok):]
	}
	return true
}

// objectEnd returns the length of the JSON object that b starts with, by
// matching braces outside strings, or -1 when it is not closed (bjobs was
// cut short). The decoder checks the rest.
func objectEnd(b []byte) int {
	depth, inString, escaped := 0, false, false
	for i, c := range b {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{':
			depth++
		case c == '}':
			if depth--; depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

// recordsHint reads the record count from the document's header
// ({"COMMAND":"bjobs","JOBS":n,...}); 0 when it is not there. It is only a
// capacity hint, bounded by what the document's size allows, so a wrong
// count costs at most one allocation.
func recordsHint(doc []byte) int {
	const key = `"JOBS":`
	head := doc[:min(len(doc), 256)]
	i := bytes.Index(head, []byte(key))
	if i < 0 {
		return 0
	}
	n := 0
	for _, c := range head[i+len(key):] {
		if c < '0' || c > '9' {
			break
		}
		if n = n*10 + int(c-'0'); n > len(doc) {
			return 0
		}
	}
	// A record of the -o fields takes well over 64 bytes.
	return min(n, len(doc)/64)
}

// observe maps one record; false when it names no job.
func observe(r *bjobsRecord, now time.Time) (scheduler.Observation, bool) {
	var o scheduler.Observation
	id, index, inArray, ok := elementKey(r.JobID, r.JobIndex)
	if !ok {
		return o, false
	}
	o.ID, o.Index, o.InArray = id, index, inArray
	o.Name = null(r.JobName)
	if inArray {
		o.Name = strings.TrimSuffix(o.Name, "["+strconv.Itoa(index)+"]")
	}
	o.Host = null(r.ExecHost)
	o.MaxMem = null(r.MaxMem)
	o.SubmitTime, _ = parseTime(null(r.SubmitTime), now)
	o.StartTime, _ = parseTime(null(r.StartTime), now)
	code, hasCode := exitCode(r.ExitCode)
	classify(&o, strings.TrimSpace(r.Stat), null(r.ExitReason), null(r.PendReason), code, hasCode)
	// FINISH_TIME of a running job with a run limit is the projected end
	// ("Dec 27 00:36 L"), not an end.
	if o.Status.Terminal() {
		o.FinishTime, _ = parseTime(null(r.FinishTime), now)
	}
	return o, true
}

// elementKey reads JOBID and JOBINDEX: "123"+"0" is a plain job,
// "123"+"4" element 4, and "123[4]" (LSB_BJOBS_DISPLAY_ENH=Y) element 4 too.
func elementKey(jobID, jobIndex string) (id string, index int, inArray, ok bool) {
	id = strings.TrimSpace(jobID)
	if open := strings.IndexByte(id, '['); open > 0 && strings.HasSuffix(id, "]") {
		n, err := strconv.Atoi(id[open+1 : len(id)-1])
		if err != nil || n < 0 || !digits(id[:open]) {
			return "", 0, false, false
		}
		return id[:open], n, true, true
	}
	if !digits(id) {
		return "", 0, false, false
	}
	idx := null(jobIndex)
	if idx == "" || idx == "0" {
		return id, 0, false, true
	}
	n, err := strconv.Atoi(idx)
	if err != nil || n < 0 {
		return "", 0, false, false
	}
	return id, n, n > 0, true
}

func digits(s string) bool {
	if s == "" || len(s) > 19 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// null turns LSF's empty markers ("" in JSON, "-" in text) into "".
func null(s string) string {
	s = strings.TrimSpace(s)
	if s == "-" {
		return ""
	}
	return s
}

func exitCode(s string) (int, bool) {
	s = null(s)
	if s == "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, false
	}
	return n, true
}

// noJobMessages are what bjobs prints on stderr when nothing matches; they
// mean an empty list, not a failure.
var noJobMessages = []string{
	"No unfinished job found",
	"No job found",
	"No matching job found",
}

// onlyNoJobMessages reports whether every non-empty stderr line says that
// no job (or a given job) is known.
func onlyNoJobMessages(stderr []byte) bool {
	seen := false
	for _, line := range strings.Split(string(stderr), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !isNoJobLine(line) {
			return false
		}
		seen = true
	}
	return seen
}

func isNoJobLine(line string) bool {
	for _, m := range noJobMessages {
		if strings.Contains(line, m) {
			return true
		}
	}
	return strings.HasPrefix(line, "Job <") && strings.HasSuffix(line, "is not found")
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

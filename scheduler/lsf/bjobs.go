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
	obs, perr := parseBJobs(res.Stdout, res.Stderr, s.now())
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

// parseBJobs turns bjobs -json output into observations. stdout may start
// with noise lines ("Cannot connect to LSF. Please wait ..."), so the JSON
// is taken from the first '{' to the last '}'. stderr only matters when
// stdout holds no JSON: the "no job" messages then mean an empty poll.
func parseBJobs(stdout, stderr []byte, now time.Time) ([]scheduler.Observation, error) {
	start := bytes.IndexByte(stdout, '{')
	if start < 0 {
		if len(bytes.TrimSpace(stdout)) == 0 && (len(bytes.TrimSpace(stderr)) == 0 || onlyNoJobMessages(stderr)) {
			return nil, nil
		}
		if len(bytes.TrimSpace(stdout)) == 0 {
			return nil, fmt.Errorf("bjobs printed no job list: %s", firstLine(stderr))
		}
		return nil, fmt.Errorf("bjobs printed no JSON (is this LSF 10.1.0.2 or later?): %s", firstLine(stdout))
	}
	end := bytes.LastIndexByte(stdout, '}') + 1
	if end <= start {
		end = len(stdout) // no closing brace: let the decoder say what is wrong
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
			return nil, fmt.Errorf("bjobs printed JSON that cannot be read (%v); output starts: %s", err, firstLine(stdout[start:]))
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
	return obs, nil
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

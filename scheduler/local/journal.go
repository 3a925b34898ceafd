package local

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// The spool's record of jobs is one append-only journal of events, the way
// LSF's mbatchd keeps lsb.events: a submission, an element's start, its end
// and a cancel are each one JSON line, appended with a single write under
// the journal's flock. Every process replays the journal into a book (the
// jobs and their elements' states) and then reads only what was appended
// since. An event costs an append to a file that exists; the layout it
// replaced made about ten files per job, and creating a file (an inode) is
// what a local job's overhead was made of on a disk (0.2–0.5 ms each on
// ext4, against microseconds for an append).

// jobFile is a submission, as the journal's submit event carries it.
type jobFile struct {
	ID            string        `json:"id"`
	Name          string        `json:"name"`
	Script        string        `json:"script"`
	WorkDir       string        `json:"work_dir"`
	Stdout        string        `json:"stdout"`
	Stderr        string        `json:"stderr"`
	CPUs          int           `json:"cpus"`
	GPUs          int           `json:"gpus,omitempty"`
	Memory        int64         `json:"memory,omitempty"` // bytes
	Walltime      time.Duration `json:"walltime,omitempty"`
	Array         bool          `json:"array"`
	First         int           `json:"first"`
	Last          int           `json:"last"`
	MaxConcurrent int           `json:"max_concurrent"`
	Owner         string        `json:"owner"`
	Submitted     time.Time     `json:"submitted"`
	Token         string        `json:"token,omitempty"`
	// Env names the submitter's environment, recorded once by an env
	// event (its hash); env is that environment (nil: none recorded, the
	// dispatcher's own).
	Env string `json:"env,omitempty"`
	env []string
}

// maxArraySize bounds an array's elements (the book holds each one): the
// clusters' own defaults are far lower (LSF MAX_JOB_ARRAY_SIZE 1000, SLURM
// MaxArraySize 1001).
const maxArraySize = 100_000

// size is the number of elements: 1 for a single job.
func (j *jobFile) size() int {
	if !j.Array {
		return 1
	}
	return j.Last - j.First + 1
}

// el names element i (0-based): "job" for a single job, else its index.
func (j *jobFile) el(i int) string {
	if !j.Array {
		return "job"
	}
	return strconv.Itoa(j.First + i)
}

// slot is the position of element el, false when j has no such element.
func (j *jobFile) slot(el string) (int, bool) {
	if !j.Array {
		return 0, el == "job"
	}
	n, err := strconv.Atoi(el)
	if err != nil || n < j.First || n > j.Last {
		return 0, false
	}
	return n - j.First, true
}

// endFile is how an element ended.
type endFile struct {
	Status string `json:"status"` // done, failed, killed
	// Reason, when set, is why it ended so: timeout, out_of_memory. When
	// empty it follows from Status and HasExit.
	Reason  string    `json:"reason,omitempty"`
	Exit    int       `json:"exit"`
	HasExit bool      `json:"has_exit"`
	Detail  string    `json:"detail,omitempty"`
	Start   time.Time `json:"start,omitzero"`
	Finish  time.Time `json:"finish"`
}

// Event kinds.
const (
	evSubmit = "submit"
	evStart  = "start"
	evEnd    = "end"
	evCancel = "cancel"
	// evEnv records an environment once, named by its hash (ID), before
	// the first submission made in it: a job gets its submitter's
	// environment, whichever process starts it, as on a cluster.
	evEnv = "env"
)

// event is one line of the journal.
type event struct {
	Ev string `json:"ev"`
	ID string `json:"id"`
	// El is the element ("job", or the array index); a cancel without one
	// is of every element.
	El  string   `json:"el,omitempty"`
	Job *jobFile `json:"job,omitempty"` // submit
	// Owner is the Scheduler instance that wrote a start or end.
	Owner string `json:"owner,omitempty"`
	// A start's process (and process group) id, time, GPUs, run file and
	// memory limit. Pid 0: started by a dispatcher that died before it
	// could record the start (see claimRun).
	Pid   int        `json:"pid,omitempty"`
	Start time.Time  `json:"start,omitzero"`
	GPUs  []int      `json:"gpus,omitempty"`
	Run   string     `json:"run,omitempty"`
	Mem   *memRecord `json:"mem,omitempty"`
	// Exit is where the element's exit status is written when that is
	// not its run file (elements started by a capi before the journal).
	Exit string   `json:"exit,omitempty"`
	End  *endFile `json:"end,omitempty"` // end
	Env  []string `json:"env,omitempty"` // env
}

// elem is an element's state in the book.
type elem struct {
	started   bool
	pid       int
	start     time.Time
	gpus      []int
	owner     string
	run       string
	exit      string // where its exit status is written
	mem       memRecord
	cancelled bool
	ended     bool
	end       endFile
}

// running: started and not ended.
func (e *elem) running() bool { return e.started && !e.ended }

// bookJob is a job's state in the book.
type bookJob struct {
	job       *jobFile
	els       []elem
	cancelAll bool
	next      int // elements before next are started, ended or cancelled
	running   int // elements started and not ended
	left      int // elements not ended
}

// startable reports whether element i is still to be started.
func (j *bookJob) startable(i int) bool {
	e := &j.els[i]
	return !e.started && !e.ended && !e.cancelled && !j.cancelAll
}

// book is the spool's state replayed from the journal.
type book struct {
	off    int64 // journal bytes applied
	lastID int
	jobs   map[string]*bookJob
	order  []*bookJob // by id (the journal appends ids in order)
	// queue holds the jobs that may have elements to start, oldest first;
	// jobs leave it lazily, once found with nothing left to start.
	queue []*bookJob
	// Slots held by running elements, whichever process started them.
	usedCPUs int
	usedGPUs map[int]int
	// env holds the recorded environments, by hash.
	env map[string][]string
	// byToken maps submission tokens to job ids.
	byToken map[string]string
	// skipping: catchUp is in the middle of a line too long to be one of
	// capi's, and skips to its end.
	skipping bool
}

func newBook() *book {
	return &book{jobs: make(map[string]*bookJob), usedGPUs: make(map[int]int), env: make(map[string][]string),
		byToken: make(map[string]string)}
}

// apply records one event. It returns the job and element it changed
// (nil for an event that changed nothing: a second end, an unknown job).
func (b *book) apply(ev *event) (*bookJob, int) {
	switch ev.Ev {
	case evEnv:
		b.env[ev.ID] = ev.Env
		return nil, 0
	case evIDs:
		b.applyIDs(ev)
		return nil, 0
	}
	if ev.Ev == evSubmit {
		if ev.Job == nil || b.jobs[ev.ID] != nil || ev.Job.size() < 1 || ev.Job.size() > maxArraySize || ev.Job.CPUs < 1 {
			return nil, 0 // Submit never writes these: a damaged line
		}
		j := ev.Job
		j.ID = ev.ID
		j.env = b.env[j.Env]
		bj := &bookJob{job: j, els: make([]elem, j.size()), left: j.size()}
		b.jobs[ev.ID] = bj
		b.order = append(b.order, bj)
		if j.Token != "" {
			b.byToken[j.Token] = ev.ID
		}
		b.queue = append(b.queue, bj)
		if n, err := strconv.Atoi(ev.ID); err == nil && n > b.lastID {
			b.lastID = n
		}
		return bj, 0
	}
	bj := b.jobs[ev.ID]
	if bj == nil {
		return nil, 0
	}
	if ev.Ev == evCancel && ev.El == "" {
		bj.cancelAll = true
		for i := range bj.els {
			bj.els[i].cancelled = true
		}
		return bj, -1
	}
	i, ok := bj.job.slot(ev.El)
	if !ok {
		return nil, 0
	}
	e := &bj.els[i]
	switch ev.Ev {
	case evStart:
		if e.started || e.ended {
			return nil, 0
		}
		e.started, e.pid, e.start, e.gpus, e.owner, e.run = true, ev.Pid, ev.Start, ev.GPUs, ev.Owner, ev.Run
		e.exit = cmp.Or(ev.Exit, ev.Run)
		if ev.Mem != nil {
			e.mem = *ev.Mem
		}
		bj.running++
		b.usedCPUs += bj.job.CPUs
		for _, g := range e.gpus {
			b.usedGPUs[g]++
		}
	case evEnd:
		if e.ended || ev.End == nil {
			return nil, 0
		}
		e.ended, e.end = true, *ev.End
		e.end.Start = cmp.Or(e.end.Start, e.start)
		bj.left--
		if e.started {
			bj.running--
			b.usedCPUs -= bj.job.CPUs
			for _, g := range e.gpus {
				if b.usedGPUs[g]--; b.usedGPUs[g] <= 0 {
					delete(b.usedGPUs, g)
				}
			}
		}
	case evCancel:
		if e.cancelled {
			return nil, 0
		}
		e.cancelled = true
	default:
		return nil, 0
	}
	return bj, i
}

// freeGPUs lists the GPU indices below total that no running element holds.
func (b *book) freeGPUs(total int) []int {
	var free []int
	for i := range total {
		if b.usedGPUs[i] == 0 {
			free = append(free, i)
		}
	}
	return free
}

// idle reports whether nothing is left to start and nothing runs.
func (b *book) idle() bool {
	return b.usedCPUs == 0 && !b.waiting()
}

// waiting reports whether some element is still to be started.
func (b *book) waiting() bool {
	b.prune()
	return len(b.queue) > 0
}

// prune drops the jobs at the front of the queue that have nothing left to
// start, moving each one's next past what is not to be started. Only the
// front: elements start in queue order, so that is where jobs run out,
// and a job further back with nothing left costs the dispatcher one
// check until it reaches the front. Cheap whatever the queue's length.
func (b *book) prune() {
	n := 0
	for _, j := range b.queue {
		for j.next < len(j.els) && !j.startable(j.next) {
			j.next++
		}
		if j.next < len(j.els) {
			break
		}
		n++
	}
	clear(b.queue[:n])
	b.queue = b.queue[n:]
}

// maxLine bounds one journal line: an environment of maxEnv bytes fits
// with room for JSON's escapes; a longer line is a damaged journal, and
// skipped.
const maxLine = 8 << 20

// catchUp applies what was appended to the journal f since b.off, calling
// seen for each event that changed something. A line still being written
// (no newline yet) is left for the next call.
func (b *book) catchUp(f *os.File, seen func(*bookJob, int, *event)) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("local executor journal: %w", err)
	}
	return b.catchUpTo(f, fi.Size(), seen)
}

// catchUpTo is catchUp for a caller that knows the journal's size.
func (b *book) catchUpTo(f *os.File, size int64, seen func(*bookJob, int, *event)) error {
	// Read in pieces: a long journal replayed by a new process must not
	// be held in memory whole.
	var buf []byte
	for pos := b.off + int64(len(buf)); pos < size; pos = b.off + int64(len(buf)) {
		piece := min(size-pos, readPiece)
		start := len(buf)
		buf = append(buf, make([]byte, piece)...)
		n, err := f.ReadAt(buf[start:], pos)
		buf = buf[:start+n]
		if err != nil && err != io.EOF {
			return fmt.Errorf("local executor journal: %w", err)
		}
		if n == 0 {
			break
		}
		rest := b.applyLines(buf, seen)
		if len(rest) > maxLine {
			// Never written by capi, whose lines are bounded: skipped to
			// its end, so that the rest of the journal stays readable.
			b.off += int64(len(rest))
			rest, b.skipping = nil, true
		}
		buf = append(buf[:0], rest...)
	}
	return nil
}

// readPiece is how much of the journal catchUp reads at a time.
const readPiece = 1 << 20

// applyLines applies the complete lines at the start of buf and returns
// what is left: a line still being written.
func (b *book) applyLines(buf []byte, seen func(*bookJob, int, *event)) []byte {
	if b.skipping {
		nl := bytes.IndexByte(buf, '\n')
		if nl < 0 {
			b.off += int64(len(buf))
			return nil
		}
		b.off += int64(nl + 1)
		buf, b.skipping = buf[nl+1:], false
	}
	for {
		nl := bytes.IndexByte(buf, '\n')
		if nl < 0 {
			return buf
		}
		line := buf[:nl]
		buf = buf[nl+1:]
		b.off += int64(nl + 1)
		var ev event
		if err := json.Unmarshal(line, &ev); err != nil {
			// A damaged line is skipped, not fatal: the other jobs
			// of the spool stay readable.
			continue
		}
		if j, i := b.apply(&ev); j != nil && seen != nil {
			seen(j, i, &ev)
		}
	}
}

// appendEvents writes events to the journal in one write. O_APPEND places
// it at the end whatever other processes appended; the caller holds the
// journal lock. A line left without its newline (a writer killed in the
// middle of a write, a full disk) is ended first, so that it stays one
// damaged line instead of swallowing the next event; and a write of ours
// that fails is cut back off, so that it leaves no such line.
func appendEvents(f *os.File, evs ...event) error {
	if len(evs) == 0 {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i := range evs {
		if err := enc.Encode(&evs[i]); err != nil {
			return err
		}
	}
	return appendLines(f, buf.Bytes())
}

// appendLines appends whole lines to f (opened with O_APPEND; the caller
// holds the journal lock), ending first a line left without its newline,
// and cutting a failed write back off.
func appendLines(f *os.File, lines []byte) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("local executor journal: %w", err)
	}
	size := fi.Size()
	if size > 0 {
		var last [1]byte
		if _, err := f.ReadAt(last[:], size-1); err == nil && last[0] != '\n' {
			lines = append([]byte{'\n'}, lines...)
		}
	}
	if _, err := f.Write(lines); err != nil {
		f.Truncate(size)
		return fmt.Errorf("local executor journal: %w", err)
	}
	return nil
}

// spool is the local executor's directory under the state dir:
//
//	journal          the events (see above)
//	journal.lock     flocked while appending and compacting
//	dispatcher       flocked by the one dispatcher of the spool
//	owners/{id}      flocked by each live Scheduler instance
//	scripts/         job scripts, and each element's run file
//	timeouts/{id}.{el}  made by the walltime watchdog
type spool struct{ dir string }

func (s spool) journalPath() string    { return filepath.Join(s.dir, "journal") }
func (s spool) dispatcherPath() string { return filepath.Join(s.dir, "dispatcher") }
func (s spool) ownerPath(id string) string {
	return filepath.Join(s.dir, "owners", id)
}
func (s spool) timeoutPath(id, el string) string {
	return filepath.Join(s.dir, "timeouts", id+"."+el)
}

// scriptDir holds the job scripts the engine writes, and the run files of
// their elements, which are the exit files their traps write.
func (s spool) scriptDir() string { return filepath.Join(s.dir, "scripts") }

func (s spool) init() error {
	for _, d := range []string{"owners", "scripts", "timeouts"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o700); err != nil {
			return fmt.Errorf("local executor spool %s: %w", s.dir, err)
		}
	}
	return nil
}

func (s spool) lockPath() string { return filepath.Join(s.dir, "journal.lock") }

// tokensPath keeps "token id" lines for the jobs compaction dropped.
func (s spool) tokensPath() string { return filepath.Join(s.dir, "journal.tokens") }

// openLock opens the journal lock's file: a file of its own, not the
// journal, because a compaction replaces the journal.
func (s spool) openLock() (*os.File, error) {
	f, err := os.OpenFile(s.lockPath(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("local executor spool: %w", err)
	}
	return f, nil
}

func (s spool) openJournal() (*os.File, error) {
	f, err := os.OpenFile(s.journalPath(), os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("local executor spool: %w", err)
	}
	return f, nil
}

// lockedFile opens (creating) the file at path and takes an exclusive
// lock on it; closing the file releases the lock.
func lockedFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := flock(f); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// flock takes an exclusive lock on f, retrying on EINTR.
func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			return err
		}
	}
}

func unflock(f *os.File) { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// locked reports whether some process holds a lock on path: the liveness
// test for started elements and Scheduler instances.
func locked(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return false
	}
	return err == syscall.EWOULDBLOCK
}

// maxEnv bounds a recorded environment: Linux's execve refuses an
// environment much over 2 MiB anyway (a quarter of the stack limit).
const maxEnv = 2 << 20

// envHash names an environment in the journal.
func envHash(env []string) string {
	h := sha256.New()
	for _, kv := range env {
		h.Write([]byte(kv))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// envSize is what env takes in a process's memory.
func envSize(env []string) int {
	n := 0
	for _, kv := range env {
		n += len(kv) + 1
	}
	return n
}

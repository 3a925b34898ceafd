package local

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// jobFile is jobs/{id}/job.json.
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
}

func (j *jobFile) elements() []string {
	if !j.Array {
		return []string{"job"}
	}
	out := make([]string, 0, j.Last-j.First+1)
	for i := j.First; i <= j.Last; i++ {
		out = append(out, strconv.Itoa(i))
	}
	return out
}

// endFile is jobs/{id}/{el}.end.
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

type spool struct{ dir string }

func (s spool) jobDir(id string) string      { return filepath.Join(s.dir, "jobs", id) }
func (s spool) runPath(id, el string) string { return filepath.Join(s.dir, "jobs", id, el+".run") }
func (s spool) endPath(id, el string) string { return filepath.Join(s.dir, "jobs", id, el+".end") }
func (s spool) cancelPath(id, el string) string {
	return filepath.Join(s.dir, "jobs", id, el+".cancel")
}
func (s spool) timeoutPath(id, el string) string {
	return filepath.Join(s.dir, "jobs", id, el+".timeout")
}
func (s spool) memPath(id, el string) string { return filepath.Join(s.dir, "jobs", id, el+".mem") }

// waitingPath marks a job that has elements no process started yet: the
// spool's queue, in job-id order across every process (FIFO).
func (s spool) waitingPath(id string) string { return filepath.Join(s.dir, "waiting", id) }

// waiting lists the queued jobs' ids, oldest first.
func (s spool) waiting() []string {
	entries, err := os.ReadDir(filepath.Join(s.dir, "waiting"))
	if err != nil {
		return nil
	}
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		ids = append(ids, e.Name())
	}
	sort.Slice(ids, func(a, b int) bool { return lessID(ids[a], ids[b]) })
	return ids
}

// idle reports whether no job waits and no element runs. The caller holds
// the spool lock.
func (s spool) idle() bool {
	for _, d := range []string{"waiting", "running"} {
		if entries, err := os.ReadDir(filepath.Join(s.dir, d)); err != nil || len(entries) > 0 {
			return false
		}
	}
	return true
}

// scriptDir holds the job scripts the engine writes, and the exit files
// their traps write next to them.
func (s spool) scriptDir() string { return filepath.Join(s.dir, "scripts") }

func (s spool) init() error {
	for _, d := range []string{"jobs", "running", "owners", "scripts", "waiting"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o700); err != nil {
			return fmt.Errorf("local executor spool %s: %w", s.dir, err)
		}
	}
	return nil
}

// lock takes the spool-wide lock; the returned func releases it.
func (s spool) lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(s.dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("local executor spool lock: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("local executor spool lock: %w", err)
	}
	return func() { f.Close() }, nil
}

// maxID returns the largest job id in the spool (0 for none).
func (s spool) maxID() int {
	entries, err := os.ReadDir(filepath.Join(s.dir, "jobs"))
	if err != nil {
		return 0
	}
	most := 0
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil && n > most {
			most = n
		}
	}
	return most
}

// createJob allocates the next free id after hint by creating the job's
// directory exclusively (the directory is needed anyway, and an exclusive
// mkdir cannot hand one id out twice, whichever process asks), then writes
// job.json in place: a reader that finds it half-written skips the job
// until the next look. The caller holds the spool lock.
func (s spool) createJob(j *jobFile, hint int) (int, error) {
	for n := hint + 1; ; n++ {
		id := strconv.Itoa(n)
		err := os.Mkdir(s.jobDir(id), 0o700)
		if os.IsExist(err) {
			continue
		}
		if err != nil {
			return 0, err
		}
		j.ID = id
		b, err := json.Marshal(j)
		if err == nil {
			err = os.WriteFile(filepath.Join(s.jobDir(id), "job.json"), b, 0o600)
		}
		if err == nil {
			err = os.WriteFile(s.waitingPath(id), nil, 0o600)
		}
		if err != nil {
			os.RemoveAll(s.jobDir(id))
			return 0, err
		}
		return n, nil
	}
}

// writeJob replaces job.json atomically (adoption changes the owner of a
// job other processes may be reading).
func (s spool) writeJob(j *jobFile) error {
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(s.jobDir(j.ID), "job.json"), b)
}

func (s spool) readJob(id string) (*jobFile, error) {
	b, err := os.ReadFile(filepath.Join(s.jobDir(id), "job.json"))
	if err != nil {
		return nil, err
	}
	var j jobFile
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("local spool job %s: %w", id, err)
	}
	return &j, nil
}

func (s spool) writeEnd(id, el string, e endFile) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return writeFileAtomic(s.endPath(id, el), b)
}

func (s spool) readEnd(id, el string) (endFile, bool) {
	b, err := os.ReadFile(s.endPath(id, el))
	if err != nil {
		return endFile{}, false
	}
	var e endFile
	if json.Unmarshal(b, &e) != nil {
		return endFile{}, false
	}
	return e, true
}

func (s spool) writeMem(id, el string, m memRecord) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return writeFileAtomic(s.memPath(id, el), b)
}

func (s spool) readMem(id, el string) (memRecord, bool) {
	b, err := os.ReadFile(s.memPath(id, el))
	if err != nil {
		return memRecord{}, false
	}
	var m memRecord
	if json.Unmarshal(b, &m) != nil {
		return memRecord{}, false
	}
	return m, true
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// writeFileAtomic writes through a temporary file and a rename, so readers
// in other processes never see a half-written file.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// locked reports whether some process holds a lock on path: the liveness
// test for started elements and owner processes.
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

// readPid reads the pid recorded in a .run file.
func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	pid, _ := strconv.Atoi(f[0])
	return pid
}

// SpoolDir is where the local executor keeps its spool under a state dir.
func SpoolDir(stateDir string) string { return filepath.Join(stateDir, "local") }

// dispatcherPath is the lock held by the one detached dispatcher process
// of a spool (capi local-dispatch).
func (s spool) dispatcherPath() string { return filepath.Join(s.dir, "dispatcher") }

// TakeDispatcher takes the dispatcher role of the spool under stateDir:
// the lock that at most one detached dispatcher process holds. ok is false
// when another process holds it. The role lasts while the returned file
// (or a copy of it a child process inherits) stays open.
func TakeDispatcher(stateDir string) (lock *os.File, ok bool, err error) {
	sp := spool{dir: SpoolDir(stateDir)}
	if err := sp.init(); err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(sp.dispatcherPath(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("local executor dispatcher lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if err == syscall.EWOULDBLOCK {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("local executor dispatcher lock: %w", err)
	}
	return f, true, nil
}

// Idle reports whether no job of the spool under stateDir waits and no
// element runs (a hint: ReleaseIfIdle decides under the spool lock).
func Idle(stateDir string) bool {
	sp := spool{dir: SpoolDir(stateDir)}
	unlock, err := sp.lock()
	if err != nil {
		return false
	}
	defer unlock()
	return sp.idle()
}

// ReleaseIfIdle gives up the dispatcher role (closes lock) when no job of
// the spool waits and no element runs, and reports whether it did. The
// check and the release happen under the spool lock, where submissions
// are written: a process that submits and then finds the role taken can
// rely on the holder to see its job.
func ReleaseIfIdle(stateDir string, lock *os.File) (bool, error) {
	sp := spool{dir: SpoolDir(stateDir)}
	unlock, err := sp.lock()
	if err != nil {
		return false, err
	}
	defer unlock()
	if !sp.idle() {
		return false, nil
	}
	return true, lock.Close()
}

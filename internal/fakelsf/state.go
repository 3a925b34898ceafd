package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// State is everything the fake cluster knows.
type State struct {
	NextID      int    `json:"next_id"`
	FailedBsubs int    `json:"failed_bsubs"` // FAKELSF_FAIL_NEXT_BSUB calls used up
	LostBsubs   int    `json:"lost_bsubs"`   // FAKELSF_LOSE_NEXT_BSUB calls used up
	Jobs        []*Job `json:"jobs"`
}

// Job is one submission; a plain job has one element with index 0.
type Job struct {
	ID         int       `json:"id"`
	Name       string    `json:"name"` // without the array spec
	User       string    `json:"user"`
	Queue      string    `json:"queue"`
	Project    string    `json:"project"`
	Cwd        string    `json:"cwd"`
	SubmitCwd  string    `json:"submit_cwd"`
	Stdout     string    `json:"stdout"`
	Stderr     string    `json:"stderr"`
	Script     string    `json:"script"`
	Command    string    `json:"command"`
	RunLimit   int       `json:"run_limit_minutes"`
	Array      bool      `json:"array"`
	SlotLimit  int       `json:"slot_limit"`
	SubmitTime time.Time `json:"submit_time"`
	// Supervisor is the pid of "fakelsf __run", so tests can wait for it.
	Supervisor int        `json:"supervisor_pid"`
	Elements   []*Element `json:"elements"`
}

// Element is a plain job's single run or one array element.
type Element struct {
	Index      int       `json:"index"`
	Stat       string    `json:"stat"`
	ExitCode   string    `json:"exit_code"`
	ExitReason string    `json:"exit_reason"`
	Host       string    `json:"host"`
	PID        int       `json:"pid"`
	Start      time.Time `json:"start"`
	Finish     time.Time `json:"finish"`
	MaxMemKB   int64     `json:"max_mem_kb"`
	KillAsked  bool      `json:"kill_asked"`
	KillAsDone bool      `json:"kill_as_done"`
}

func (e *Element) finished() bool { return e.Stat == "DONE" || e.Stat == "EXIT" }

// displayID is how LSF writes the element in messages: "123" or "123[4]".
func (j *Job) displayID(e *Element) string {
	if !j.Array {
		return strconv.Itoa(j.ID)
	}
	return fmt.Sprintf("%d[%d]", j.ID, e.Index)
}

func (j *Job) displayName(e *Element) string {
	if !j.Array {
		return j.Name
	}
	return fmt.Sprintf("%s[%d]", j.Name, e.Index)
}

func (s *State) job(id int) *Job {
	for _, j := range s.Jobs {
		if j.ID == id {
			return j
		}
	}
	return nil
}

func stateDir() (string, error) {
	dir := os.Getenv("FAKELSF_DIR")
	if dir == "" {
		return "", errors.New("FAKELSF_DIR is not set: point it at a directory for the fake cluster's state")
	}
	if err := os.MkdirAll(filepath.Join(dir, "jobs"), 0o755); err != nil {
		return "", err
	}
	return dir, nil
}

// update runs fn with the state locked (flock on $FAKELSF_DIR/lock) and
// saves it afterwards when fn returns save=true.
func update(fn func(s *State) (save bool, err error)) error {
	dir, err := stateDir()
	if err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	path := filepath.Join(dir, "state.json")
	s := &State{NextID: 1}
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, s); err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
	case !os.IsNotExist(err):
		return err
	}
	save, err := fn(s)
	if err != nil || !save {
		return err
	}
	b, err = json.MarshalIndent(s, "", " ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// peek reads the state without locking; writers replace the file
// atomically, so it is always whole.
func peek() (*State, error) {
	dir, err := stateDir()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, err
	}
	s := &State{}
	return s, json.Unmarshal(b, s)
}

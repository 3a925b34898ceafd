package local

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
)

// The dispatcher role is a lock on {spool}/dispatcher: its holder alone
// starts the spool's waiting elements, so there is one dispatcher per
// spool however many processes submit. A Scheduler takes the role when work
// waits and nobody holds it (a library service, a capi command), and gives
// it up when closed. A capi command that exits while work still waits hands
// the role to a detached `capi local-dispatch` (HandOff, InheritDispatcher), which exits once nothing waits or runs. A library
// service closed while work waits leaves it to the next process that looks
// at the spool (submits, polls), which then takes the role.

// SpoolDir is where the local executor keeps its spool under a state dir.
func SpoolDir(stateDir string) string { return filepath.Join(stateDir, "local") }

// lockDispatcher takes the role's lock on a new descriptor; ok is false
// when another holds it.
func lockDispatcher(sp spool) (*os.File, bool, error) {
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

// registry knows this process's live Schedulers by spool, so that the
// package's functions act through the instance that holds the role, and
// keeps a role handed to this process until a Scheduler of its spool opens.
var registry = struct {
	sync.Mutex
	bySpool   map[string][]*Scheduler
	inherited *os.File
}{bySpool: make(map[string][]*Scheduler)}

func register(s *Scheduler) {
	registry.Lock()
	defer registry.Unlock()
	registry.bySpool[s.sp.dir] = append(registry.bySpool[s.sp.dir], s)
}

func unregister(s *Scheduler) {
	registry.Lock()
	defer registry.Unlock()
	list := slices.DeleteFunc(registry.bySpool[s.sp.dir], func(o *Scheduler) bool { return o == s })
	if len(list) == 0 {
		delete(registry.bySpool, s.sp.dir)
		return
	}
	registry.bySpool[s.sp.dir] = list
}

func instances(dir string) []*Scheduler {
	registry.Lock()
	defer registry.Unlock()
	return slices.Clone(registry.bySpool[dir])
}

// kickSpool wakes this process's Schedulers of a spool, so that the one
// holding the role starts a job another instance submitted without waiting
// for its next look at the journal.
func kickSpool(dir string) {
	for _, s := range instances(dir) {
		s.wake()
	}
}

// InheritDispatcher gives this process the dispatcher role handed to it as
// lock (see TakeDispatcher): the next Scheduler opened on that lock's spool
// holds it.
func InheritDispatcher(lock *os.File) {
	registry.Lock()
	defer registry.Unlock()
	registry.inherited = lock
}

// takeInherited returns the inherited role if it is sp's.
func takeInherited(sp spool) *os.File {
	registry.Lock()
	defer registry.Unlock()
	f := registry.inherited
	if f == nil {
		return nil
	}
	held, err1 := f.Stat()
	ours, err2 := os.Stat(sp.dispatcherPath())
	if err1 != nil || err2 != nil || !os.SameFile(held, ours) {
		return nil
	}
	registry.inherited = nil
	return f
}

// HandOff prepares this process's exit for the spool under stateDir. Under
// the journal lock, where submissions are appended, it either gives the
// dispatcher role up, when no job waits, or returns it to hand to a child
// process (exec.Cmd.ExtraFiles) that will start what waits: a copy of this
// process's own role, or the role taken now if nobody holds it. It returns
// nil when another process holds the role: that holder sees every job
// appended before this check, and makes the same check before it lets go.
// From then on no Scheduler of this process takes the role again.
func HandOff(stateDir string) (*os.File, error) {
	all := instances(SpoolDir(stateDir))
	for _, s := range all {
		s.mu.Lock()
		s.retired = true
		s.mu.Unlock()
	}
	if len(all) == 0 {
		return nil, nil
	}
	s := all[0]
	for _, o := range all {
		o.mu.Lock()
		held := o.role != nil
		o.mu.Unlock()
		if held {
			s = o
		}
	}
	s.mu.Lock()
	defer s.unlock()
	return s.handOffLocked()
}

func (s *Scheduler) handOffLocked() (*os.File, error) {
	if err := s.lockJournal(); err != nil {
		return nil, err
	}
	defer s.unlockJournal()
	if !s.book.waiting() {
		if s.role != nil {
			err := s.role.Close()
			s.role = nil
			return nil, err
		}
		return nil, nil
	}
	if s.role == nil {
		f, _, err := lockDispatcher(s.sp)
		return f, err
	}
	// Under ForkLock, as os/exec's own descriptors are made: a job forked
	// between the dup and close-on-exec would hold the role for its whole
	// life.
	syscall.ForkLock.RLock()
	fd, err := syscall.Dup(int(s.role.Fd()))
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("local executor dispatcher lock: %w", err)
	}
	return os.NewFile(uintptr(fd), s.role.Name()), nil
}

// ClaimDispatcher makes a Scheduler of this process on the spool under
// stateDir hold the dispatcher role (the one it inherited, or the role
// taken now), and reports whether one does; false when another process
// holds the role or no Scheduler of the spool is open here.
func ClaimDispatcher(stateDir string) bool {
	for _, s := range instances(SpoolDir(stateDir)) {
		s.mu.Lock()
		ok := s.holdRoleLocked()
		s.mu.Unlock()
		if ok {
			s.wake()
			return true
		}
	}
	return false
}

// ReleaseIfIdle gives up the dispatcher role a Scheduler of this process
// holds on the spool under stateDir when nothing of the spool waits or
// runs, and reports whether the role is no longer held here. The check and
// the release happen under the journal lock, where submissions are
// appended: a process that submits and then finds the role taken can rely
// on the holder to see its job.
func ReleaseIfIdle(stateDir string) (bool, error) {
	for _, s := range instances(SpoolDir(stateDir)) {
		s.mu.Lock()
		released, err := s.releaseIfIdleLocked()
		s.mu.Unlock()
		if err != nil || !released {
			return false, err
		}
	}
	return true, nil
}

func (s *Scheduler) releaseIfIdleLocked() (bool, error) {
	if s.role == nil {
		return true, nil
	}
	if err := s.lockJournal(); err != nil {
		return false, err
	}
	defer s.unlockJournal()
	if !s.book.idle() {
		return false, nil
	}
	err := s.role.Close()
	s.role, s.retired = nil, true
	return true, err
}

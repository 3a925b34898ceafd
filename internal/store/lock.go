package store

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockTimeout bounds the wait for another process's write transaction.
// Transactions last milliseconds; a holder this slow is stuck or stopped.
const lockTimeout = 30 * time.Second

// lockWriter takes the cross-process write lock, a flock on jobs.db.lock.
//
// SQLite's own busy handler polls with sleeps that grow to 100 ms, so a
// writer that waited a while checks rarely while writers in tight loops take
// the lock in between: under load it starves and fails with "database is
// locked". A blocking flock wakes a waiter as soon as the lock is released.
// busy_timeout stays as the fallback for other programs opening the file.
//
// Each call opens its own descriptor: a flock belongs to an open file
// description, so an attempt abandoned on cancellation (whose goroutine
// may still get the lock later) can never release a lock a later write
// holds. Closing the descriptor releases the lock.
func (s *Store) lockWriter(ctx context.Context) (unlock func(), err error) {
	f, err := os.OpenFile(s.path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("job store: cannot open its lock file: %w (set state_dir to a writable directory)", err)
	}
	fd := int(f.Fd())
	unlock = func() { _ = f.Close() }
	// Fast path: no contention, no goroutine.
	if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		return unlock, nil
	}
	got := make(chan error, 1)
	go func() { got <- flockRetry(fd) }()
	timer := time.NewTimer(lockTimeout)
	defer timer.Stop()
	select {
	case err := <-got:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("job store %s: locking for write: %w", s.path, err)
		}
		return unlock, nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-timer.C:
		err = fmt.Errorf("job store %s: another process has held the write lock for %s; is a capi process stuck or stopped?", s.path, lockTimeout)
	}
	// The goroutine ends when it gets the lock; closing the descriptor
	// then gives the lock back (and is safe only after Flock returned).
	go func() {
		<-got
		f.Close()
	}()
	return nil, err
}

// flockRetry blocks until the exclusive lock is held, retrying when a
// signal interrupts the wait.
func flockRetry(fd int) error {
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX)
		if err != syscall.EINTR {
			return err
		}
	}
}

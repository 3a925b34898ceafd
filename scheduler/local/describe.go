package local

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Summary is what capi doctor says of a local executor's spool.
type Summary struct {
	// Jobs in the journal; their elements waiting to start, and running.
	Jobs, Waiting, Running int
	JournalBytes           int64
	// Dispatched: some process holds the dispatcher role. Known: that
	// could be told (Linux, from /proc/locks, which is read without
	// touching the lock: trying it would briefly take the role from a
	// process about to take it).
	Dispatched, Known bool
}

// Describe reads the spool under stateDir without changing anything.
func Describe(stateDir string) (Summary, error) {
	var sum Summary
	sp := spool{dir: SpoolDir(stateDir)}
	f, err := os.Open(sp.journalPath())
	if errors.Is(err, fs.ErrNotExist) {
		return sum, nil
	}
	if err != nil {
		return sum, err
	}
	defer f.Close()
	b := newBook()
	if err := b.catchUp(f, nil); err != nil {
		return sum, err
	}
	sum.Jobs, sum.JournalBytes = len(b.jobs), b.off
	for _, j := range b.order {
		sum.Running += j.running
		for i := range j.els {
			if j.startable(i) {
				sum.Waiting++
			}
		}
	}
	if fi, err := os.Stat(sp.dispatcherPath()); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			if locks, err := os.ReadFile("/proc/locks"); err == nil {
				dev := uint64(st.Dev)
				major := (dev>>8)&0xfff | (dev>>32)&^uint64(0xfff)
				minor := dev&0xff | (dev>>12)&^uint64(0xff)
				sum.Dispatched, sum.Known = flockHeld(locks, major, minor, uint64(st.Ino)), true
			}
		}
	} else {
		sum.Known = true // never taken
	}
	return sum, nil
}

// flockHeld reports whether /proc/locks (its content) lists a flock held
// on the file with inode ino of device major:minor. A line reads "1: FLOCK
// ADVISORY  WRITE 1234 fe:00:754994 0 EOF" (device numbers in hex); a
// process waiting for a lock has "->" after the number, and holds nothing.
func flockHeld(locks []byte, major, minor, ino uint64) bool {
	lines := bufio.NewScanner(bytes.NewReader(locks))
	for lines.Scan() {
		f := strings.Fields(lines.Text())
		if len(f) < 6 || f[1] != "FLOCK" {
			continue
		}
		id := strings.Split(f[5], ":")
		if len(id) != 3 {
			continue
		}
		ma, err1 := strconv.ParseUint(id[0], 16, 64)
		mi, err2 := strconv.ParseUint(id[1], 16, 64)
		n, err3 := strconv.ParseUint(id[2], 10, 64)
		if err1 == nil && err2 == nil && err3 == nil && ma == major && mi == minor && n == ino {
			return true
		}
	}
	return false
}

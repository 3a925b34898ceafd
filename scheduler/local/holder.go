package local

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// runSession finds the process group of an element whose start was never
// recorded (its dispatcher died between starting it and writing the
// start, see claimRun), so that a cancel can stop it. A job is started as
// a session of its own with its run file as descriptor 3, which holds the
// file's lock (startLocked): the job is the session leader, of this user,
// whose descriptor 3 is the run file. Other processes may have the file
// open for a moment (a look at its lock, an exit-file read), never as a
// session leader's descriptor 3; this process's own session is never
// taken. Of several such leaders (a job that started a daemon with setsid
// and let it inherit the descriptor), the one started first is the job
// (of two started in the same clock tick, the lower pid).
// It returns 0 when none is found, and always where there is no /proc
// (macOS): such an element cannot be signalled, and a cancel says so.
func runSession(run string) int {
	want, err := os.Stat(run)
	if err != nil {
		return 0
	}
	resolved, err := filepath.EvalSymlinks(run)
	if err != nil {
		return 0
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	own, _ := procStat(os.Getpid())
	uid := os.Getuid()
	best, bestStart := 0, uint64(0)
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == own.sid {
			continue
		}
		fd3 := filepath.Join("/proc", p.Name(), "fd", "3")
		// The link's text first: no file system is asked about files
		// that are not the run file (a hung mount would hang us).
		if target, err := os.Readlink(fd3); err != nil || target != resolved {
			continue
		}
		st, ok := procStat(pid)
		if !ok || st.sid != pid || !sameUID(p, uid) {
			continue
		}
		// The same file still, after reading the process's state: a pid
		// reused meanwhile would not hold it.
		if fi, err := os.Stat(fd3); err != nil || !os.SameFile(fi, want) {
			continue
		}
		if best == 0 || st.start < bestStart || (st.start == bestStart && pid < best) {
			best, bestStart = pid, st.start
		}
	}
	return best
}

func sameUID(p os.DirEntry, uid int) bool {
	fi, err := p.Info()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == uid
}

// procState is what runSession reads of a process from /proc/<pid>/stat.
type procState struct {
	sid   int
	start uint64 // clock ticks after boot
}

// procStat reads /proc/<pid>/stat: "pid (comm) state ppid pgrp session
// ... starttime (22nd field) ..."; comm may hold spaces and parentheses,
// so fields are counted after its last ')'.
func procStat(pid int) (procState, bool) {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return procState{}, false
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return procState{}, false
	}
	f := bytes.Fields(stat[i+1:]) // f[0] is field 3 (state)
	if len(f) < 20 {
		return procState{}, false
	}
	sid, err1 := strconv.Atoi(string(f[3]))
	start, err2 := strconv.ParseUint(string(f[19]), 10, 64)
	if err1 != nil || err2 != nil {
		return procState{}, false
	}
	return procState{sid: sid, start: start}, true
}

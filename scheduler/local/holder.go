package local

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
)

// runSession finds the process group of an element whose start was never
// recorded (its dispatcher died between starting it and writing the
// start, see claimRun): every process of a job keeps the run file open,
// as the descriptor that holds its lock, and the job is a session of its
// own, so the session of any process that has the run file open is the
// job's process group. It returns 0 when none is found, and always where
// there is no /proc (macOS): such an element cannot be signalled, and a
// cancel says so.
func runSession(run string) int {
	want, err := os.Stat(run)
	if err != nil {
		return 0
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		fdDir := filepath.Join("/proc", p.Name(), "fd")
		fds, err := os.ReadDir(fdDir) // another user's: permission denied
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if fi, err := os.Stat(filepath.Join(fdDir, fd.Name())); err == nil && os.SameFile(fi, want) {
				if sid := sessionOf(pid); sid > 1 {
					return sid
				}
			}
		}
	}
	return 0
}

// sessionOf reads the session id of process pid from /proc/<pid>/stat
// ("pid (comm) state ppid pgrp session ..."; comm may hold spaces and
// parentheses, so fields are counted after its last ')'); 0 if unknown.
func sessionOf(pid int) int {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := bytes.Fields(stat[i+1:])
	if len(f) < 4 {
		return 0
	}
	sid, _ := strconv.Atoi(string(f[3]))
	return sid
}

// Package proctest keeps a test binary's processes from outliving it.
//
// Wrap marks the test binary's environment with a token that every process
// it starts inherits (capi binaries, detached local-dispatch helpers, local
// jobs, and jobs on Grid Engine and SLURM, which pass the submitter's
// environment on). After the tests it waits a grace period for marked
// processes to end, then kills those still alive and fails the run, naming
// them. It also clears the variables through which a host's dotfiles reach a
// job's shell (BASH_ENV, ENV), so that tests never depend on them.
//
// Finding processes reads /proc; elsewhere the check is skipped.
package proctest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// MarkerEnv is the variable that carries the test run's token.
const MarkerEnv = "CAPI_TEST_RUN"

// Grace is how long Main waits for marked processes to end by themselves
// (a cancelled job's trap, a dispatcher's last poll) before it calls them
// leftovers.
const Grace = 15 * time.Second

// TestingM is what a TestMain runs: *testing.M, or a wrapper of it.
type TestingM interface{ Run() int }

// Wrap returns m with the check around its Run: the code is m's, or 1 when
// processes were left behind. Use it as os.Exit(proctest.Wrap(m).Run()), or
// inside goleak.VerifyTestMain(proctest.Wrap(m)).
func Wrap(m TestingM) TestingM { return checked{m: m, grace: Grace} }

type checked struct {
	m     TestingM
	grace time.Duration
}

func (c checked) Run() int {
	m := c.m
	token := strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	os.Setenv(MarkerEnv, token)
	// A login node's BASH_ENV would be read by every non-interactive bash a
	// job starts; our test clusters and the local executor pass the
	// submitter's environment on.
	os.Unsetenv("BASH_ENV")
	os.Unsetenv("ENV")
	code := m.Run()
	if left := Leftovers(token, c.grace); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "proctest: %d process(es) started by these tests outlived them (killed now):\n", len(left))
		for _, p := range left {
			fmt.Fprintf(os.Stderr, "  pid %d: %s\n", p.PID, p.Command)
			syscall.Kill(p.PID, syscall.SIGKILL)
		}
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Process is a live process that carries a test run's token.
type Process struct {
	PID     int
	Command string
}

// Leftovers returns the processes other than this one whose environment
// carries token and that are still alive after waiting up to grace for
// them to end.
func Leftovers(token string, grace time.Duration) []Process {
	deadline := time.Now().Add(grace)
	for {
		left := marked(token)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func marked(token string) []Process { return Running(MarkerEnv, token) }

// Running lists the live processes other than this one whose initial
// environment holds key=value (a test can give the processes it starts a
// HOME of their own and find them by it). Zombies (their environ reads
// empty) and processes that end while being read are not listed; without
// /proc the list is empty.
func Running(key, value string) []Process {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	want := []byte(key + "=" + value)
	self := os.Getpid()
	var found []Process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !hasEntry(env, want) {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		found = append(found, Process{PID: pid, Command: strings.TrimSpace(string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))})
	}
	return found
}

// hasEntry reports whether the NUL-separated environ block holds entry.
func hasEntry(environ, entry []byte) bool {
	for kv := range bytes.SplitSeq(environ, []byte{0}) {
		if bytes.Equal(kv, entry) {
			return true
		}
	}
	return false
}

// TempDir is t.TempDir for directories that processes of the test write
// to: it is removed after the test like t.TempDir, but patiently, because a
// job's last files (a log, an exit file, a spool entry written by whichever
// process noticed its end) may land a few seconds after the test's last
// command (SLURM's KillWait, a cancelled job's trap).
func TempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "capi-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		deadline := time.Now().Add(15 * time.Second)
		for {
			err := os.RemoveAll(dir)
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("removing %s: %v", dir, err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return dir
}

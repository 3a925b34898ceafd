package proctest

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestLeftoversFindsAndForgetsMarkedProcesses(t *testing.T) {
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("no /proc here")
	}
	token := "proctest-self-check"
	cmd := exec.Command("sleep", "60")
	cmd.Env = append(os.Environ(), MarkerEnv+"="+token)
	// Its own session, as capi's detached helpers and local jobs have.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	left := Leftovers(token, 0)
	if len(left) != 1 || left[0].PID != cmd.Process.Pid || left[0].Command != "sleep 60" {
		t.Fatalf("Leftovers = %+v, want the one sleep %d", left, cmd.Process.Pid)
	}
	if other := Leftovers(token+"-other", 0); len(other) != 0 {
		t.Errorf("another run's token found %+v", other)
	}

	go func() {
		time.Sleep(300 * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait() // reaped: gone from /proc
	}()
	if left := Leftovers(token, 30*time.Second); len(left) != 0 {
		t.Errorf("a process that ended within the grace period is reported: %+v", left)
	}
}

func TestWrapFailsARunThatLeavesAProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("no /proc here")
	}
	var child *exec.Cmd
	run := fakeM(func() int {
		child = exec.Command("sleep", "60") // inherits the marker
		child.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		go child.Wait() // reap it once Wrap has killed it
		return 0
	})
	defer os.Unsetenv(MarkerEnv)
	start := time.Now()
	if code := (checked{m: run, grace: 0}).Run(); code != 1 {
		t.Errorf("code = %d, want 1 for a run that left sleep behind", code)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
	if left := Leftovers(os.Getenv(MarkerEnv), 5*time.Second); len(left) != 0 {
		t.Errorf("Wrap left %+v alive", left)
	}
}

type fakeM func() int

func (f fakeM) Run() int { return f() }

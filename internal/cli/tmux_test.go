package cli_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestE2ETmux80Columns is what a new user sees in an 80x24 tmux pane: the
// capi binary, run by a shell in a real terminal (tmux's), for an array of
// 300 elements with --wait, then capi status of a few short-named jobs.
// The pane's history must hold exactly one progress bar and no line that
// wrapped.
//
// It needs tmux (.ci/run installs it) and skips without. The tmux server
// has a socket of its own in the test's directory and is killed when the
// test ends, with whatever runs in its pane.
func TestE2ETmux80Columns(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux is not installed")
	}
	t.Parallel()
	sh := newShell(t)
	sock := filepath.Join(sh.dir, "tmux.sock")
	tm := func(args ...string) (string, error) {
		cmd := exec.Command(tmux, append([]string{"-S", sock, "-f", "/dev/null"}, args...)...)
		cmd.Env = append(sh.env, "TERM=xterm-256color")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	script := filepath.Join(sh.dir, "session.sh")
	body := fmt.Sprintf(`#!/bin/sh
cd %[1]q
capi=%[2]q
"$capi" array --range 1-300 --max-concurrent 4 --wait -- sleep 0.01
echo "[array exit $?]"
for s in 1 2 3; do "$capi" submit --name "align-s$s" -- true >/dev/null; done
"$capi" submit --name qc -- sh -c 'exit 3' >/dev/null
"$capi" wait 2 3 4 5 >/dev/null
"$capi" status
echo "[status exit $?]"
exec sleep 600
`, sh.dir, capiBin)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := tm("new-session", "-d", "-x", "80", "-y", "24", script); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	t.Cleanup(func() {
		tm("kill-server")
		// The server ends by itself once told to; wait for its socket's
		// owner to go, so nothing of the test outlives it.
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := tm("has-session"); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Errorf("tmux server still running after kill-server")
	})

	var screen string
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(screen, "[status exit") {
		if time.Now().After(deadline) {
			t.Fatalf("the session did not finish; pane:\n%s", screen)
		}
		time.Sleep(100 * time.Millisecond)
		screen, _ = tm("capture-pane", "-p", "-t", "0", "-S", "-")
	}
	// -J joins lines the terminal wrapped: a wrapped line comes back
	// longer than the pane.
	joined, err := tm("capture-pane", "-p", "-J", "-t", "0", "-S", "-")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(joined, "\n"), "\n")
	bar := regexp.MustCompile(`^\[[#!-]+\] `)
	bars := 0
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("a line of %d columns wrapped: %q", n, l)
		}
		if bar.MatchString(l) {
			bars++
		}
	}
	if bars != 1 {
		t.Errorf("%d progress bars in the pane, want 1", bars)
	}
	for _, want := range []string{"300/300", "[array exit 0]", "[status exit 0]", "ID  NAME", "AGE  ELAPSED", "align-s1", "done    300/300"} {
		if !strings.Contains(joined, want) {
			t.Errorf("pane lacks %q", want)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("pane (80x24):\n%s", joined)
	}
}

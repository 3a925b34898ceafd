package script

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

var testDialect = scheduler.Dialect{
	DirectivePrefix: "#TEST",
	JobIDVar:        "TEST_JOB_ID",
	ArrayJobIDVar:   "TEST_ARRAY_ID",
	ArrayIndexVar:   "TEST_INDEX",
}

func TestRenderOrder(t *testing.T) {
	t.Parallel()
	got, err := Render(Spec{
		Directives:   []string{"#TEST -a", "#TEST -b"},
		ExitFileBase: "/w/job.1",
		Dialect:      testDialect,
		Env:          map[string]string{"B": "2", "A": "1"},
		Prologue:     []string{"config-pro", "job-pro"},
		Command:      "echo hi",
		Epilogue:     []string{"config-epi", "job-epi"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `#!/bin/bash
#TEST -a
#TEST -b
# capi: record the exit status next to the script, for the monitor
__capi_exit_file='/w/job.1'".${TEST_JOB_ID}.exit"
` + trapLines + `export A='1'
export B='2'
config-pro
job-pro
echo hi
config-epi
job-epi
`
	if string(got) != want {
		t.Errorf("script:\n%s\nwant:\n%s", got, want)
	}
}

// The script really runs: hostile characters in paths and env values arrive
// intact, and the trap writes the exit status where ExitFilePath says.
func TestRenderedScriptRuns(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), `we"ird $dir\ 'x`)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	hostile := "a'b\"c $HOME `id` \\ d\nnewline"
	var w Writer
	content, err := Render(Spec{
		ExitFileBase: ExitFileBase(filepath.Join(dir, "job.1.sh")),
		Dialect:      testDialect,
		Array:        true,
		Env:          map[string]string{"HOSTILE": hostile},
		Command:      `printf '%s' "$HOSTILE" > value.txt; echo "$CAPI_ARRAY_INDEX" > index.txt; exit 7`,
	})
	if err != nil {
		t.Fatal(err)
	}
	path, err := w.Write(dir, "job", content)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, "job.1.sh") {
		t.Fatalf("path = %q", path)
	}
	cmd := exec.Command(path)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TEST_ARRAY_ID=42", "TEST_INDEX=5")
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Fatalf("run: %v, want exit 7", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "value.txt")); string(b) != hostile {
		t.Errorf("env value arrived as %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "index.txt")); string(b) != "5\n" {
		t.Errorf("CAPI_ARRAY_INDEX = %q", b)
	}
	if got, ok := ReadExitFile(ExitFilePath(path, "42", 5, true)); !ok || got != (Exit{Code: 7}) {
		t.Errorf("exit file: %+v, %v; want exit status 7", got, ok)
	}
	// Private whatever the job's umask, like the rest of capi's state.
	if fi, err := os.Stat(ExitFilePath(path, "42", 5, true)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("exit file: %v; want mode 0600", fi)
	}
}

// A job whose shell is ended by a signal sent from outside (a cancel, a
// scheduler's limit warning such as LSF's SIGUSR2 at the run limit) records
// "signal:N", never the 0 of its last command, under bash and under a POSIX
// sh (a site may set another shebang). One case per trapped signal.
func TestExitFileRecordsEachSignal(t *testing.T) {
	t.Parallel()
	for _, shell := range []string{"/bin/bash", "/bin/sh"} {
		if _, err := os.Stat(shell); err != nil {
			continue
		}
		for _, sig := range TrappedSignals {
			t.Run(filepath.Base(shell)+"/"+SignalName(sig), func(t *testing.T) {
				t.Parallel()
				got, ok := runUntilSignalled(t, shell, sig)
				if want := (Exit{Code: 128 + int(sig), Signal: int(sig)}); !ok || got != want {
					t.Errorf("exit file after SIG%s: %+v, %v; want %+v", SignalName(sig), got, ok, want)
				}
			})
		}
	}
}

// A program of the job dying by a signal is the program's own end: the
// shell records its status (128+N) as a plain exit status.
func TestExitFileChildKilledIsAnExitStatus(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var w Writer
	content, err := Render(Spec{ExitFileBase: ExitFileBase(filepath.Join(dir, "job.1.sh")), Dialect: testDialect,
		Command: `sh -c 'kill -USR2 $$'`})
	if err != nil {
		t.Fatal(err)
	}
	path, err := w.Write(dir, "job", content)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path)
	cmd.Env = append(os.Environ(), "TEST_JOB_ID=9")
	cmd.Run()
	if got, ok := ReadExitFile(ExitFilePath(path, "9", 0, false)); !ok || got != (Exit{Code: 128 + int(syscall.SIGUSR2)}) {
		t.Errorf("exit file: %+v, %v; want exit status %d without a signal", got, ok, 128+int(syscall.SIGUSR2))
	}
}

// runUntilSignalled runs a job script under shell, sends sig to its
// process group (as schedulers signal a job) once the command runs, and
// reads the exit file.
func runUntilSignalled(t *testing.T, shell string, sig syscall.Signal) (Exit, bool) {
	t.Helper()
	dir := t.TempDir()
	var w Writer
	content, err := Render(Spec{Shebang: "#!" + shell, ExitFileBase: ExitFileBase(filepath.Join(dir, "job.1.sh")), Dialect: testDialect,
		Command: "touch started; sleep 30"})
	if err != nil {
		t.Fatal(err)
	}
	path, err := w.Write(dir, "job", content)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TEST_JOB_ID=9")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	// Signal once sleep itself runs: a signal that arrives while the shell
	// is between commands is handled only after the next one ends.
	deadline := time.Now().Add(10 * time.Second)
	for !exists(filepath.Join(dir, "started")) || !childRuns(cmd.Process.Pid, "sleep") {
		if time.Now().After(deadline) {
			t.Fatal("the script never started its command")
		}
		time.Sleep(10 * time.Millisecond)
	}
	syscall.Kill(-cmd.Process.Pid, sig)
	cmd.Wait()
	return ReadExitFile(ExitFilePath(path, "9", 0, false))
}

// childRuns reports whether process pid has a child running the program
// name (true without /proc, where it cannot be told).
func childRuns(pid int, name string) bool {
	kids, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return true
	}
	for _, kid := range strings.Fields(string(kids)) {
		if comm, _ := os.ReadFile("/proc/" + kid + "/comm"); strings.TrimSpace(string(comm)) == name {
			return true
		}
	}
	return false
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func TestRenderRejectsUnsafe(t *testing.T) {
	t.Parallel()
	cases := []Spec{
		{Command: "x", Env: map[string]string{"BAD NAME": "v"}},
		{Command: "x", Env: map[string]string{"V": "nul\x00"}},
		{Command: "x", Directives: []string{"#TEST -o a\nrm -rf /"}},
		{Command: "x", Shebang: "bash"},
		{Command: "x\x00"},
		{Command: "x", ExitFileBase: "/a\x00b", Dialect: testDialect},
	}
	for i, c := range cases {
		_, err := Render(c)
		var verr *scheduler.ValueError
		if !errors.As(err, &verr) {
			t.Errorf("case %d: err = %v, want *ValueError", i, err)
		}
	}
}

func TestSanitizeName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"my job; rm -rf /": "my-job--rm--rf--",
		"ok_name-1.2":      "ok_name-1.2",
		"":                 "job",
		"ünï":              "-n-",
	} {
		if got := SanitizeName(in); got != want {
			t.Errorf("SanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestQuoteArgs(t *testing.T) {
	t.Parallel()
	got, err := QuoteArgs([]string{"sh", "-c", "exit 3", "it's"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `sh -c 'exit 3' 'it'\''s'`; got != want {
		t.Errorf("QuoteArgs = %s, want %s", got, want)
	}
	out, err := exec.Command("bash", "-c", "for a in "+got+`; do printf '[%s]' "$a"; done`).Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "[sh][-c][exit 3][it's]" {
		t.Errorf("shell split it as %s", out)
	}
}

// Two writers (as in two processes) never hand out the same path.
func TestWriterCountersNeverCollide(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var a, b Writer
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for i := range 40 {
		w := &a
		if i%2 == 1 {
			w = &b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := w.Write(dir, "same", []byte("#!/bin/sh\n"))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if seen[p] {
				t.Errorf("path %s handed out twice", p)
			}
			seen[p] = true
		}()
	}
	wg.Wait()
	if len(seen) != 40 {
		t.Errorf("%d scripts, want 40", len(seen))
	}
	fi, err := os.Stat(filepath.Join(dir, "same.1.sh"))
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("mode = %v, %v; want 0700", fi.Mode(), err)
	}
}

func TestReadExitFileIncomplete(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "x.exit")
	os.WriteFile(p, []byte("3"), 0o644)
	if _, ok := ReadExitFile(p); ok {
		t.Error("a number without its newline may be mid-write and must not count")
	}
	os.WriteFile(p, []byte("3\n"), 0o644)
	if got, ok := ReadExitFile(p); !ok || got != (Exit{Code: 3}) {
		t.Errorf("got %+v %v", got, ok)
	}
	os.WriteFile(p, []byte("signal:12\n"), 0o644)
	if got, ok := ReadExitFile(p); !ok || got != (Exit{Code: 140, Signal: 12}) {
		t.Errorf("signal:12 read as %+v %v", got, ok)
	}
	for _, bad := range []string{"signal:\n", "signal:x\n", "signal:0\n", "-1\n", "300\n", "x\n"} {
		os.WriteFile(p, []byte(bad), 0o644)
		if got, ok := ReadExitFile(p); ok {
			t.Errorf("%q read as %+v", bad, got)
		}
	}
	if _, ok := ReadExitFile(p + ".missing"); ok {
		t.Error("missing file read as ok")
	}
}

// Package script renders and writes job scripts.
//
// A script is: shebang, scheduler directives, capi's preamble (exit-status
// trap, array index variable, environment), prologue lines, the command,
// epilogue lines. Everything capi inserts from user data is shell-quoted;
// values that cannot be represented safely (NUL bytes, newlines in a
// directive) are rejected rather than written.
package script

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// Spec is everything a script is made of.
type Spec struct {
	Shebang    string   // "#!/bin/bash" when empty
	Directives []string // final directive lines, prefix included
	// ExitFile is where the EXIT trap records the job's exit status; see
	// ExitFileBase. Empty disables the trap.
	ExitFileBase string
	Dialect      scheduler.Dialect
	Array        bool
	Env          map[string]string
	Prologue     []string
	Command      string
	Epilogue     []string
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// TrappedSignals are the signals a job script records in its exit file:
// every signal whose default action ends the process (KILL and STOP cannot
// be caught). Signals that by default do nothing (CHLD, WINCH, URG, CONT)
// or stop the shell (TSTP, TTIN, TTOU) are left alone. A trap, unlike an
// ignore, is reset in child processes, so the user's programs see the
// signals as usual.
//
// The numbers are this machine's: the script is rendered where the
// scheduler's commands run, for nodes of the same system.
var TrappedSignals = []syscall.Signal{syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGILL,
	syscall.SIGTRAP, syscall.SIGABRT, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGUSR1, syscall.SIGSEGV,
	syscall.SIGUSR2, syscall.SIGPIPE, syscall.SIGALRM, syscall.SIGTERM, syscall.SIGXCPU, syscall.SIGXFSZ,
	syscall.SIGVTALRM, syscall.SIGPROF, syscall.SIGSYS}

// SignalName is the shell's name of a trapped signal ("USR2"), or "".
func SignalName(sig syscall.Signal) string { return signalNames[sig] }

var signalNames = map[syscall.Signal]string{syscall.SIGHUP: "HUP", syscall.SIGINT: "INT", syscall.SIGQUIT: "QUIT",
	syscall.SIGILL: "ILL", syscall.SIGTRAP: "TRAP", syscall.SIGABRT: "ABRT", syscall.SIGBUS: "BUS",
	syscall.SIGFPE: "FPE", syscall.SIGUSR1: "USR1", syscall.SIGSEGV: "SEGV", syscall.SIGUSR2: "USR2",
	syscall.SIGPIPE: "PIPE", syscall.SIGALRM: "ALRM", syscall.SIGTERM: "TERM", syscall.SIGXCPU: "XCPU",
	syscall.SIGXFSZ: "XFSZ", syscall.SIGVTALRM: "VTALRM", syscall.SIGPROF: "PROF", syscall.SIGSYS: "SYS"}

// trapLines make the exit file say how the job's shell ended: "signal:N"
// when the shell was ended by trapped signal N (it then exits 128+N),
// otherwise its exit status. Without the signal traps a shell ended by a
// signal runs its EXIT trap with the status of its last command (often
// 0), and a job cancelled or stopped at its run limit would read as done.
// The exit file is private to the job's owner like the rest of capi's
// state (the local executor keeps it in its spool); the umask is set in
// the EXIT trap, when the job's own files are all written. POSIX sh only:
// a site may set a shebang other than bash.
var trapLines = func() string {
	pairs := make([]string, len(TrappedSignals))
	for i, sig := range TrappedSignals {
		pairs[i] = fmt.Sprintf("%s:%d", signalNames[sig], int(sig))
	}
	return "__capi_sig=\n" +
		"__capi_caught() { __capi_sig=$1; exit $((128 + $1)); }\n" +
		`trap '__capi_rc=$?; if [ -n "$__capi_sig" ]; then __capi_rc="signal:$__capi_sig"; fi; umask 077; printf "%s\n" "$__capi_rc" > "$__capi_exit_file" 2>/dev/null' EXIT` + "\n" +
		"for __capi_s in " + strings.Join(pairs, " ") + `; do trap "__capi_caught ${__capi_s#*:}" "${__capi_s%:*}"; done` + "\n"
}()

// Render returns the script text.
func Render(s Spec) ([]byte, error) {
	var b bytes.Buffer
	shebang := s.Shebang
	if shebang == "" {
		shebang = "#!/bin/bash"
	}
	if !strings.HasPrefix(shebang, "#!") || strings.ContainsAny(shebang, "\n\r\x00") {
		return nil, &scheduler.ValueError{Kind: "shebang", Value: shebang, Hint: `a single line starting with "#!", e.g. "#!/bin/bash"`}
	}
	b.WriteString(shebang)
	b.WriteByte('\n')
	for _, d := range s.Directives {
		if strings.ContainsAny(d, "\n\r\x00") {
			return nil, &scheduler.ValueError{Kind: "directive", Value: d, Hint: "a directive must be a single line"}
		}
		b.WriteString(d)
		b.WriteByte('\n')
	}
	if s.ExitFileBase != "" {
		q, err := Quote(s.ExitFileBase)
		if err != nil {
			return nil, &scheduler.ValueError{Kind: "path", Value: s.ExitFileBase, Hint: "paths cannot contain NUL bytes"}
		}
		idVar := s.Dialect.JobIDVar
		suffix := ""
		if s.Array {
			idVar = s.Dialect.ArrayJobIDVar
			suffix = ".${" + s.Dialect.ArrayIndexVar + "}"
		}
		b.WriteString("# capi: record the exit status next to the script, for the monitor\n")
		fmt.Fprintf(&b, "__capi_exit_file=%s\".${%s}%s.exit\"\n", q, idVar, suffix)
		b.WriteString(trapLines)
	}
	if s.Array && s.Dialect.ArrayIndexVar != "" {
		fmt.Fprintf(&b, "export CAPI_ARRAY_INDEX=\"${%s}\"\n", s.Dialect.ArrayIndexVar)
	}
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !envName.MatchString(k) {
			return nil, &scheduler.ValueError{Kind: "environment variable name", Value: k, Hint: "letters, digits and _ only, not starting with a digit"}
		}
		q, err := Quote(s.Env[k])
		if err != nil {
			return nil, &scheduler.ValueError{Kind: "environment value", Value: s.Env[k], Hint: "values cannot contain NUL bytes"}
		}
		fmt.Fprintf(&b, "export %s=%s\n", k, q)
	}
	for _, l := range s.Prologue {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if strings.ContainsRune(s.Command, 0) {
		return nil, &scheduler.ValueError{Kind: "command", Value: s.Command, Hint: "commands cannot contain NUL bytes"}
	}
	b.WriteString(s.Command)
	b.WriteByte('\n')
	for _, l := range s.Epilogue {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// Quote returns s as one shell word in single quotes. Every byte but NUL can
// be represented; a NUL is an error.
func Quote(s string) (string, error) {
	if strings.ContainsRune(s, 0) {
		return "", fmt.Errorf("NUL byte in %q", s)
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'", nil
}

// QuoteArgs quotes each argument and joins them with spaces: the shell
// command line that runs exactly argv.
func QuoteArgs(argv []string) (string, error) {
	parts := make([]string, len(argv))
	for i, a := range argv {
		if isPlainWord(a) {
			parts[i] = a
			continue
		}
		q, err := Quote(a)
		if err != nil {
			return "", err
		}
		parts[i] = q
	}
	return strings.Join(parts, " "), nil
}

func isPlainWord(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("-_./=:,+@%", r):
		default:
			return false
		}
	}
	return true
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// SanitizeName replaces every character outside [A-Za-z0-9_.-] with '-'.
// An empty result becomes "job".
func SanitizeName(name string) string {
	s := unsafeName.ReplaceAllString(name, "-")
	if s == "" {
		return "job"
	}
	return s
}

// ExitFileBase is the common part of a job's exit-status files: the script
// path without ".sh". The trap appends ".{job id}[.{index}].exit".
func ExitFileBase(scriptPath string) string {
	return strings.TrimSuffix(scriptPath, ".sh")
}

// ExitFilePath is where the trap of the script at scriptPath records the
// exit status of job id (and element index, for arrays).
func ExitFilePath(scriptPath, id string, index int, inArray bool) string {
	p := ExitFileBase(scriptPath) + "." + id
	if inArray {
		p += "." + strconv.Itoa(index)
	}
	return p + ".exit"
}

// Exit is what a job script's exit trap recorded.
type Exit struct {
	// Code is the script's exit status; 128+Signal when Signal is set.
	Code int
	// Signal, when not 0, is the signal the job's shell itself caught: one
	// sent to the job from outside (a cancel, the scheduler at a limit,
	// preemption), as opposed to a program of the job dying by a signal,
	// which the shell sees as an exit status above 128.
	Signal int
}

// ReadExitFile reads an exit-status file: "N\n" for an exit status,
// "signal:N\n" for a shell ended by signal N. ok is false when the file
// does not exist or holds no complete line yet (the trap may be mid-write).
func ReadExitFile(path string) (e Exit, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil || !bytes.HasSuffix(b, []byte("\n")) {
		return Exit{}, false
	}
	return ParseExit(string(b))
}

// ParseExit reads the content of an exit-status file.
func ParseExit(s string) (e Exit, ok bool) {
	s = strings.TrimSpace(s)
	if sig, found := strings.CutPrefix(s, "signal:"); found {
		n, err := strconv.Atoi(sig)
		if err != nil || n <= 0 || n > 127 {
			return Exit{}, false
		}
		return Exit{Code: 128 + n, Signal: n}, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 {
		return Exit{}, false
	}
	return Exit{Code: n}, true
}

// scriptMode lets the owner alone read and run a job script: it carries
// the job's --env values (tokens, passwords), and the scheduler runs it as
// the owner.
const scriptMode = 0o700

// Writer chooses script paths {dir}/{name}.{counter}.sh with a counter no
// other file uses, also across processes: a path is reserved by creating
// the file exclusively.
type Writer struct {
	mu   sync.Mutex
	next map[string]int // dir/name -> next counter to try
}

// Reserve creates an empty script file at the next free path and returns
// the path. Fill writes its content.
func (w *Writer) Reserve(dir, safeName string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create work directory: %w", err)
	}
	key := filepath.Join(dir, safeName)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.next == nil {
		w.next = make(map[string]int)
	}
	n := max(w.next[key], 1)
	for {
		path := filepath.Join(dir, safeName+"."+strconv.Itoa(n)+".sh")
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, scriptMode)
		if os.IsExist(err) {
			n++
			continue
		}
		if err != nil {
			return "", fmt.Errorf("write job script: %w", err)
		}
		f.Close()
		w.next[key] = n + 1
		return path, nil
	}
}

// NextPath returns the path Reserve would choose now, without creating it.
func (w *Writer) NextPath(dir, safeName string) string {
	key := filepath.Join(dir, safeName)
	w.mu.Lock()
	n := max(w.next[key], 1)
	w.mu.Unlock()
	for {
		path := filepath.Join(dir, safeName+"."+strconv.Itoa(n)+".sh")
		if _, err := os.Lstat(path); os.IsNotExist(err) {
			return path
		}
		n++
	}
}

// Fill writes a reserved script's content and makes it executable
// whatever the umask. On failure the reserved file is removed.
func (w *Writer) Fill(path string, content []byte) error {
	err := os.WriteFile(path, content, scriptMode)
	if err == nil {
		err = os.Chmod(path, scriptMode)
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write job script %s: %w", path, err)
	}
	return nil
}

// Write reserves a path and fills it with content.
func (w *Writer) Write(dir, safeName string, content []byte) (string, error) {
	path, err := w.Reserve(dir, safeName)
	if err != nil {
		return "", err
	}
	return path, w.Fill(path, content)
}

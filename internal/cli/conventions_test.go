package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	capi "github.com/go-cluster-api/clusterapi"
	"github.com/go-cluster-api/clusterapi/internal/store"
)

// A typo must fail, in one line, with a suggestion: "capi config chekc"
// printing help and exiting 0 passes in a CI script.
func TestMistypedCommandsAndFlags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"config", "chekc"}, `config: unknown command "chekc"; did you mean "check"?`},
		{[]string{"config"}, "config: missing command: one of check, paths, show"},
		{[]string{"completion", "zshh"}, `completion: unknown command "zshh"; did you mean "zsh"?`},
		{[]string{"completion"}, "completion: missing command"},
		{[]string{"stauts"}, `unknown command "stauts"; did you mean "status"?`},
		{[]string{"echo", "hi"}, "to run a program: capi run -- echo"},
		{[]string{"run", "--mem", "1GB", "--", "true"}, "run: unknown flag --mem; did you mean --memory?"},
		{[]string{"submit", "--cpu", "2", "--", "true"}, "submit: unknown flag --cpu; did you mean --cpus?"},
		{[]string{"status", "--wait"}, "it is a flag of capi array"},
		{[]string{"run", "ls", "-l"}, "a program's own flags go after --"},
		{[]string{"submit", "--cpus", "x", "--", "true"}, `--cpus "x": want a whole number`},
		{[]string{"array", "--range", "1-3", "--max-concurrent"}, "--max-concurrent needs a value"},
		{[]string{"wait"}, "wait: missing job id"},
		{[]string{"logs"}, "logs: missing job id"},
		{[]string{"logs", "1", "2"}, "logs takes one job id, got 2"},
		{[]string{"history", "x"}, "history takes no arguments"},
		{[]string{"doctor", "x"}, "doctor takes no arguments"},
		{[]string{"--color", "blue", "status"}, `--color "blue": use auto, always or never`},
		{[]string{"status", "-o", "yaml"}, `-o "yaml"`},
		{[]string{"status", "-o", "custom-columns=NOPE"}, `"NOPE" is not a column`},
		{[]string{"status", "--format", "{{.job_id"}, "--format:"},
		{[]string{"status", "--json", "-o", "wide"}, "--json and -o wide"},
		{[]string{"watch", "-o", "json"}, "watch -o"},
	} {
		r := e.run(tc.args...)
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			wantOneLineError(t, r, ExitUsage, tc.want)
			if strings.Contains(r.err, "arg(s)") || strings.Contains(r.out, "Usage:") {
				t.Errorf("cobra's words or a help page: %q %q", r.err, r.out)
			}
		})
	}
}

// --json is honoured or refused, never silently ignored.
func TestJSONHonouredOrRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, args := range [][]string{
		{"watch", "--json"},
		{"logs", "--json", "1"},
		{"script", "--json", "--", "true"},
		{"completion", "bash", "--json"},
		{"--json"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			wantOneLineError(t, e.run(args...), ExitUsage, "--json")
		})
	}
	r := e.run("run", "--json", "--work-dir", e.work, "--", "sh", "-c", "echo hidden; exit 3")
	wantCode(t, r, 3)
	var rec capi.Record
	if err := json.Unmarshal([]byte(r.out), &rec); err != nil || rec.Status != capi.Failed || rec.ExitCode == nil || *rec.ExitCode != 3 {
		t.Errorf("run --json: %v\n%s", err, r.out)
	}
	r = e.run("version", "--json")
	wantCode(t, r, ExitOK)
	var v versionInfo
	if err := json.Unmarshal([]byte(r.out), &v); err != nil || v.Go == "" || v.Version == "" {
		t.Errorf("version --json: %v %q", err, r.out)
	}
	if r := e.run("--version", "--json"); r.out != e.run("version", "--json").out {
		t.Errorf("--version --json differs from version --json: %q", r.out)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, args := range [][]string{{"--version"}, {"version"}} {
		r := e.run(args...)
		wantCode(t, r, ExitOK)
		if !strings.HasPrefix(r.out, "capi ") || !strings.Contains(r.out, " go1.") || strings.Count(r.out, "\n") != 1 {
			t.Errorf("%v: %q", args, r.out)
		}
	}
}

// Warnings are one "capi: warning:" line each, not slog records.
func TestWarningsAreOneLine(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.writeConfig("memroy: 4 GB\n")
	r := e.run("status")
	wantCode(t, r, ExitOK)
	if !strings.HasPrefix(r.err, `capi: warning: unknown key "memroy" in `) || !strings.Contains(r.err, `did you mean "memory"?`) ||
		strings.Contains(r.err, "level=") || strings.Contains(r.err, "time=") {
		t.Errorf("stderr %q", r.err)
	}
}

// A job asked for on the wrong executor: say which one knows it.
func TestJobOfAnotherExecutor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Create the job store, then record a job submitted to Grid Engine.
	wantCode(t, e.run("status"), ExitOK)
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(e.state, "jobs.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	token, err := db.BeginSubmit(ctx, store.Submission{Scheduler: "sge", Name: "remote", Command: "true"})
	if err == nil {
		err = db.CompleteSubmit(ctx, token, "36")
	}
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"status", "wait", "logs", "cancel"} {
		wantOneLineError(t, e.run(cmd, "36"), ExitUsage, "capi: job 36 was submitted with --executor sge, not local (add --executor sge)\n")
	}
}

func TestCancelEndedJobSaysSo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.submit("--name", "quick", "--", "true")
	wantCode(t, e.run("wait", id), ExitOK)
	r := e.run("cancel", id)
	wantCode(t, r, ExitOK)
	if r.out != "" || r.err != "capi: job "+id+" (quick) had already ended (done, exit 0); nothing was cancelled\n" {
		t.Errorf("cancel of an ended job: out %q err %q", r.out, r.err)
	}
}

func TestWorkDirAndLogDirsMustExist(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	missing := filepath.Join(e.dir, "typo")
	wantOneLineError(t, e.run("submit", "--work-dir", missing, "--", "true"), ExitUsage, "--work-dir "+missing+" does not exist (create it, or add --mkdir)")
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("a refused --work-dir was created")
	}
	logs := filepath.Join(e.dir, "logs", "out.log")
	wantOneLineError(t, e.run("run", "--work-dir", e.work, "--stdout", logs, "--", "true"), ExitUsage, "--stdout "+logs+": no directory "+filepath.Dir(logs)+" (create it, or add --mkdir)")
	wantOneLineError(t, e.run("array", "--range", "1-2", "--work-dir", e.work, "--stderr", "sub/err.log", "--", "true"), ExitUsage, "--stderr sub/err.log: no directory "+filepath.Join(e.work, "sub"))

	// --mkdir creates them; a placeholder in the directory is the
	// scheduler's business.
	r := e.run("submit", "--mkdir", "--work-dir", missing, "--stdout", logs, "--", "echo", "made")
	wantCode(t, r, ExitOK)
	wantCode(t, e.run("wait", strings.TrimSpace(r.out)), ExitOK)
	if b, err := os.ReadFile(logs); err != nil || string(b) != "made\n" {
		t.Errorf("log %q, %v", b, err)
	}
	wantCode(t, e.run("script", "--work-dir", e.work, "--stdout", "logs-{job_id}/out.log", "--", "true"), ExitOK)
}

// The array --help example passes the index to the program, not the
// literal text "$CAPI_ARRAY_INDEX".
func TestArrayHelpExampleExpandsTheIndex(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.run("array", "--help")
	if strings.Contains(r.out, `'$CAPI_ARRAY_INDEX'`) || !strings.Contains(r.out, `sh -c './process.sh "$CAPI_ARRAY_INDEX"'`) {
		t.Errorf("array --help:\n%s", r.out)
	}
	r = e.run("array", "--range", "1-2", "--wait", "--work-dir", e.work, "--", "sh", "-c", `echo "i=$CAPI_ARRAY_INDEX"`)
	wantCode(t, r, ExitOK)
	id := strings.Fields(strings.TrimPrefix(r.out, "submitted array "))[0]
	if r := e.run("logs", id, "--index", "2"); r.out != "i=2\n" {
		t.Errorf("element 2 printed %q", r.out)
	}
}

// Completion knows job ids, executors, profiles and statuses.
func TestCompletesJobsExecutorsProfiles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.writeConfig("profiles:\n  big:\n    cpus: 2\n  gpu:\n    gpus: 1\n")
	done := e.submit("--name", "finished", "--", "true")
	wantCode(t, e.run("wait", done), ExitOK)
	long := e.submit("--name", "sleeper", "--", "sleep", "30")
	t.Cleanup(func() { e.run("cancel", long) })

	complete := func(args ...string) []string {
		t.Helper()
		r := e.run(append([]string{"__complete"}, args...)...)
		wantCode(t, r, ExitOK)
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(r.out), "\n") {
			if !strings.HasPrefix(l, ":") {
				out = append(out, l)
			}
		}
		return out
	}
	if got := complete("status", ""); len(got) != 2 || !strings.HasPrefix(got[0], long+"\tsleeper") || !strings.HasPrefix(got[1], done+"\tfinished done") {
		t.Errorf("status: %q", got)
	}
	if got := complete("cancel", ""); len(got) != 1 || !strings.HasPrefix(got[0], long+"\t") {
		t.Errorf("cancel (unfinished only): %q", got)
	}
	if got := complete("logs", done, ""); len(got) != 0 {
		t.Errorf("logs takes one id: %q", got)
	}
	if got := strings.Join(complete("status", "--executor", ""), " "); !strings.Contains(got, "local") || !strings.Contains(got, "slurm") {
		t.Errorf("--executor: %q", got)
	}
	if got := complete("status", "--profile", ""); strings.Join(got, " ") != "big gpu" {
		t.Errorf("--profile: %q", got)
	}
	if got := complete("status", "--status", ""); len(got) != len(allStatuses) {
		t.Errorf("--status: %q", got)
	}
	if got := complete("status", "-o", ""); !strings.Contains(strings.Join(got, " "), "wide") {
		t.Errorf("-o: %q", got)
	}
}

func TestColour(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.submit("--name", "bad", "--", "sh", "-c", "exit 2")
	wantCode(t, e.run("wait", id), ExitJobFailed)
	for _, tc := range []struct {
		cols  int
		vars  map[string]string
		flags []string
		want  bool
	}{
		{80, map[string]string{"TERM": "xterm"}, nil, true},
		{80, map[string]string{"TERM": "xterm", "NO_COLOR": "1"}, nil, false},
		{80, map[string]string{"TERM": "dumb"}, nil, false},
		{80, map[string]string{"TERM": "xterm"}, []string{"--color", "never"}, false},
		{0, nil, nil, false},
		{0, nil, []string{"--color", "always"}, true},
	} {
		e := *e
		e.cols, e.rows, e.vars = tc.cols, 24, tc.vars
		r := e.run(append(tc.flags, "status")...)
		if got := strings.Contains(r.out, sgrRed+"failed"); got != tc.want {
			t.Errorf("terminal %v, env %v, %v: colour %v, want %v: %q", tc.cols > 0, tc.vars, tc.flags, got, tc.want, r.out)
		}
	}
}

func TestOutputFormats(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.submit("--name", "fmt", "--cpus", "1", "--meta", "sample=S7", "--", "true")
	wantCode(t, e.run("wait", id), ExitOK)

	r := e.run("status", "-o", "json")
	if r.out != e.run("status", "--json").out {
		t.Errorf("-o json differs from --json")
	}
	r = e.run("status", "-o", "custom-columns=ID:.job_id,CPUS:.resources.cpus,SAMPLE:.metadata.sample,AGE,NOPE:.no.such")
	wantCode(t, r, ExitOK)
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "ID CPUS SAMPLE AGE NOPE" ||
		!strings.HasPrefix(strings.Join(strings.Fields(lines[1]), " "), id+" 1 S7 ") || !strings.HasSuffix(lines[1], "-") {
		t.Errorf("custom-columns:\n%s", r.out)
	}
	r = e.run("status", "--format", "{{.job_id}} {{.name}} {{.status}} {{.exit_code}}")
	if r.out != id+" fmt done 0\n" {
		t.Errorf("--format: %q", r.out)
	}
}

package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	capi "github.com/go-cluster-api/clusterapi"
	"github.com/go-cluster-api/clusterapi/scheduler/local"
)

type doctorOptions struct {
	*globals
	timeout time.Duration
}

func newDoctorCmd(g *globals) *cobra.Command {
	o := &doctorOptions{globals: g}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check that capi can work here: scheduler commands, accounting, config, state dir",
		Long: `Check this machine: which scheduler commands are on PATH and their versions,
whether the scheduler's accounting answers (sacct, qacct, bhist), what the
configuration resolves to, and whether the state dir is writable.

Exit status: 0 when the configured executor can work, 2 when the
configuration is invalid, 3 when the executor's commands are missing or the
state dir is not writable.`,
		Example: `  capi doctor
  capi --executor slurm doctor
  capi doctor --json | jq '.[] | select(.status != "ok")'`,
		Args:        noArgs,
		Annotations: jsonOK,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.Context())
		},
	}
	cmd.Flags().DurationVar(&o.timeout, "timeout", 5*time.Second, "how long each probed command may take")
	return cmd
}

// check is one line of the report.
type check struct {
	Check  string `json:"check"`
	Status string `json:"status"` // ok, warn, fail, info
	Detail string `json:"detail"`
}

// schedulerTools are the commands capi runs for each grid scheduler.
type schedulerTools struct {
	name       string
	required   []string
	accounting []string // argv probing the accounting source; nil = none
	version    []string
}

var gridSchedulers = []schedulerTools{
	{name: "lsf", required: []string{"bsub", "bjobs", "bkill"}, version: []string{"bsub", "-V"}, accounting: []string{"bhist", "-n", "1", "-a"}},
	{name: "slurm", required: []string{"sbatch", "squeue", "scancel"}, version: []string{"sbatch", "--version"}, accounting: []string{"sacct", "--noheader", "-X", "-o", "JobID", "-S", "now"}},
	{name: "sge", required: []string{"qsub", "qstat", "qdel"}, version: []string{"qstat", "-help"}, accounting: []string{"qacct", "-j", "0"}},
}

func (o *doctorOptions) run(ctx context.Context) error {
	if ctx == nil {
		ctx = background()
	}
	if o.timeout <= 0 {
		return usageErr("--timeout must be positive")
	}
	var checks []check
	add := func(name, status, format string, args ...any) {
		checks = append(checks, check{name, status, fmt.Sprintf(format, args...)})
	}
	cfg, info, cfgErr := o.loadConfig(false)
	exitCode := ExitOK
	if cfgErr != nil {
		var ee *exitError
		msg := cfgErr
		if errors.As(cfgErr, &ee) && ee.err != nil {
			msg = ee.err
		}
		add("config", "fail", "%v", msg)
		exitCode = ExitUsage
	} else {
		if info.File != "" {
			add("config", "ok", "%s", info.File)
		} else {
			add("config", "info", "no config file found (searched %s): defaults", strings.Join(info.Searched, ", "))
		}
		for _, w := range info.Warnings {
			add("config", "warn", "%s", w)
		}
	}
	executor := cfg.Executor
	if executor == "" {
		executor = "local"
	}
	if cfgErr == nil {
		detail := executor
		if o.profile != "" {
			detail += ", profile " + o.profile
		}
		if cfg.JobNamePrefix != "" {
			detail += ", job_name_prefix " + cfg.JobNamePrefix
		} else if executor != "local" {
			detail += ", no job_name_prefix (reconnect and status --reconnect need one)"
		}
		add("executor", "info", "%s", detail)
		stateDir := cfg.StateDir
		if stateDir == "" {
			stateDir = capi.DefaultStateDir()
		}
		if err := writable(stateDir); err != nil {
			add("state dir", "fail", "%s: not writable: %v", stateDir, err)
			exitCode = max(exitCode, ExitScheduler)
		} else {
			add("state dir", "ok", "%s (writable)", stateDir)
		}
		for _, p := range readableByOthers(stateDir) {
			add("state dir", "warn", "%s is readable by other users; it holds your jobs' commands and history: chmod go-rwx %s", p, p)
		}
	}
	if cfgErr == nil && executor != "local" && !cfg.InMemory {
		o.sharedPollCheck(add)
	}
	if executor == "local" {
		slots := cfg.LocalSlots
		if slots <= 0 {
			slots = runtime.NumCPU()
		}
		add("local", "ok", "runs jobs on this machine, %d cpu slots", slots)
		if cfgErr == nil {
			o.localSpoolCheck(cfg.StateDir, add)
		}
	}
	for _, s := range gridSchedulers {
		configured := s.name == executor
		var missing, found []string
		for _, c := range s.required {
			if p, err := o.lookPath(c); err == nil {
				found = append(found, p)
			} else {
				missing = append(missing, c)
			}
		}
		switch {
		case len(found) == 0 && !configured:
			add(s.name, "info", "not installed (%s not on PATH)", strings.Join(s.required, ", "))
			continue
		case len(missing) > 0:
			status := "warn"
			if configured {
				status = "fail"
				exitCode = max(exitCode, ExitScheduler)
			}
			add(s.name, status, "missing on PATH: %s", strings.Join(missing, ", "))
			if len(found) == 0 {
				continue
			}
		default:
			add(s.name, "ok", "%s", strings.Join(found, ", "))
		}
		if v, err := o.probe(ctx, s.version); err != nil {
			add(s.name+" version", "warn", "%s: %v", strings.Join(s.version, " "), err)
		} else {
			add(s.name+" version", "info", "%s", firstLine(v))
		}
		o.checkAccounting(ctx, s, add)
	}
	if o.json {
		if err := writeJSON(o.io.Out, checks); err != nil {
			return err
		}
	} else {
		o.print(checks)
	}
	if exitCode != ExitOK {
		return &exitError{code: exitCode, err: fmt.Errorf("executor %s cannot work here (see the report above)", executor)}
	}
	return nil
}

func (o *doctorOptions) checkAccounting(ctx context.Context, s schedulerTools, add func(name, status, format string, args ...any)) {
	name := s.name + " accounting"
	if _, err := o.lookPath(s.accounting[0]); err != nil {
		add(name, "warn", "%s not on PATH: jobs that leave the queue are settled from their exit files", s.accounting[0])
		return
	}
	out, err := o.probe(ctx, s.accounting)
	low := strings.ToLower(out)
	for _, bad := range []string{"disabled", "unable to open", "not configured", "no such file", "cannot open", "connection refused"} {
		if strings.Contains(low, bad) {
			add(name, "warn", "%s: %s", s.accounting[0], firstLine(out))
			return
		}
	}
	if err != nil {
		add(name, "warn", "%s: %v", s.accounting[0], err)
		return
	}
	add(name, "ok", "%s answers", s.accounting[0])
}

func (o *doctorOptions) print(checks []check) {
	for _, c := range checks {
		fmt.Fprintf(o.io.Out, "[%-4s] %-18s %s\n", c.Status, c.Check, c.Detail)
	}
}

// lookPath finds a command on o.path (or $PATH).
func (o *doctorOptions) lookPath(name string) (string, error) {
	dirs := o.searchPath
	if dirs == "" {
		dirs = os.Getenv("PATH")
	}
	for _, d := range filepath.SplitList(dirs) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

type timeoutErr struct{ d time.Duration }

func (e *timeoutErr) Error() string { return fmt.Sprintf("no answer within %s", e.d) }

// probe runs argv with the doctor's timeout and returns its combined
// output; an exit status other than 0 is not an error (many schedulers
// print their version and exit 1), a timeout or a failure to start is.
func (o *doctorOptions) probe(ctx context.Context, argv []string) (string, error) {
	p, err := o.lookPath(argv[0])
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p, argv[1:]...)
	if o.searchPath != "" {
		cmd.Env = append(os.Environ(), "PATH="+o.searchPath)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	if ctx.Err() != nil {
		return out.String(), &timeoutErr{o.timeout}
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return out.String(), err
	}
	return out.String(), nil
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return "(no output)"
}

// readableByOthers lists the state dir and the job store files in it that
// users other than the owner can read (older capi versions created them
// 0755/0644; new ones are 0700/0600).
func readableByOthers(stateDir string) []string {
	var out []string
	for _, p := range []string{stateDir, filepath.Join(stateDir, "jobs.db")} {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o044 != 0 {
			out = append(out, p)
		}
	}
	return out
}

// writable checks that dir exists (creating it) and accepts files.
func writable(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".capi-doctor-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// localSpoolCheck reports the local executor's spool: its jobs, what
// waits and runs, and whether a process dispatches; jobs waiting with
// nobody to start them is a warning with what to do.
func (o *doctorOptions) localSpoolCheck(stateDir string, add func(name, status, format string, args ...any)) {
	if stateDir == "" {
		stateDir = capi.DefaultStateDir()
	}
	sum, err := local.Describe(stateDir)
	if err != nil {
		add("local spool", "warn", "cannot read %s: %v", local.SpoolDir(stateDir), err)
		return
	}
	dispatcher := "dispatcher unknown"
	switch {
	case sum.Known && sum.Dispatched:
		dispatcher = "dispatcher running"
	case sum.Known:
		dispatcher = "no dispatcher"
	}
	add("local spool", "info", "%d jobs, %.1f MB journal; %d waiting, %d running; %s",
		sum.Jobs, float64(sum.JournalBytes)/(1<<20), sum.Waiting, sum.Running, dispatcher)
	if sum.Waiting > 0 && sum.Known && !sum.Dispatched {
		add("local spool", "warn", "%d waiting and no dispatcher: capi status starts them", sum.Waiting)
	}
}

// sharedPollCheck reports who holds the poll lease of the state dir, the
// last status command and the effective interval.
func (o *doctorOptions) sharedPollCheck(add func(name, status, format string, args ...any)) {
	ex, err := o.newExecutor()
	if err != nil {
		return
	}
	defer o.closeExecutor(ex)
	ctx, cancel := context.WithTimeout(background(), o.timeout)
	defer cancel()
	st, err := ex.PollState(ctx)
	switch {
	case err != nil:
		add("shared poll", "warn", "cannot read the poll lease: %v", err)
	case !st.Shared:
	case st.Holder == "" || st.LastStart.IsZero():
		add("shared poll", "info", "no process has polled yet; interval %v", st.Interval)
	default:
		last := "running since " + st.LastStart.Format(time.TimeOnly)
		if !st.LastFinish.IsZero() {
			last = fmt.Sprintf("at %s, took %v", st.LastStart.Format(time.TimeOnly), st.LastFinish.Sub(st.LastStart).Round(time.Millisecond))
			if st.LastError != "" {
				last += ", failed: " + st.LastError
			}
		}
		add("shared poll", "info", "lease held by %s; last status command %s; interval %v among %d polling process(es)", st.Holder, last, st.Interval, st.Pollers)
	}
}

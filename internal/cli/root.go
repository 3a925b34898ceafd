package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	capi "github.com/go-cluster-api/clusterapi"
)

// Exit codes.
const (
	ExitOK        = 0
	ExitJobFailed = 1
	ExitUsage     = 2
	ExitScheduler = 3
	ExitKilled    = 130
)

// IO is where a command reads and writes; tests replace it.
type IO struct {
	In          io.Reader
	Out, ErrOut io.Writer
}

// globals are the flags every command shares.
type globals struct {
	io       IO
	config   string
	profile  string
	executor string
	set      []string
	json     bool
	verbose  bool
	// signals delivers interrupts to long-running commands; nil uses the
	// process's SIGINT and SIGTERM.
	signals <-chan os.Signal
	// terminal reports whether Out is a terminal; nil checks the file
	// descriptor (tests set it to exercise the live views).
	terminal func() bool
	// pollInterval overrides how often commands that watch jobs poll the
	// scheduler; 0 = pollEvery's choice.
	pollInterval time.Duration
	// searchPath is where doctor looks for scheduler commands; "" = $PATH.
	searchPath string
	// self is the capi binary, to start background helpers with; "" (in
	// tests) starts none.
	self string
}

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error // nil: exit silently (the command already reported)
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// Main runs capi with os.Args and returns the process exit code.
func Main() int {
	g := &globals{io: IO{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}}
	g.self = selfPath()
	return run(os.Args[1:], g)
}

// Run runs capi with args and returns the exit code.
func Run(args []string, stdio IO) int {
	return run(args, &globals{io: stdio})
}

func run(args []string, g *globals) int {
	root := newRootCmd(g)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			printErr(g.io.ErrOut, ee.err)
		}
		return ee.code
	}
	printErr(g.io.ErrOut, err)
	return codeFor(err)
}

// codeFor classifies an error that was not given a code explicitly.
func codeFor(err error) int {
	var cfgErr *capi.ConfigError
	var valErr *capi.ValueError
	switch {
	case errors.As(err, &cfgErr), errors.As(err, &valErr):
		return ExitUsage
	case errors.Is(err, capi.ErrClusterAPI):
		return ExitScheduler
	case isUsage(err):
		return ExitUsage
	}
	return ExitScheduler
}

// isUsage recognises cobra's own argument and flag errors.
func isUsage(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown flag", "unknown command", "unknown shorthand", "invalid argument", "flag needs an argument", "accepts ", "requires at least", "required flag"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

func printErr(w io.Writer, err error) {
	msg := strings.TrimSpace(err.Error())
	msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", " ")), " ")
	fmt.Fprintf(w, "capi: %s\n", msg)
}

func newRootCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "capi",
		Short: "Submit and monitor batch jobs on LSF, SLURM, Grid Engine and this machine",
		Long: `capi submits jobs to a batch scheduler and follows them to the end, the same way on
IBM LSF, SLURM, Grid Engine and the local machine.

Configuration is read from --config, $CLUSTER_API_CONFIG, ./cluster_api.yaml or
~/.config/cluster_api/config.yaml (the first that exists); without one, jobs run
on this machine.`,
		Example: `  capi run -- echo hello
  id=$(capi submit --cpus 4 --memory "8 GB" -- ./align.sh) && capi wait "$id"
  capi array --range 1-100 --max-concurrent 10 --wait -- ./task.sh
  capi status --status failed --since 1d
  capi --profile big --executor slurm script -- ./pipeline.sh
  capi doctor`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(g.io.Out)
	root.SetErr(g.io.ErrOut)
	root.SetIn(g.io.In)
	f := root.PersistentFlags()
	f.StringVar(&g.config, "config", "", "config file (default: search $CLUSTER_API_CONFIG, ./cluster_api.yaml, ~/.config/cluster_api/config.yaml)")
	f.StringVar(&g.profile, "profile", "", "config profile to apply")
	f.StringVar(&g.executor, "executor", "", "scheduler to use: "+strings.Join(capi.ExecutorNames(), ", "))
	f.StringArrayVar(&g.set, "set", nil, "override a config key: --set key=value (repeatable)")
	f.BoolVar(&g.json, "json", false, "print machine-readable JSON")
	f.BoolVarP(&g.verbose, "verbose", "v", false, "log debug details to stderr")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr("%v (see '%s --help')", err, c.CommandPath())
	})
	root.AddCommand(
		newRunCmd(g),
		newSubmitCmd(g),
		newArrayCmd(g),
		newStatusCmd(g),
		newHistoryCmd(g),
		newWaitCmd(g),
		newWatchCmd(g),
		newCancelCmd(g),
		newLogsCmd(g),
		newScriptCmd(g),
		newConfigCmd(g),
		newDoctorCmd(g),
		newDispatchCmd(g),
	)
	addCompletionCmd(root)
	return root
}

// logger logs warnings (and with -v debug details) to stderr.
func (g *globals) logger() *slog.Logger {
	level := slog.LevelWarn
	if g.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(g.io.ErrOut, &slog.HandlerOptions{Level: level}))
}

// loadConfig applies --config, --profile, --executor and --set.
func (g *globals) loadConfig(strict bool) (capi.Config, capi.ConfigInfo, error) {
	over := map[string]string{}
	for _, kv := range g.set {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return capi.Config{}, capi.ConfigInfo{}, usageErr("--set %q: write key=value", kv)
		}
		over[strings.TrimSpace(k)] = v
	}
	if g.executor != "" {
		over["executor"] = g.executor
	}
	cfg, info, err := capi.LoadConfig(capi.LoadOptions{Path: g.config, Profile: g.profile, Overrides: over, Strict: strict})
	if err != nil {
		return cfg, info, &exitError{code: ExitUsage, err: err}
	}
	log := g.logger()
	for _, w := range info.Warnings {
		log.Warn(w)
	}
	return cfg, info, nil
}

// executor loads configuration and creates the executor.
func (g *globals) newExecutor() (*capi.Executor, error) {
	cfg, _, err := g.loadConfig(false)
	if err != nil {
		return nil, err
	}
	ex, err := capi.New(cfg, &capi.Options{Logger: g.logger()})
	if err != nil {
		return nil, &exitError{code: codeFor(err), err: err}
	}
	return ex, nil
}

// interrupts returns a channel of SIGINT/SIGTERM and a stop function.
func (g *globals) interrupts() (<-chan os.Signal, func()) {
	if g.signals != nil {
		return g.signals, func() {}
	}
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	return ch, func() { signal.Stop(ch) }
}

func background() context.Context { return context.Background() }

// isTerminal reports whether output goes to a terminal (live views redraw
// only there; elsewhere they print plain lines).
func (g *globals) isTerminal() bool {
	if g.terminal != nil {
		return g.terminal()
	}
	f, ok := g.io.Out.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// pollEvery is how often commands that follow jobs started elsewhere poll:
// the local executor's spool is cheap to read, a grid scheduler is asked
// every poll_interval.
func (g *globals) pollEvery(ex *capi.Executor) time.Duration {
	if g.pollInterval > 0 {
		return g.pollInterval
	}
	if ex.Name() == "local" {
		// Cheap, but not free: every poll reads the spool and writes the
		// job store, and polling much faster slows the jobs themselves.
		return 250 * time.Millisecond
	}
	return ex.Config().PollInterval
}

// codeErr gives err the exit code its kind calls for.
func codeErr(err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	return &exitError{code: codeFor(err), err: err}
}

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
	color    string
	version  bool
	// signals delivers interrupts to long-running commands; nil uses the
	// process's SIGINT and SIGTERM.
	signals <-chan os.Signal
	// openConsole stands for the terminal Out writes to (tests fake one
	// of a given size); nil inspects Out's file descriptor.
	openConsole func() *console
	// env reads environment variables (NO_COLOR, TERM); nil = os.Getenv.
	env func(string) string
	// pollInterval overrides how often commands that watch jobs poll the
	// scheduler; 0 = pollEvery's choice.
	pollInterval time.Duration
	// searchPath is where doctor looks for scheduler commands; "" = $PATH.
	searchPath string
	// dispatching: this process is the local executor's background
	// dispatcher (capi local-dispatch).
	dispatching bool
	// self is the capi binary, to start background helpers with; "" (in
	// tests) starts none.
	self string
	// quiet discards log messages (shell completion must print nothing
	// but candidates).
	quiet bool
	// live is the line progress is drawn on; see line.
	live *liveLine
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
	ctx, stop := g.interruptible()
	defer stop()
	root := newRootCmd(g)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if ctx.Err() != nil {
		// Interrupted: 130 whatever the command made of it (a killed
		// scheduler command, a cancelled context), as a shell reports a
		// program that Ctrl-C ended.
		var ee *exitError
		switch {
		case errors.As(err, &ee) && ee.code == ExitKilled:
			if ee.err != nil {
				printErr(g.io.ErrOut, ee.err)
			}
		case err == nil || errors.Is(err, context.Canceled):
			printErr(g.io.ErrOut, errors.New("interrupted"))
		default:
			printErr(g.io.ErrOut, fmt.Errorf("interrupted: %w", err))
		}
		return ExitKilled
	}
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

// interruptible returns the context every command runs in: the first
// SIGINT or SIGTERM cancels it, so that a command waiting on a scheduler
// command or the job store stops and capi exits 130. After that the
// signals are the default again (a second Ctrl-C ends a stuck capi at
// once), except for commands that listen themselves (run, array --wait,
// wait, watch, logs --follow), which decide what a second one means.
// Tests deliver their signals through g.signals to those commands only.
func (g *globals) interruptible() (context.Context, func()) {
	if g.signals != nil {
		return context.WithCancel(context.Background())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	return ctx, stop
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
on this machine.

Exit status: 0 ok, 1 a job failed, 2 usage or configuration error, 3 scheduler
error, 130 interrupted (Ctrl-C) or a job was killed; capi run exits with the
job's own exit code.`,
		Example: `  capi run -- echo hello
  id=$(capi submit --cpus 4 --memory "8 GB" -- ./align.sh) && capi wait "$id"
  capi array --range 1-100 --max-concurrent 10 --wait -- ./task.sh
  capi status --status failed --since 1d
  capi --profile big --executor slurm script -- ./pipeline.sh
  capi doctor`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownSubcommand(c, args[0])
			}
			return nil
		},
		Annotations: jsonOK,
		RunE: func(c *cobra.Command, args []string) error {
			if g.version {
				return printVersion(g)
			}
			if g.json {
				return usageErr("--json: give a command (%s)", seeHelp(c))
			}
			return c.Help()
		},
		PersistentPreRunE: func(c *cobra.Command, args []string) error {
			return g.checkGlobals(c)
		},
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
	f.StringVar(&g.color, "color", "auto", "colour failed and killed jobs: auto (on a terminal, unless NO_COLOR is set), always, never")
	root.Flags().BoolVar(&g.version, "version", false, "print capi's version (as capi version)")
	root.SetFlagErrorFunc(flagError)
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
		newVersionCmd(g),
		newDispatchCmd(g),
	)
	addCompletionCmd(g, root)
	requireSubcommands(root)
	return root
}

// jsonKey is the annotation saying whether a command honours --json:
// "ok", or why not. A command without it refuses --json: a flag that is
// silently ignored would hand a script text where it expects JSON.
const jsonKey = "capi.json"

var jsonOK = map[string]string{jsonKey: "ok"}

func noJSON(why string) map[string]string { return map[string]string{jsonKey: why} }

// checkGlobals validates the flags every command shares, before it runs.
func (g *globals) checkGlobals(c *cobra.Command) error {
	switch g.color {
	case "auto", "always", "never":
	default:
		return usageErr("--color %q: use auto, always or never", g.color)
	}
	if g.json {
		if why := c.Annotations[jsonKey]; why != "ok" {
			if why == "" {
				why = "this command has no JSON output"
			}
			return usageErr("%s --json: %s", cmdName(c), why)
		}
	}
	return nil
}

// logger writes warnings (and with -v debug details) to stderr, one
// "capi: warning: ..." line each.
func (g *globals) logger() *slog.Logger {
	if g.quiet {
		return slog.New(slog.DiscardHandler)
	}
	level := slog.LevelWarn
	if g.verbose {
		level = slog.LevelDebug
	}
	return slog.New(newLineHandler(g.io.ErrOut, level, g.line()))
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
	wanted := cfg.PollInterval
	if wanted <= 0 {
		wanted = capi.DefaultPollInterval
	}
	if eff := ex.Config().PollInterval; eff > wanted {
		g.logger().Warn(fmt.Sprintf("poll_interval %v is below this site's min_poll_interval; polling every %v", wanted, eff))
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

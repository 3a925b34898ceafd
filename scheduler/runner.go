package scheduler

import "context"

// Command is one external command to run.
type Command struct {
	Argv  []string
	Stdin []byte   // fed to standard input; nil means no input
	Env   []string // added to the inherited environment ("K=V")
	Dir   string   // working directory; "" = current
}

// Result is what a command printed and how it exited.
type Result struct {
	Stdout, Stderr []byte
	ExitCode       int
}

// Runner runs external commands. The engine injects one into every
// scheduler, so tests can replace the batch system with recorded output.
//
// Run returns the result whenever the command ran, even when it exited
// non-zero; the error is then a *CommandError holding the same output.
// A command that does not finish within the runner's timeout is killed with
// its whole process group and reported as a *TimeoutError.
type Runner interface {
	Run(ctx context.Context, cmd Command) (Result, error)
}

// RunnerFunc adapts a function to the Runner interface.
type RunnerFunc func(ctx context.Context, cmd Command) (Result, error)

// Run calls f.
func (f RunnerFunc) Run(ctx context.Context, cmd Command) (Result, error) { return f(ctx, cmd) }

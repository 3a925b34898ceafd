package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	capi "github.com/go-cluster-api/clusterapi"
	"github.com/go-cluster-api/clusterapi/internal/script"
)

// resourceFlags are the flags that describe a job, shared by run, submit,
// array and script.
type resourceFlags struct {
	name       string
	cpus, gpus int
	memory     string
	walltime   string
	queue      string
	account    string
	workDir    string
	stdout     string
	stderr     string
	env        []string
	directives []string
	args       []string
	prologue   []string
	epilogue   []string
	meta       []string
	mkdir      bool
	flags      *pflag.FlagSet
}

// register adds the resource flags; submits (run, submit, array, not
// script) also get --mkdir.
func (r *resourceFlags) register(f *pflag.FlagSet, submits bool) {
	r.flags = f
	f.StringVar(&r.name, "name", "", "job name (default: the command's first word)")
	f.IntVar(&r.cpus, "cpus", 0, "cpus per job")
	f.IntVar(&r.gpus, "gpus", 0, "gpus per job")
	f.StringVar(&r.memory, "memory", "", `memory, e.g. "8 GB", "512MB" (1024-based)`)
	f.StringVar(&r.walltime, "walltime", "", `run-time limit: "04:00" (4 h), "1:30:00", "2-00:00", "90m"`)
	f.StringVar(&r.queue, "queue", "", "queue (LSF), partition (SLURM) or queue (Grid Engine)")
	f.StringVar(&r.account, "account", "", "account or project to charge")
	f.StringVar(&r.workDir, "work-dir", "", "working directory, which must exist (default: the current directory)")
	f.StringVar(&r.stdout, "stdout", "", "stdout log path, in an existing directory (default: {work_dir}/stdout.{job_id}.log)")
	f.StringVar(&r.stderr, "stderr", "", "stderr log path, in an existing directory (default: {work_dir}/stderr.{job_id}.log)")
	f.StringArrayVar(&r.env, "env", nil, "export K=V in the job (repeatable)")
	f.StringArrayVar(&r.directives, "directive", nil, `extra scheduler directive without its prefix, e.g. "-P proj" (repeatable)`)
	f.StringArrayVar(&r.args, "arg", nil, "extra argument for the submit command (repeatable)")
	f.StringArrayVar(&r.prologue, "prologue", nil, "script line to run before the command (repeatable)")
	f.StringArrayVar(&r.epilogue, "epilogue", nil, "script line to run after the command (repeatable)")
	f.StringArrayVar(&r.meta, "meta", nil, "metadata k=v kept with the job record (repeatable)")
	if submits {
		f.BoolVar(&r.mkdir, "mkdir", false, "create --work-dir and the directories of --stdout and --stderr if missing")
	}
}

// checkDirs refuses a --work-dir, or a directory of --stdout or --stderr,
// that does not exist, unless --mkdir asks to create them. Without the
// check a typo in --work-dir is silently created, and a job whose log
// directory is missing is accepted and then fails on the node
// (node_failure) with nothing in any log to say why.
//
// Paths with a scheduler placeholder in their directory (%J, $JOB_ID,
// {job_id}) are left to the scheduler: their directory is not known yet.
func (r *resourceFlags) checkDirs() error {
	wd := r.workDir
	if wd != "" {
		if err := r.ensureDir("--work-dir", wd, wd); err != nil {
			return err
		}
	}
	for _, p := range []struct{ flag, path string }{{"--stdout", r.stdout}, {"--stderr", r.stderr}} {
		if p.path == "" {
			continue
		}
		path := p.path
		if !filepath.IsAbs(path) {
			base := wd
			if base == "" {
				base = "."
			}
			path = filepath.Join(base, path)
		}
		dir := filepath.Dir(path)
		if strings.ContainsAny(dir, "%${") {
			continue
		}
		if err := r.ensureDir(p.flag, p.path, dir); err != nil {
			return err
		}
	}
	return nil
}

func (r *resourceFlags) ensureDir(flag, given, dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case err == nil && fi.IsDir():
		return nil
	case err == nil:
		return usageErr("%s %s: %s is not a directory", flag, given, dir)
	case !errors.Is(err, fs.ErrNotExist):
		return usageErr("%s %s: %v", flag, given, err)
	case !r.mkdir:
		if flag == "--work-dir" {
			return usageErr("--work-dir %s does not exist (create it, or add --mkdir)", given)
		}
		return usageErr("%s %s: no directory %s (create it, or add --mkdir)", flag, given, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return usageErr("%s %s: %v", flag, given, err)
	}
	return nil
}

// submission is the spec of a job to submit: spec, once the directories
// it names exist (checkDirs).
func (r *resourceFlags) submission(argv []string) (capi.JobSpec, error) {
	spec, err := r.spec(argv)
	if err != nil {
		return spec, err
	}
	return spec, r.checkDirs()
}

// spec builds the job spec; argv is the command after "--".
func (r *resourceFlags) spec(argv []string) (capi.JobSpec, error) {
	if len(argv) == 0 {
		return capi.JobSpec{}, usageErr("no command given: put it after --, e.g. capi run -- echo hello")
	}
	command := argv[0]
	if len(argv) > 1 {
		var err error
		if command, err = script.QuoteArgs(argv); err != nil {
			return capi.JobSpec{}, usageErr("command: %v", err)
		}
	}
	spec := capi.JobSpec{
		Name:     r.name,
		Command:  command,
		Prologue: r.prologue,
		Epilogue: r.epilogue,
		Resources: capi.Resources{
			CPUs: r.cpus, GPUs: r.gpus, Queue: r.queue, Account: r.account,
			WorkDir: r.workDir, StdoutPath: r.stdout, StderrPath: r.stderr,
			ExtraDirectives: r.directives, ExtraArgs: r.args,
		},
	}
	for _, c := range []struct {
		flag string
		n    int
	}{{"cpus", r.cpus}, {"gpus", r.gpus}} {
		// 0 is what an absent flag leaves, so only a given one is checked.
		if c.n < 0 || (c.n == 0 && r.flags != nil && r.flags.Changed(c.flag)) {
			return spec, usageErr("--%s %d: must be positive; omit the flag for none", c.flag, c.n)
		}
	}
	if r.memory != "" {
		m, err := capi.ParseMemory(r.memory)
		if err != nil {
			return spec, usageErr("--memory: %v", err)
		}
		spec.Resources.Memory = m
	}
	if r.walltime != "" {
		w, err := capi.ParseWalltime(r.walltime)
		if err != nil {
			return spec, usageErr("--walltime: %v", err)
		}
		spec.Resources.Walltime = w
	}
	var err error
	if spec.Env, err = keyValues("--env", r.env); err != nil {
		return spec, err
	}
	if spec.Metadata, err = keyValues("--meta", r.meta); err != nil {
		return spec, err
	}
	return spec, nil
}

func keyValues(flag string, kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageErr("%s %q: write KEY=VALUE", flag, kv)
		}
		m[k] = v
	}
	return m, nil
}

func describe(r capi.Record) string {
	return fmt.Sprintf("job %s (%s)", r.ID, r.Name)
}

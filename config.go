package clusterapi

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/go-cluster-api/clusterapi/internal/suggest"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

// Config is the merged configuration. Every field's zero value means its
// default, given in its comment with the YAML key it is read from.
type Config struct {
	// Executor picks the scheduler: local (default), lsf, slurm, sge.
	// Key: executor.
	Executor string
	// Default resources for every job (keys cpus, gpus, memory, walltime,
	// queue, account). Zero = not requested.
	CPUs     int
	GPUs     int
	Memory   scheduler.Bytes
	Walltime time.Duration
	Queue    string
	Account  string
	// PollInterval between status polls. Key poll_interval (seconds); 0 = 10 s.
	PollInterval time.Duration
	// MinPollInterval is a site's limit: the least time between two status
	// commands (accounting lookups included) of this user on this state
	// dir, across every process and command sharing it. Key
	// min_poll_interval (seconds); 0 = no limit.
	MinPollInterval time.Duration
	// JobNamePrefix is put before every job name as "{prefix}-{name}" and
	// used to find this user's jobs again. Key job_name_prefix; "" = none.
	JobNamePrefix string
	// Shebang of job scripts. Key shebang; "" = "#!/bin/bash".
	Shebang string
	// ScriptPrologue and ScriptEpilogue are lines put before and after the
	// command of every job. Keys script_prologue, script_epilogue.
	ScriptPrologue, ScriptEpilogue []string
	// ExtraDirectives are written verbatim after the generated directives,
	// prefix included ("#BSUB -P proj"). Key extra_directives.
	ExtraDirectives []string
	// DirectivesSkip drops generated directive lines containing any of these
	// substrings. Key directives_skip.
	DirectivesSkip []string
	// ExtraArgs are added to every submit command, before job-level ones.
	// Key extra_args.
	ExtraArgs []string
	// LSFUnits is the unit of LSF memory limits (KB, MB, GB, TB). Key
	// lsf_units; "" = MB.
	LSFUnits string
	// LSFExplicitUnits writes the unit into LSF memory directives ("-M
	// 8192MB"); needs LSF 10.1.0.2+. Key lsf_explicit_units; default false
	// (bare numbers, as the seed).
	LSFExplicitUnits bool
	// JobEmail lets LSF send its job report e-mails. Key suppress_job_email
	// (default true, i.e. JobEmail false).
	JobEmail bool
	// CommandTimeout bounds every scheduler command. Key command_timeout
	// (seconds); 0 = 100 s.
	CommandTimeout time.Duration
	// ZombieTimeout is how long a job may be unknown to every source before
	// it is declared failed/vanished. Key zombie_timeout_minutes; 0 = 30 min.
	ZombieTimeout time.Duration
	// CompletedRetention is how long finished jobs stay in memory after
	// their callbacks fired. Key completed_retention_minutes; 0 = 10 min,
	// negative = purge at once.
	CompletedRetention time.Duration
	// PollAllUsers polls every user's jobs (LSF -u all). Key poll_all_users.
	PollAllUsers bool
	// StateDir holds the job store and the local executor's spool. Key
	// state_dir; "" = $XDG_STATE_HOME/cluster_api or ~/.local/state/cluster_api.
	StateDir string
	// SubmitRetries is how often a submit that failed transiently is tried
	// again. Key submit_retries; 0 = 3, negative = never.
	SubmitRetries int
	// LocalSlots is how many cpu slots the local executor runs at once.
	// Key local_slots; 0 = the number of CPUs.
	LocalSlots int
	// LocalGPUs is how many GPU slots the local executor hands out. Key
	// local_gpus; 0 = the number of /dev/nvidia[0-9]* devices (none on macOS).
	LocalGPUs int
	// InMemory keeps jobs only in memory, as the seed did (no job store).
	// Key in_memory; default false. The capi command always uses the store.
	InMemory bool
}

// Defaults of the fields whose zero value stands for something else.
const (
	DefaultPollInterval       = 10 * time.Second
	DefaultCommandTimeout     = 100 * time.Second
	DefaultZombieTimeout      = 30 * time.Minute
	DefaultCompletedRetention = 10 * time.Minute
	DefaultSubmitRetries      = 3
	DefaultShebang            = "#!/bin/bash"
	DefaultLSFUnits           = "MB"
)

// withDefaults returns c with every zero field replaced by its default.
func (c Config) withDefaults() Config {
	if c.Executor == "" {
		c.Executor = "local"
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	// The site's limit wins over a user's wish (capi says so on stderr).
	c.PollInterval = max(c.PollInterval, c.MinPollInterval)
	if c.Shebang == "" {
		c.Shebang = DefaultShebang
	}
	if c.LSFUnits == "" {
		c.LSFUnits = DefaultLSFUnits
	}
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = DefaultCommandTimeout
	}
	if c.ZombieTimeout <= 0 {
		c.ZombieTimeout = DefaultZombieTimeout
	}
	if c.CompletedRetention == 0 {
		c.CompletedRetention = DefaultCompletedRetention
	}
	if c.SubmitRetries == 0 {
		c.SubmitRetries = DefaultSubmitRetries
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir()
	}
	return c
}

// DefaultStateDir is $XDG_STATE_HOME/cluster_api, else
// ~/.local/state/cluster_api.
func DefaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "cluster_api")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "cluster_api")
	}
	return filepath.Join(home, ".local", "state", "cluster_api")
}

// ConfigError is a configuration problem: a file that does not parse, a key
// with a wrong type, an unknown profile. File and Line say where, when known.
type ConfigError struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		fmt.Fprintf(&b, "%s: ", e.Key)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes ConfigError match ErrClusterAPI.
func (e *ConfigError) Is(target error) bool { return target == ErrClusterAPI }

// LoadOptions says where configuration comes from.
type LoadOptions struct {
	// Path is an explicit config file; it must exist. "" searches
	// $CLUSTER_API_CONFIG, ./cluster_api.yaml,
	// ~/.config/cluster_api/config.yaml, in that order.
	Path string
	// Profile selects profiles.<name> from the file.
	Profile string
	// Overrides are applied last, as if written in the file: "cpus": "4".
	// Values are read as YAML scalars or lists.
	Overrides map[string]string
	// Strict makes unknown keys errors instead of warnings.
	Strict bool
}

// ConfigInfo tells how a configuration was assembled.
type ConfigInfo struct {
	// File is the config file read; "" when none was found.
	File string
	// Sources says, per key that is not a default, where its value came
	// from: "file.yaml:12", "profile gpu (file.yaml:20)", "--set".
	Sources map[string]string
	// Warnings are problems that did not stop loading (unknown keys).
	Warnings []string
	// Searched lists the paths looked at, in order.
	Searched []string
}

// SearchPaths returns the config file locations looked at when no explicit
// path is given, in order.
func SearchPaths() []string {
	var paths []string
	if p := os.Getenv("CLUSTER_API_CONFIG"); p != "" {
		paths = append(paths, p)
	}
	paths = append(paths, "cluster_api.yaml")
	if home, err := os.UserHomeDir(); err == nil {
		paths = append(paths, filepath.Join(home, ".config", "cluster_api", "config.yaml"))
	}
	return paths
}

// LoadConfig reads and merges configuration: base keys of the file, then
// profiles.<Profile>, then Overrides. No file found means all defaults.
func LoadConfig(opts LoadOptions) (Config, ConfigInfo, error) {
	info := ConfigInfo{Sources: map[string]string{}}
	var cfg Config
	var root *yaml.Node
	if opts.Path != "" {
		info.Searched = []string{opts.Path}
		data, err := os.ReadFile(opts.Path)
		if err != nil {
			return cfg, info, &ConfigError{File: opts.Path, Msg: "cannot read config file: " + errText(err)}
		}
		info.File = opts.Path
		if root, err = parseYAML(opts.Path, data); err != nil {
			return cfg, info, err
		}
	} else {
		envPath := os.Getenv("CLUSTER_API_CONFIG")
		for _, p := range SearchPaths() {
			info.Searched = append(info.Searched, p)
			data, err := os.ReadFile(p)
			if errors.Is(err, os.ErrNotExist) {
				if p == envPath {
					// Set on purpose: silently falling back to another file
					// or to defaults would run jobs with the wrong settings.
					return cfg, info, &ConfigError{File: p, Msg: "CLUSTER_API_CONFIG names a file that does not exist; fix or unset it"}
				}
				continue
			}
			if err != nil {
				return cfg, info, &ConfigError{File: p, Msg: "cannot read config file: " + errText(err)}
			}
			info.File = p
			if root, err = parseYAML(p, data); err != nil {
				return cfg, info, err
			}
			break
		}
	}
	var profiles *yaml.Node
	if root != nil {
		var err error
		profiles, err = applyMapping(&cfg, root, info.File, "", &info, opts.Strict, true)
		if err != nil {
			return cfg, info, err
		}
	}
	if opts.Profile != "" {
		prof, names := findProfile(profiles, opts.Profile)
		if prof == nil {
			msg := fmt.Sprintf("unknown profile %q", opts.Profile)
			if len(names) > 0 {
				msg += "; available profiles: " + strings.Join(names, ", ")
			} else if info.File == "" {
				msg += "; no config file was found (searched " + strings.Join(info.Searched, ", ") + ")"
			} else {
				msg += "; the config file defines no profiles"
			}
			return cfg, info, &ConfigError{File: info.File, Msg: msg}
		}
		if _, err := applyMapping(&cfg, prof, info.File, opts.Profile, &info, opts.Strict, false); err != nil {
			return cfg, info, err
		}
	}
	keys := make([]string, 0, len(opts.Overrides))
	for k := range opts.Overrides {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(opts.Overrides[k]), &n); err != nil || len(n.Content) == 0 {
			n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: opts.Overrides[k]}
		} else {
			n = *n.Content[0]
		}
		f, ok := fieldByKey[k]
		if !ok {
			return cfg, info, &ConfigError{Key: k, Msg: "unknown key in --set" + didYouMean(k)}
		}
		if err := f.set(&cfg, &n); err != nil {
			return cfg, info, &ConfigError{Key: k, Msg: "--set " + k + "=" + opts.Overrides[k] + ": " + err.Error()}
		}
		info.Sources[k] = "--set"
	}
	if err := cfg.Validate(); err != nil {
		return cfg, info, err
	}
	return cfg, info, nil
}

func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func parseYAML(file string, data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &ConfigError{File: file, Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if len(bytes.TrimSpace(data)) == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, &ConfigError{File: file, Line: root.Line, Msg: "the config file must be a mapping of keys to values"}
	}
	return root, nil
}

// applyMapping sets every key of m on cfg. At the top level it returns the
// profiles node instead of applying it.
func applyMapping(cfg *Config, m *yaml.Node, file, profile string, info *ConfigInfo, strict, top bool) (*yaml.Node, error) {
	var profiles *yaml.Node
	where := func(line int) string {
		loc := fmt.Sprintf("%s:%d", file, line)
		if profile != "" {
			return fmt.Sprintf("profile %s (%s)", profile, loc)
		}
		return loc
	}
	seen := make(map[string]int, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if first, dup := seen[k.Value]; dup {
			return nil, &ConfigError{File: file, Line: k.Line, Key: k.Value, Msg: fmt.Sprintf("defined twice (first on line %d); keep one", first)}
		}
		seen[k.Value] = k.Line
		if top && k.Value == "profiles" {
			if v.Kind != yaml.MappingNode && !(v.Kind == yaml.ScalarNode && v.Tag == "!!null") {
				return nil, &ConfigError{File: file, Line: v.Line, Key: "profiles", Msg: "must be a mapping of profile names to settings"}
			}
			profiles = v
			continue
		}
		f, ok := fieldByKey[k.Value]
		if !ok {
			msg := fmt.Sprintf("unknown key %q in %s", k.Value, where(k.Line)) + didYouMean(k.Value)
			if strict {
				return nil, &ConfigError{File: file, Line: k.Line, Key: k.Value, Msg: "unknown key" + didYouMean(k.Value)}
			}
			info.Warnings = append(info.Warnings, msg)
			continue
		}
		if err := f.set(cfg, v); err != nil {
			return nil, &ConfigError{File: file, Line: v.Line, Key: k.Value, Msg: err.Error()}
		}
		info.Sources[k.Value] = where(k.Line)
	}
	return profiles, nil
}

func findProfile(profiles *yaml.Node, name string) (*yaml.Node, []string) {
	if profiles == nil || profiles.Kind != yaml.MappingNode {
		return nil, nil
	}
	var names []string
	var found *yaml.Node
	for i := 0; i+1 < len(profiles.Content); i += 2 {
		names = append(names, profiles.Content[i].Value)
		if profiles.Content[i].Value == name {
			found = profiles.Content[i+1]
		}
	}
	sort.Strings(names)
	if found != nil && found.Kind != yaml.MappingNode {
		if found.Kind == yaml.ScalarNode && found.Tag == "!!null" {
			return &yaml.Node{Kind: yaml.MappingNode}, names
		}
		return nil, names
	}
	return found, names
}

// didYouMean names a known key close to an unknown one ("cpu" → "cpus").
func didYouMean(key string) string {
	best, bestD := "", 3
	for _, f := range configFields {
		if d := suggest.Distance(key, f.key); d < bestD {
			best, bestD = f.key, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// Validate checks values that are well-typed but not allowed.
func (c Config) Validate() error {
	if _, ok := schedulerFactories[c.withDefaults().Executor]; !ok {
		return &ConfigError{Key: "executor", Msg: fmt.Sprintf("unknown executor %q; choose one of %s", c.Executor, strings.Join(ExecutorNames(), ", "))}
	}
	switch strings.ToUpper(c.LSFUnits) {
	case "", "KB", "MB", "GB", "TB":
	default:
		return &ConfigError{Key: "lsf_units", Msg: fmt.Sprintf("unknown unit %q; use KB, MB, GB or TB (as LSF_UNIT_FOR_LIMITS)", c.LSFUnits)}
	}
	if c.CPUs < 0 || c.GPUs < 0 || c.LocalSlots < 0 {
		return &ConfigError{Msg: "cpus, gpus and local_slots must not be negative"}
	}
	return nil
}

// configField describes one YAML key: how to set it and its default, for
// loading, `capi config show` and the README's reference table.
type configField struct {
	key, def, doc string
	set           func(*Config, *yaml.Node) error
	get           func(Config) string
}

func scalarString(n *yaml.Node) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", errors.New("must be a single value")
	}
	if n.Tag == "!!null" {
		return "", nil
	}
	return n.Value, nil
}

func intValue(n *yaml.Node) (int, error) {
	s, err := scalarString(n)
	if err != nil {
		return 0, err
	}
	if s == "" {
		return 0, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("must be a whole number, not %q", s)
	}
	return v, nil
}

func positiveInt(n *yaml.Node) (int, error) {
	v, err := intValue(n)
	if err == nil && v < 0 {
		err = fmt.Errorf("must be a positive whole number, not %d", v)
	}
	return v, err
}

func floatValue(n *yaml.Node) (float64, error) {
	s, err := scalarString(n)
	if err != nil || s == "" {
		return 0, err
	}
	v, err := strconv.ParseFloat(s, 64)
	// NaN and infinities parse as floats but turn into garbage durations
	// (NaN → a negative one on amd64); 1e10 hours is far beyond any use.
	if err != nil || v < 0 || math.IsNaN(v) || v > 1e10 {
		return 0, fmt.Errorf("must be a non-negative number, not %q", s)
	}
	return v, nil
}

func boolValue(n *yaml.Node) (bool, error) {
	s, err := scalarString(n)
	if err != nil {
		return false, err
	}
	switch strings.ToLower(s) {
	case "true", "yes", "on":
		return true, nil
	case "false", "no", "off", "":
		return false, nil
	}
	return false, fmt.Errorf("must be true or false, not %q", s)
}

func stringList(n *yaml.Node) ([]string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil, nil
		}
		return []string{n.Value}, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("must be a list of strings (line %d is not)", c.Line)
			}
			out = append(out, c.Value)
		}
		return out, nil
	}
	return nil, errors.New("must be a string or a list of strings")
}

func fmtList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func strField(key, def, doc string, p func(*Config) *string) configField {
	return configField{key: key, def: def, doc: doc,
		set: func(c *Config, n *yaml.Node) error {
			s, err := scalarString(n)
			*p(c) = s
			return err
		},
		get: func(c Config) string { return *p(&c) },
	}
}

func listField(key, doc string, p func(*Config) *[]string) configField {
	return configField{key: key, def: "[]", doc: doc,
		set: func(c *Config, n *yaml.Node) error {
			l, err := stringList(n)
			*p(c) = l
			return err
		},
		get: func(c Config) string { return fmtList(*p(&c)) },
	}
}

// countField is a count that is either absent (no value: the zero value)
// or at least 1: "cpus: 0" is a mistake, not a way to ask for none.
func countField(key, def, doc string, p func(*Config) *int) configField {
	f := intField(key, def, doc, p)
	f.set = func(c *Config, n *yaml.Node) error {
		v, err := intValue(n)
		if s, _ := scalarString(n); err == nil && s != "" && v < 1 {
			err = fmt.Errorf("must be positive, not %d; omit the key for none", v)
		}
		*p(c) = v
		return err
	}
	return f
}

func intField(key, def, doc string, p func(*Config) *int) configField {
	return configField{key: key, def: def, doc: doc,
		set: func(c *Config, n *yaml.Node) error {
			v, err := positiveInt(n)
			*p(c) = v
			return err
		},
		get: func(c Config) string { return strconv.Itoa(*p(&c)) },
	}
}

func boolField(key, def, doc string, p func(*Config) *bool, invert bool) configField {
	return configField{key: key, def: def, doc: doc,
		set: func(c *Config, n *yaml.Node) error {
			v, err := boolValue(n)
			*p(c) = v != invert
			return err
		},
		get: func(c Config) string { return strconv.FormatBool(*p(&c) != invert) },
	}
}

func durationField(key, def, doc string, unit time.Duration, p func(*Config) *time.Duration) configField {
	return configField{key: key, def: def, doc: doc,
		set: func(c *Config, n *yaml.Node) error {
			v, err := floatValue(n)
			*p(c) = time.Duration(v * float64(unit))
			return err
		},
		get: func(c Config) string { return strconv.FormatFloat(float64(*p(&c))/float64(unit), 'f', -1, 64) },
	}
}

var configFields = []configField{
	strField("executor", "local", "scheduler: local, lsf, slurm, sge", func(c *Config) *string { return &c.Executor }),
	countField("cpus", "unset", "cpus per job (LSF -n, SLURM --cpus-per-task, SGE -pe smp)", func(c *Config) *int { return &c.CPUs }),
	countField("gpus", "unset", "gpus per job", func(c *Config) *int { return &c.GPUs }),
	{key: "memory", def: "unset", doc: `memory per job: number + B/KB/MB/GB/TB, 1024-based ("8 GB")`,
		set: func(c *Config, n *yaml.Node) error {
			s, err := scalarString(n)
			if err != nil || s == "" {
				c.Memory = 0
				return err
			}
			c.Memory, err = scheduler.ParseBytes(s)
			return err
		},
		get: func(c Config) string {
			if c.Memory == 0 {
				return ""
			}
			return c.Memory.String()
		}},
	{key: "walltime", def: "unset", doc: `run-time limit, same meaning on every scheduler: "04:00" = 4 hours, "1:30:00", "2-00:00", "90m"`,
		set: func(c *Config, n *yaml.Node) error {
			s, err := scalarString(n)
			if err != nil || s == "" {
				c.Walltime = 0
				return err
			}
			c.Walltime, err = scheduler.ParseWalltime(s)
			return err
		},
		get: func(c Config) string {
			if c.Walltime == 0 {
				return ""
			}
			return scheduler.FormatHHMMSS(c.Walltime)
		}},
	strField("queue", "unset", "LSF queue, SLURM partition, SGE queue", func(c *Config) *string { return &c.Queue }),
	strField("account", "unset", "account/project to charge (LSF -P, SLURM --account, SGE -A)", func(c *Config) *string { return &c.Account }),
	durationField("poll_interval", "10", "seconds between status polls", time.Second, func(c *Config) *time.Duration { return &c.PollInterval }),
	durationField("min_poll_interval", "0", "site limit: least seconds between two status commands of this user on this state dir, across all processes (0 = none)", time.Second, func(c *Config) *time.Duration { return &c.MinPollInterval }),
	strField("job_name_prefix", "unset", `jobs are named "{prefix}-{name}"; needed to reconnect on grid schedulers`, func(c *Config) *string { return &c.JobNamePrefix }),
	strField("shebang", "#!/bin/bash", "first line of job scripts", func(c *Config) *string { return &c.Shebang }),
	listField("script_prologue", "lines before the command of every job", func(c *Config) *[]string { return &c.ScriptPrologue }),
	listField("script_epilogue", "lines after the command of every job", func(c *Config) *[]string { return &c.ScriptEpilogue }),
	listField("extra_directives", `directive lines written verbatim, prefix included ("#BSUB -P proj")`, func(c *Config) *[]string { return &c.ExtraDirectives }),
	listField("directives_skip", "drop generated directive lines containing any of these substrings", func(c *Config) *[]string { return &c.DirectivesSkip }),
	listField("extra_args", "arguments added to every submit command (before job-level ones)", func(c *Config) *[]string { return &c.ExtraArgs }),
	strField("lsf_units", "MB", "unit of LSF memory limits (LSF_UNIT_FOR_LIMITS): KB, MB, GB, TB", func(c *Config) *string { return &c.LSFUnits }),
	boolField("lsf_explicit_units", "false", `write the unit in LSF memory directives ("-M 8192MB"; LSF 10.1.0.2+)`, func(c *Config) *bool { return &c.LSFExplicitUnits }, false),
	boolField("suppress_job_email", "true", "stop LSF from mailing job reports (LSB_JOB_REPORT_MAIL=N)", func(c *Config) *bool { return &c.JobEmail }, true),
	durationField("command_timeout", "100", "seconds a scheduler command may take", time.Second, func(c *Config) *time.Duration { return &c.CommandTimeout }),
	durationField("zombie_timeout_minutes", "30", "minutes a job may be unknown to queue, accounting and exit file before it is declared vanished", time.Minute, func(c *Config) *time.Duration { return &c.ZombieTimeout }),
	durationField("completed_retention_minutes", "10", "minutes finished jobs stay in memory after their callbacks fired", time.Minute, func(c *Config) *time.Duration { return &c.CompletedRetention }),
	boolField("poll_all_users", "false", "poll every user's jobs, not only yours", func(c *Config) *bool { return &c.PollAllUsers }, false),
	strField("state_dir", "$XDG_STATE_HOME/cluster_api", "job store and local spool (else ~/.local/state/cluster_api)", func(c *Config) *string { return &c.StateDir }),
	intField("submit_retries", "3", "retries of a submit that failed transiently (never duplicates a job)", func(c *Config) *int { return &c.SubmitRetries }),
	intField("local_slots", "number of CPUs", "cpu slots of the local executor", func(c *Config) *int { return &c.LocalSlots }),
	intField("local_gpus", "number of /dev/nvidia[0-9]* devices", "GPU slots of the local executor (CUDA_VISIBLE_DEVICES)", func(c *Config) *int { return &c.LocalGPUs }),
	boolField("in_memory", "false", "library only: keep jobs in memory, no job store", func(c *Config) *bool { return &c.InMemory }, false),
}

var fieldByKey = func() map[string]configField {
	m := make(map[string]configField, len(configFields))
	for _, f := range configFields {
		m[f.key] = f
	}
	return m
}()

// ConfigKey documents one configuration key.
type ConfigKey struct {
	Key, Default, Doc string
}

// ConfigKeys lists every configuration key with its default, in the order
// of the reference table.
func ConfigKeys() []ConfigKey {
	out := make([]ConfigKey, len(configFields))
	for i, f := range configFields {
		out[i] = ConfigKey{f.key, f.def, f.doc}
	}
	return out
}

// Value returns the value of a key in c as text ("" for unset).
func (c Config) Value(key string) (string, bool) {
	f, ok := fieldByKey[key]
	if !ok {
		return "", false
	}
	return f.get(c), true
}

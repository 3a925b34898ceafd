package clusterapi

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// isolate points every place LoadConfig looks at empty temp dirs: the cwd,
// HOME, XDG dirs and $CLUSTER_API_CONFIG. It returns the cwd and home.
func isolate(t *testing.T) (cwd, home string) {
	t.Helper()
	cwd, home = t.TempDir(), t.TempDir()
	t.Chdir(cwd)
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(home, ".local", "state"))
	t.Setenv("CLUSTER_API_CONFIG", "")
	return cwd, home
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigDefaults(t *testing.T) {
	_, home := isolate(t)
	cfg, info, err := LoadConfig(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if info.File != "" || len(info.Warnings) != 0 || len(info.Sources) != 0 {
		t.Errorf("info = %+v, want no file, no warnings, no sources", info)
	}
	if diff := cmp.Diff(Config{}, cfg); diff != "" {
		t.Errorf("config without a file is not all zero (= defaults) (-want +got):\n%s", diff)
	}
	e, err := New(cfg, &Options{Scheduler: newFake()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	eff := e.Config()
	want := map[string]string{
		"executor":                    "local",
		"cpus":                        "0",
		"gpus":                        "0",
		"memory":                      "",
		"walltime":                    "",
		"queue":                       "",
		"account":                     "",
		"poll_interval":               "10",
		"min_poll_interval":           "0",
		"job_name_prefix":             "",
		"shebang":                     "#!/bin/bash",
		"script_prologue":             "[]",
		"script_epilogue":             "[]",
		"extra_directives":            "[]",
		"directives_skip":             "[]",
		"extra_args":                  "[]",
		"lsf_units":                   "MB",
		"lsf_explicit_units":          "false",
		"suppress_job_email":          "true",
		"command_timeout":             "100",
		"zombie_timeout_minutes":      "30",
		"completed_retention_minutes": "10",
		"poll_all_users":              "false",
		"state_dir":                   filepath.Join(home, ".local", "state", "cluster_api"),
		"submit_retries":              "3",
		"local_slots":                 "0",
		"local_gpus":                  "0",
		"in_memory":                   "false",
	}
	keys := ConfigKeys()
	if len(keys) != len(want) {
		t.Errorf("%d documented keys, test knows %d", len(keys), len(want))
	}
	for _, k := range keys {
		w, ok := want[k.Key]
		if !ok {
			t.Errorf("key %q has no expected default in this test", k.Key)
			continue
		}
		got, ok := eff.Value(k.Key)
		if !ok || got != w {
			t.Errorf("default %s = %q, want %q", k.Key, got, w)
		}
		if k.Doc == "" || k.Default == "" {
			t.Errorf("key %s lacks documentation: %+v", k.Key, k)
		}
	}
	if eff.PollInterval != 10*time.Second || eff.CommandTimeout != 100*time.Second ||
		eff.ZombieTimeout != 30*time.Minute || eff.CompletedRetention != 10*time.Minute || eff.JobEmail {
		t.Errorf("effective config = %+v", eff)
	}
	if _, ok := eff.Value("no_such_key"); ok {
		t.Error("Value of an unknown key reports ok")
	}
}

func TestConfigSearchOrder(t *testing.T) {
	cwd, home := isolate(t)
	explicit := writeFile(t, filepath.Join(t.TempDir(), "explicit.yaml"), "cpus: 1\n")
	env := writeFile(t, filepath.Join(t.TempDir(), "env.yaml"), "cpus: 2\n")
	local := writeFile(t, filepath.Join(cwd, "cluster_api.yaml"), "cpus: 3\n")
	user := writeFile(t, filepath.Join(home, ".config", "cluster_api", "config.yaml"), "cpus: 4\n")
	t.Setenv("CLUSTER_API_CONFIG", env)

	steps := []struct {
		path     string
		wantCPUs int
		wantFile string
		remove   string // removed after the step
	}{
		{explicit, 1, explicit, ""},
		{"", 2, env, env},
		{"", 3, "cluster_api.yaml", local},
		{"", 4, user, user},
		{"", 0, "", ""},
	}
	for i, s := range steps {
		cfg, info, err := LoadConfig(LoadOptions{Path: s.path})
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if cfg.CPUs != s.wantCPUs || info.File != s.wantFile {
			t.Errorf("step %d: cpus %d from %q, want %d from %q", i, cfg.CPUs, info.File, s.wantCPUs, s.wantFile)
		}
		if s.remove != "" {
			if err := os.Remove(s.remove); err != nil {
				t.Fatal(err)
			}
		}
		if s.remove == env {
			// A variable naming a missing file is an error (see
			// TestConfigEnvPathMissingIsAnError), so unset it to go on.
			t.Setenv("CLUSTER_API_CONFIG", "")
		}
	}
	t.Setenv("CLUSTER_API_CONFIG", env)
	if diff := cmp.Diff([]string{env, "cluster_api.yaml", user}, SearchPaths()); diff != "" {
		t.Errorf("SearchPaths (-want +got):\n%s", diff)
	}
}

func TestConfigExplicitMissingPath(t *testing.T) {
	isolate(t)
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	_, _, err := LoadConfig(LoadOptions{Path: missing})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.File != missing || !strings.Contains(err.Error(), missing) {
		t.Fatalf("err = %v, want a ConfigError naming %s", err, missing)
	}
	if !errors.Is(err, ErrClusterAPI) {
		t.Error("ConfigError does not match ErrClusterAPI")
	}
}

const profileConfig = `# site config
cpus: 1
memory: 1 GB
queue: normal
job_name_prefix: base
profiles:
  gpu:
    cpus: 4
    gpus: 1
    queue: gpu
  big:
    memory: 64 GB
`

func TestConfigProfilesMerge(t *testing.T) {
	isolate(t)
	path := writeFile(t, filepath.Join(t.TempDir(), "c.yaml"), profileConfig)
	cfg, info, err := LoadConfig(LoadOptions{Path: path, Profile: "gpu", Overrides: map[string]string{"cpus": "8", "extra_args": "[-x, y]"}})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{CPUs: 8, GPUs: 1, Memory: 1 << 30, Queue: "gpu", JobNamePrefix: "base", ExtraArgs: []string{"-x", "y"}}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("merged config (-want +got):\n%s", diff)
	}
	wantSources := map[string]string{
		"cpus":            "--set",
		"extra_args":      "--set",
		"gpus":            fmt.Sprintf("profile gpu (%s:9)", path),
		"queue":           fmt.Sprintf("profile gpu (%s:10)", path),
		"memory":          path + ":3",
		"job_name_prefix": path + ":5",
	}
	if diff := cmp.Diff(wantSources, info.Sources); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}

	// Without a profile, the profiles section is not applied.
	cfg, _, err = LoadConfig(LoadOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CPUs != 1 || cfg.GPUs != 0 || cfg.Queue != "normal" {
		t.Errorf("base config = %+v", cfg)
	}
}

func TestConfigUnknownProfile(t *testing.T) {
	isolate(t)
	path := writeFile(t, filepath.Join(t.TempDir(), "c.yaml"), profileConfig)
	_, _, err := LoadConfig(LoadOptions{Path: path, Profile: "gpus"})
	if err == nil || !strings.Contains(err.Error(), `"gpus"`) || !strings.Contains(err.Error(), "big, gpu") {
		t.Errorf("err = %v, want it to name the profile and list big, gpu", err)
	}
	_, _, err = LoadConfig(LoadOptions{Profile: "gpu"})
	if err == nil || !strings.Contains(err.Error(), "gpu") {
		t.Errorf("profile without a config file: err = %v", err)
	}
}

func TestConfigUnknownKey(t *testing.T) {
	isolate(t)
	path := writeFile(t, filepath.Join(t.TempDir(), "c.yaml"), "cpus: 2\ncpu: 4\nprofiles:\n  p:\n    gpu: 1\n")
	cfg, info, err := LoadConfig(LoadOptions{Path: path, Profile: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CPUs != 2 {
		t.Errorf("cpus = %d", cfg.CPUs)
	}
	if len(info.Warnings) != 2 {
		t.Fatalf("warnings = %q, want 2", info.Warnings)
	}
	for i, want := range []string{`"cpu"`, `"gpu"`} {
		w := info.Warnings[i]
		if !strings.Contains(w, want) || !strings.Contains(w, path) {
			t.Errorf("warning %q does not name key %s and file", w, want)
		}
	}
	if !strings.Contains(info.Warnings[0], path+":2") || !strings.Contains(info.Warnings[1], path+":5") {
		t.Errorf("warnings do not give the line: %q", info.Warnings)
	}
	if !strings.Contains(info.Warnings[0], `"cpus"`) {
		t.Errorf("warning %q does not suggest cpus", info.Warnings[0])
	}

	_, _, err = LoadConfig(LoadOptions{Path: path, Strict: true})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Key != "cpu" || ce.Line != 2 || ce.File != path {
		t.Fatalf("strict: err = %#v, want a ConfigError for cpu at %s:2", err, path)
	}
	if !strings.Contains(err.Error(), path+":2") {
		t.Errorf("strict error %q does not say where", err)
	}

	_, _, err = LoadConfig(LoadOptions{Overrides: map[string]string{"cpuz": "1"}})
	if !errors.As(err, &ce) || ce.Key != "cpuz" {
		t.Errorf("unknown --set key: err = %v", err)
	}
}

func TestConfigBadValues(t *testing.T) {
	cases := []struct {
		name     string
		yaml     string
		key      string
		line     int
		contains string
	}{
		{"wrong type", "queue: q\ncpus: lots\n", "cpus", 2, "lots"},
		{"negative cpus", "cpus: -2\n", "cpus", 1, "-2"},
		{"zero cpus", "cpus: 0\n", "cpus", 1, "omit the key"},
		{"zero gpus", "queue: q\ngpus: 0\n", "gpus", 2, "must be positive"},
		{"bad memory", "memory: 8 GiB\n", "memory", 1, "8 GiB"},
		{"bad walltime", "\n\nwalltime: forever\n", "walltime", 3, "forever"},
		{"bad bool", "poll_all_users: maybe\n", "poll_all_users", 1, "maybe"},
		{"list for scalar", "queue: [a, b]\n", "queue", 1, "single value"},
		{"mapping for list", "extra_args: {a: b}\n", "extra_args", 1, "list"},
		{"bad seconds", "poll_interval: soon\n", "poll_interval", 1, "soon"},
		{"not a number", "command_timeout: NaN\n", "command_timeout", 1, "NaN"},
		{"infinite", "zombie_timeout_minutes: inf\n", "zombie_timeout_minutes", 1, "inf"},
		{"profiles not a mapping", "profiles: [a]\n", "profiles", 1, "mapping"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			isolate(t)
			path := writeFile(t, filepath.Join(t.TempDir(), "c.yaml"), c.yaml)
			_, _, err := LoadConfig(LoadOptions{Path: path})
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *ConfigError", err)
			}
			if ce.Key != c.key || ce.Line != c.line || ce.File != path {
				t.Errorf("error at %s:%d key %q, want %s:%d key %q", ce.File, ce.Line, ce.Key, path, c.line, c.key)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.contains) || !strings.Contains(msg, fmt.Sprintf("%s:%d", path, c.line)) {
				t.Errorf("error %q does not name %q and the place", msg, c.contains)
			}
		})
	}
}

func TestConfigBadOverride(t *testing.T) {
	isolate(t)
	for _, o := range []map[string]string{{"memory": "8 GiB"}, {"walltime": "forever"}, {"cpus": "lots"}} {
		_, _, err := LoadConfig(LoadOptions{Overrides: o})
		for k, v := range o {
			if err == nil || !strings.Contains(err.Error(), v) || !strings.Contains(err.Error(), k) {
				t.Errorf("--set %s=%s: err = %v, want it to name key and value", k, v, err)
			}
		}
	}
	_, _, err := LoadConfig(LoadOptions{Overrides: map[string]string{"executor": "pbs"}})
	if err == nil || !strings.Contains(err.Error(), "pbs") || !strings.Contains(err.Error(), "local") {
		t.Errorf("unknown executor: err = %v, want it to name the value and the choices", err)
	}
}

func TestConfigYAMLSyntaxError(t *testing.T) {
	isolate(t)
	for _, content := range []string{"cpus: [1, 2\n", "cpus: 1\n  queue: x\n\tbad", "- just\n- a list\n"} {
		path := writeFile(t, filepath.Join(t.TempDir(), "c.yaml"), content)
		_, _, err := LoadConfig(LoadOptions{Path: path})
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.File != path {
			t.Errorf("%q: err = %v, want a ConfigError naming the file", content, err)
			continue
		}
		msg := err.Error()
		if strings.Count(msg, path) != 1 || strings.Contains(msg, "\n") {
			t.Errorf("%q: error %q is not one line naming the file once", content, msg)
		}
	}
}

func TestConfigEmptyFileAndNulls(t *testing.T) {
	isolate(t)
	for _, content := range []string{"", "\n# only a comment\n", "~\n", "cpus:\nmemory:\nprofiles:\n"} {
		path := writeFile(t, filepath.Join(t.TempDir(), "c.yaml"), content)
		cfg, _, err := LoadConfig(LoadOptions{Path: path})
		if err != nil {
			t.Errorf("%q: %v", content, err)
			continue
		}
		if diff := cmp.Diff(Config{}, cfg); diff != "" {
			t.Errorf("%q: (-want +got):\n%s", content, diff)
		}
	}
}

func TestConfigAllKeys(t *testing.T) {
	isolate(t)
	path := writeFile(t, filepath.Join(t.TempDir(), "c.yaml"), `
executor: local
cpus: 2
gpus: 1
memory: 1.5gb
walltime: "04:00"
queue: long
account: proj
poll_interval: 2.5
min_poll_interval: 1
job_name_prefix: pipe
shebang: "#!/bin/sh"
script_prologue: [module load x]
script_epilogue: echo bye
extra_directives: ["#BSUB -P p"]
directives_skip: ["-R"]
extra_args: [-q, x]
lsf_units: GB
lsf_explicit_units: yes
suppress_job_email: false
command_timeout: 30
zombie_timeout_minutes: 5
completed_retention_minutes: 1
poll_all_users: true
state_dir: /var/tmp/capi
submit_retries: 5
local_slots: 3
local_gpus: 2
in_memory: true
`)
	cfg, info, err := LoadConfig(LoadOptions{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Executor: "local", CPUs: 2, GPUs: 1, Memory: 1536 << 20, Walltime: 4 * time.Hour, Queue: "long", Account: "proj",
		PollInterval: 2500 * time.Millisecond, MinPollInterval: time.Second, JobNamePrefix: "pipe", Shebang: "#!/bin/sh",
		ScriptPrologue: []string{"module load x"}, ScriptEpilogue: []string{"echo bye"},
		ExtraDirectives: []string{"#BSUB -P p"}, DirectivesSkip: []string{"-R"}, ExtraArgs: []string{"-q", "x"},
		LSFUnits: "GB", LSFExplicitUnits: true, JobEmail: true, CommandTimeout: 30 * time.Second,
		ZombieTimeout: 5 * time.Minute, CompletedRetention: time.Minute, PollAllUsers: true,
		StateDir: "/var/tmp/capi", SubmitRetries: 5, LocalSlots: 3, LocalGPUs: 2, InMemory: true,
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if len(info.Sources) != len(ConfigKeys()) || len(info.Warnings) != 0 {
		t.Errorf("%d sources for %d keys, warnings %q", len(info.Sources), len(ConfigKeys()), info.Warnings)
	}
	// Values render back to what parses to the same config.
	over := map[string]string{}
	for _, k := range ConfigKeys() {
		v, _ := cfg.Value(k.Key)
		over[k.Key] = v
	}
	isolate(t)
	back, _, err := LoadConfig(LoadOptions{Overrides: over})
	if err != nil {
		t.Fatalf("reloading rendered values: %v", err)
	}
	if diff := cmp.Diff(want, back); diff != "" {
		t.Errorf("round trip through Value (-want +got):\n%s", diff)
	}
}

func FuzzLoadConfig(f *testing.F) {
	f.Add([]byte(profileConfig), "gpu")
	f.Add([]byte("cpus: lots\n"), "")
	f.Add([]byte("a: &x [1, *x]\nprofiles: {p: *x}\n"), "p")
	f.Add([]byte("profiles:\n  p: ~\n"), "p")
	f.Add([]byte("<<: {cpus: 1}\nmemory: 1e400 GB\n"), "")
	f.Add([]byte("\xff\xfe"), "")
	f.Fuzz(func(t *testing.T, data []byte, profile string) {
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, strict := range []bool{false, true} {
			cfg, _, err := LoadConfig(LoadOptions{Path: path, Profile: profile, Strict: strict})
			if err != nil {
				continue
			}
			if cfg.CPUs < 0 || cfg.Memory < 0 || cfg.Walltime < 0 || cfg.PollInterval < 0 ||
				cfg.CommandTimeout < 0 || cfg.ZombieTimeout < 0 || cfg.CompletedRetention < 0 {
				t.Fatalf("accepted negative values: %+v", cfg)
			}
		}
	})
}

func TestConfigEnvPathMissingIsAnError(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("HOME", dir)
	t.Setenv("CLUSTER_API_CONFIG", filepath.Join(dir, "nope.yaml"))
	_, _, err := LoadConfig(LoadOptions{})
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "nope.yaml") || !strings.Contains(err.Error(), "CLUSTER_API_CONFIG") {
		t.Fatalf("err = %v, want a ConfigError naming the file and the variable", err)
	}
}

func TestConfigDuplicateKeyIsAnError(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	os.WriteFile(p, []byte("cpus: 2\nqueue: a\ncpus: 4\n"), 0o644)
	_, _, err := LoadConfig(LoadOptions{Path: p})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Line != 3 || ce.Key != "cpus" || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("err = %v, want a ConfigError for cpus at line 3 naming line 1", err)
	}
}

package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const siteConfig = `executor: local
cpus: 2
memory: 4 GB
job_name_prefix: myapp
profiles:
  big:
    cpus: 1
    walltime: "04:00"
`

func TestConfigShow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.writeConfig(siteConfig)
	r := e.run("--profile", "big", "--set", "poll_interval=3", "config", "show", "--json")
	wantCode(t, r, ExitOK)
	var show configShow
	if err := json.Unmarshal([]byte(r.out), &show); err != nil {
		t.Fatal(err)
	}
	got := map[string]configEntry{}
	for _, k := range show.Keys {
		got[k.Key] = k
	}
	for key, want := range map[string][2]string{
		"cpus":            {"1", "profile big (" + e.config + ":7)"},
		"memory":          {"4 GB", e.config + ":3"},
		"walltime":        {"04:00:00", "profile big (" + e.config + ":8)"},
		"job_name_prefix": {"myapp", e.config + ":4"},
		"poll_interval":   {"3", "--set"},
		"state_dir":       {e.state, "--set"},
		"shebang":         {"#!/bin/bash", "default"},
	} {
		if g := got[key]; g.Value != want[0] || g.Source != want[1] {
			t.Errorf("%s = %q from %q, want %q from %q", key, g.Value, g.Source, want[0], want[1])
		}
	}
	if show.File != e.config || show.Profile != "big" {
		t.Errorf("file %q profile %q", show.File, show.Profile)
	}

	r = e.run("config", "show")
	wantCode(t, r, ExitOK)
	if !strings.Contains(r.out, "# config file: "+e.config) || !strings.Contains(r.out, "KEY") {
		t.Errorf("config show:\n%s", r.out)
	}
}

func TestConfigCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.writeConfig(siteConfig)
	r := e.run("config", "check")
	wantCode(t, r, ExitOK)
	if !strings.Contains(r.out, "ok") {
		t.Errorf("config check: %q", r.out)
	}

	e.writeConfig(`executor: local
cpu: 4
colour: blue
profiles:
  big:
    memory: 8 GiB
  gpu:
    gpu: 1
`)
	r = e.run("config", "check")
	wantCode(t, r, ExitUsage)
	lines := strings.Split(strings.TrimSpace(r.err), "\n")
	for _, want := range []string{`"cpu"`, `did you mean "cpus"`, `"colour"`, "profile big", "memory", `"gpu"`} {
		if !strings.Contains(r.err, want) {
			t.Errorf("config check output lacks %q:\n%s", want, r.err)
		}
	}
	if len(lines) != 5 {
		t.Errorf("want 4 problems and a summary, got:\n%s", r.err)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "capi: ") {
			t.Errorf("line %q", l)
		}
	}

	e.writeConfig("cpus: [1, 2\n")
	wantOneLineError(t, e.run("config", "check", "--json"), ExitUsage, "1 problem")
}

func TestConfigPaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.run("config", "paths", "--json")
	wantCode(t, r, ExitOK)
	var paths []configPath
	if err := json.Unmarshal([]byte(r.out), &paths); err != nil {
		t.Fatal(err)
	}
	if len(paths) != 1 || paths[0] != (configPath{Path: e.config, Exists: true, Used: true}) {
		t.Errorf("paths: %+v", paths)
	}
	missing := filepath.Join(e.dir, "nope.yaml")
	var out, errOut strings.Builder
	code := run([]string{"--config", missing, "config", "paths"}, &globals{io: IO{Out: &out, ErrOut: &errOut}})
	if code != 0 || !strings.Contains(out.String(), missing+"  missing") {
		t.Errorf("config paths --config missing: %d %q %q", code, out.String(), errOut.String())
	}
}

func TestDoctor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bin := filepath.Join(e.dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	doctor := func(executor, path string) result {
		var out, errOut strings.Builder
		g := &globals{io: IO{Out: &out, ErrOut: &errOut}, searchPath: path}
		code := run([]string{"--config", e.config, "--set", "state_dir=" + e.state, "--executor", executor, "doctor", "--timeout", "300ms"}, g)
		return result{out.String(), errOut.String(), code}
	}

	r := doctor("local", bin)
	wantCode(t, r, ExitOK)
	for _, want := range []string{"[ok  ] state dir", e.state + " (writable)", "[ok  ] local", "[info] local spool        0 jobs, 0.0 MB journal; 0 waiting, 0 running", "slurm", "not installed"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("doctor lacks %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, "readable by other users") {
		t.Errorf("doctor warns about a private state dir:\n%s", r.out)
	}
	// A state dir made by an older capi (0755) is a warning, with the fix.
	if err := os.Chmod(e.state, 0o755); err != nil {
		t.Fatal(err)
	}
	r = doctor("local", bin)
	if !strings.Contains(r.out, "[warn] state dir") || !strings.Contains(r.out, e.state+" is readable by other users") || !strings.Contains(r.out, "chmod go-rwx "+e.state) {
		t.Errorf("doctor does not warn about a state dir others can read, with the chmod to run:\n%s", r.out)
	}
	if err := os.Chmod(e.state, 0o700); err != nil {
		t.Fatal(err)
	}

	r = doctor("slurm", bin)
	wantCode(t, r, ExitScheduler)
	if !strings.Contains(r.out, "[fail] slurm") || !strings.Contains(r.out, "sbatch, squeue, scancel") {
		t.Errorf("doctor slurm without sbatch:\n%s", r.out)
	}

	script := func(name, body string) {
		// Through a rename: rewriting an executable in place races with
		// other tests' forks holding it open ("text file busy").
		tmp := filepath.Join(e.dir, name+".tmp")
		if err := os.WriteFile(tmp, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	script("sbatch", "echo 'slurm 23.11.4'")
	script("squeue", "true")
	script("scancel", "true")
	script("sacct", "echo 'Slurm accounting storage is disabled' >&2; exit 1")
	r = doctor("slurm", bin)
	wantCode(t, r, ExitOK)
	for _, want := range []string{"[ok  ] slurm ", "slurm 23.11.4", "[warn] slurm accounting", "accounting storage is disabled"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("doctor slurm lacks %q:\n%s", want, r.out)
		}
	}
	script("sacct", "exit 0")
	if r = doctor("slurm", bin); !strings.Contains(r.out, "[ok  ] slurm accounting") {
		t.Errorf("doctor with working sacct:\n%s", r.out)
	}
	script("sacct", "exec /bin/sleep 5")
	if r = doctor("slurm", bin); !strings.Contains(r.out, "no answer within") {
		t.Errorf("doctor with hanging sacct:\n%s", r.out)
	}

	e.writeConfig("cpus: lots\n")
	wantOneLineError(t, doctor("local", bin), ExitUsage, "cannot work")
}

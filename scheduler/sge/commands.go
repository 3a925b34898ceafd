package sge

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// commands are the programs capi runs and the environment they need.
type commands struct {
	qsub, qstat, qacct, qdel string
	// env is added to every command; nil when the programs are the ones on
	// PATH and need nothing.
	env []string
}

func pathCommands() commands {
	return commands{qsub: "qsub", qstat: "qstat", qacct: "qacct", qdel: "qdel"}
}

// Debian installs /usr/bin/q* as links to one shell wrapper that sets
// SGE_ROOT, SGE_CELL and SGE_ARCH (running the arch script each time, ~65 ms)
// and then execs the real binary in /usr/lib/gridengine (~7 ms alone).
const (
	debianWrapper = "gridengine-wrapper"
	debianLibDir  = "/usr/lib/gridengine"
	debianConfig  = "/etc/default/gridengine"
	debianRoot    = "/var/lib/gridengine"
	debianCell    = "default"
)

// probe is what detection reads from the machine, so tests can describe a
// machine without having one.
type probe interface {
	LookPath(string) (string, error)
	EvalSymlinks(string) (string, error)
	Getenv(string) string
	ReadFile(string) ([]byte, error)
	// Executable reports whether path is an executable regular file.
	Executable(string) bool
	// Exists reports whether path exists.
	Exists(string) bool
}

type osProbe struct{}

func (osProbe) LookPath(f string) (string, error)     { return exec.LookPath(f) }
func (osProbe) EvalSymlinks(p string) (string, error) { return filepath.EvalSymlinks(p) }
func (osProbe) Getenv(k string) string                { return os.Getenv(k) }
func (osProbe) ReadFile(p string) ([]byte, error)     { return os.ReadFile(p) }
func (osProbe) Executable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
func (osProbe) Exists(p string) bool { _, err := os.Stat(p); return err == nil }

// detectCommands uses Debian's client binaries directly when qstat on PATH is
// Debian's wrapper and everything the wrapper would set up is found; in every
// other case (another distribution, a site install, anything unexpected) it
// keeps the plain names on PATH, which always work.
func detectCommands(p probe) commands {
	plain := pathCommands()
	found, err := p.LookPath("qstat")
	if err != nil {
		return plain
	}
	real, err := p.EvalSymlinks(found)
	if err != nil || filepath.Base(real) != debianWrapper {
		return plain
	}
	direct := commands{
		qsub:  filepath.Join(debianLibDir, "qsub"),
		qstat: filepath.Join(debianLibDir, "qstat"),
		qacct: filepath.Join(debianLibDir, "qacct"),
		qdel:  filepath.Join(debianLibDir, "qdel"),
	}
	for _, b := range []string{direct.qsub, direct.qstat, direct.qacct, direct.qdel} {
		if !p.Executable(b) {
			return plain
		}
	}
	// Same precedence as the wrapper: environment, then its config file,
	// then Debian's defaults.
	conf := map[string]string{}
	if b, err := p.ReadFile(debianConfig); err == nil {
		conf = parseShellAssignments(b)
	}
	pick := func(key, def string) string {
		if v := p.Getenv(key); v != "" {
			return v
		}
		if v := conf[key]; v != "" {
			return v
		}
		return def
	}
	root, cell := pick("SGE_ROOT", debianRoot), pick("SGE_CELL", debianCell)
	if !p.Exists(filepath.Join(root, cell, "common", "act_qmaster")) {
		return plain
	}
	direct.env = []string{"SGE_ROOT=" + root, "SGE_CELL=" + cell}
	return direct
}

// parseShellAssignments reads the plain KEY=value lines of a shell config
// file such as /etc/default/gridengine. Values with quotes are unquoted;
// values with command substitutions or variables are skipped, because
// running the file is what capi avoids.
func parseShellAssignments(b []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, val, ok := strings.Cut(line, "=")
		if !ok || strings.ContainsAny(key, " \t") {
			continue
		}
		if len(val) >= 2 && (val[0] == '"' || val[0] == '\'') && val[len(val)-1] == val[0] {
			val = val[1 : len(val)-1]
		}
		if strings.ContainsAny(val, "`$\"' \t;") {
			continue
		}
		out[key] = val
	}
	return out
}

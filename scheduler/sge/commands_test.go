package sge

import (
	"errors"
	"io/fs"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeMachine describes what detection can see of a machine.
type fakeMachine struct {
	path  map[string]string // command -> path on PATH
	links map[string]string // path -> resolved path
	env   map[string]string
	files map[string]string // path -> content; present = exists
	exe   map[string]bool
}

func (m fakeMachine) LookPath(f string) (string, error) {
	if p, ok := m.path[f]; ok {
		return p, nil
	}
	return "", errors.New("not found")
}

func (m fakeMachine) EvalSymlinks(p string) (string, error) {
	if r, ok := m.links[p]; ok {
		return r, nil
	}
	return p, nil
}

func (m fakeMachine) Getenv(k string) string { return m.env[k] }

func (m fakeMachine) ReadFile(p string) ([]byte, error) {
	if c, ok := m.files[p]; ok {
		return []byte(c), nil
	}
	return nil, fs.ErrNotExist
}

func (m fakeMachine) Executable(p string) bool { return m.exe[p] }

func (m fakeMachine) Exists(p string) bool { _, ok := m.files[p]; return ok }

// debianMachine is this project's test machine: Debian 12 with gridengine.
func debianMachine() fakeMachine {
	return fakeMachine{
		path:  map[string]string{"qstat": "/usr/bin/qstat"},
		links: map[string]string{"/usr/bin/qstat": "/usr/share/gridengine/gridengine-wrapper"},
		env:   map[string]string{},
		files: map[string]string{
			"/etc/default/gridengine":                        "# comment\nSGE_START_EXECD=yes\nSGE_ROOT=/var/lib/gridengine\nSGE_CELL=default\nSGE_ARCH=`\"$SGE_ROOT/util/arch\"`\n",
			"/var/lib/gridengine/default/common/act_qmaster": "vm\n",
			"/opt/sge/site/common/act_qmaster":               "head\n",
		},
		exe: map[string]bool{
			"/usr/lib/gridengine/qsub": true, "/usr/lib/gridengine/qstat": true,
			"/usr/lib/gridengine/qacct": true, "/usr/lib/gridengine/qdel": true,
		},
	}
}

func TestDetectCommands(t *testing.T) {
	t.Parallel()
	direct := func(root, cell string) commands {
		return commands{
			qsub: "/usr/lib/gridengine/qsub", qstat: "/usr/lib/gridengine/qstat",
			qacct: "/usr/lib/gridengine/qacct", qdel: "/usr/lib/gridengine/qdel",
			env: []string{"SGE_ROOT=" + root, "SGE_CELL=" + cell},
		}
	}
	tests := []struct {
		name   string
		change func(*fakeMachine)
		want   commands
	}{
		{"debian wrapper", func(*fakeMachine) {}, direct("/var/lib/gridengine", "default")},
		{"environment wins", func(m *fakeMachine) { m.env["SGE_ROOT"], m.env["SGE_CELL"] = "/opt/sge", "site" }, direct("/opt/sge", "site")},
		{"no config file", func(m *fakeMachine) { delete(m.files, "/etc/default/gridengine") }, direct("/var/lib/gridengine", "default")},
		{"no qstat", func(m *fakeMachine) { delete(m.path, "qstat") }, pathCommands()},
		{"site install", func(m *fakeMachine) {
			m.path["qstat"] = "/opt/sge/bin/lx-amd64/qstat"
			m.links = nil
		}, pathCommands()},
		{"a binary missing", func(m *fakeMachine) { delete(m.exe, "/usr/lib/gridengine/qacct") }, pathCommands()},
		{"no cell", func(m *fakeMachine) { m.env["SGE_CELL"] = "other" }, pathCommands()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := debianMachine()
			tt.change(&m)
			if diff := cmp.Diff(tt.want, detectCommands(m), cmp.AllowUnexported(commands{})); diff != "" {
				t.Errorf("commands (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseShellAssignments(t *testing.T) {
	t.Parallel()
	in := "# Sun Grid Engine configuration\n\nSGE_ROOT=/var/lib/gridengine\nexport SGE_CELL=\"my cell\"\nA='x'\nSGE_ARCH=`\"$SGE_ROOT/util/arch\"`\nB=$HOME\nnot an assignment\nC=\n"
	want := map[string]string{"SGE_ROOT": "/var/lib/gridengine", "A": "x", "C": ""}
	if diff := cmp.Diff(want, parseShellAssignments([]byte(in))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

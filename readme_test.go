package clusterapi_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMELibraryExample builds the Go program in README.md's "Using the
// library" section exactly as it is written there, in a module of its own
// that uses this checkout, and runs it on the local executor: a snippet
// that does not compile as pasted (or that asks for more cpus than a
// laptop has) fails here, not in a new user's editor.
func TestREADMELibraryExample(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the README's program with")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	src := goBlock(t, string(readme), "## Using the library")
	repo, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"main.go": src,
		"go.mod": "module readme\n\ngo 1.26\n\nrequire github.com/go-cluster-api/clusterapi v0.0.0\n\n" +
			"replace github.com/go-cluster-api/clusterapi => " + repo + "\n",
		"go.sum": string(sum),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "hello")
	build := exec.Command(goBin, "build", "-o", bin, ".")
	build.Dir = dir
	// Only what this checkout already uses: no network, no go.work of
	// the surrounding directories; -mod=mod lets go add this checkout's
	// own requirements to the little module.
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("the README's program does not build: %v\n%s\n--- main.go ---\n%s", err, out, src)
	}

	// Run it as a new user would, in a directory of their own with no
	// configuration: the job runs on this machine.
	home := t.TempDir()
	run := exec.Command(bin)
	run.Dir = home
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "XDG_") && !strings.HasPrefix(kv, "CLUSTER_API_CONFIG=") {
			run.Env = append(run.Env, kv)
		}
	}
	run.Env = append(run.Env, "HOME="+home, "XDG_STATE_HOME="+filepath.Join(home, "state"))
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's program failed: %v\n%s", err, out)
	}
	host, _ := os.Hostname()
	if !strings.Contains(string(out), "printed: hello from "+host) || !strings.Contains(string(out), " done on ") {
		t.Errorf("the README's program printed:\n%s", out)
	}
}

// goBlock returns the first ```go block after the heading.
func goBlock(t *testing.T, doc, heading string) string {
	t.Helper()
	_, after, ok := strings.Cut(doc, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no %q section", heading)
	}
	_, block, ok := strings.Cut(after, "\n```go\n")
	if !ok {
		t.Fatalf("no ```go block under %q", heading)
	}
	src, _, ok := strings.Cut(block, "\n```\n")
	if !ok {
		t.Fatalf("the ```go block under %q does not end", heading)
	}
	return src + "\n"
}

// Package golden compares what tests produce with golden files kept in
// testdata. `go test -update` rewrites the files instead; review the diff
// before committing it.
package golden

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files with what the tests produce")

// Bytes compares got with the file at path.
func Bytes(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got); if the change is right, run go test -update:\n%s", path, diff)
	}
}

// JSON compares v, encoded as indented JSON (scheduler output such as
// "Job <12>" kept readable, not HTML-escaped), with the file at path.
func JSON(t testing.TB, path string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	Bytes(t, path, buf.Bytes())
}

// PeerOutputs is the check every scheduler package runs over the outputs
// other projects recorded, kept in dir (testdata/peer): each file there
// has a row "| name |" in the index file (which may be in dir itself) and a
// reading among readings, and each reading has its file. read is called
// with the path and the content of each file, in a parallel subtest named
// after it; files ending in .golden.json are the goldens, not outputs.
func PeerOutputs(t *testing.T, dir, index string, readings []string, read func(t *testing.T, path string, data []byte)) {
	t.Helper()
	rows, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, path := range files {
		name := filepath.Base(path)
		if filepath.Clean(path) == filepath.Clean(index) || strings.HasSuffix(name, ".golden.json") {
			continue
		}
		seen[name] = true
		if !bytes.Contains(rows, []byte("| "+name+" |")) {
			t.Errorf("%s has no row in %s", path, index)
		}
		if !slices.Contains(readings, name) {
			t.Errorf("%s has no reading", path)
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			read(t, path, data)
		})
	}
	for _, name := range readings {
		if !seen[name] {
			t.Errorf("there is a reading of %s, which is not in %s", name, dir)
		}
	}
}

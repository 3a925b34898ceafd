package schedtest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// Parse is a scheduler package's parser of a status command's output: the
// observations, the lines it skipped as not its own, and an error when the
// output cannot be read.
type Parse func(out []byte) ([]scheduler.Observation, []string, error)

// NoiseChangesNothing is the promise every scheduler package makes to
// sites that wrap its commands: noisy, which is clean with added lines of
// a site's own put around or between the rows, parses to the same
// observations as clean, with the added lines skipped one by one, and
// fails only where clean fails. The fuzz targets of the parsers call it.
func NoiseChangesNothing(t *testing.T, parse Parse, clean, noisy []byte, added int) {
	t.Helper()
	want, wantSkipped, wantErr := parse(clean)
	got, skipped, err := parse(noisy)
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("with noise: error %v; without: %v\nnoisy output: %q", err, wantErr, noisy)
	}
	if err != nil {
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("noise changed the observations (-without +with):\n%s\nnoisy output: %q", diff, noisy)
	}
	if len(skipped) != len(wantSkipped)+added {
		t.Fatalf("%d lines skipped, want %d + %d\nnoisy output: %q", len(skipped), len(wantSkipped), added, noisy)
	}
}

// NoiseAroundDocument is NoiseChangesNothing for a command that prints one
// document (bjobs -json, qstat -xml): noise, made one line, goes before
// the document, and after it too when the document is complete. Noise
// that starts like a document (with opens, after blanks) would be one, so
// it gets an "x" in front.
func NoiseAroundDocument(t *testing.T, parse Parse, doc []byte, noise, opens string) {
	t.Helper()
	noise = strings.NewReplacer("\n", " ", "\r", " ").Replace(noise)
	if strings.HasPrefix(strings.TrimLeft(noise, " \t"), opens) {
		noise = "x" + noise
	}
	noisy := noise + "\n" + string(doc)
	added := 1
	if _, _, err := parse(doc); err == nil {
		noisy += "\n" + noise + "\n"
		added = 2
	}
	if strings.TrimSpace(noise) == "" {
		added = 0
	}
	NoiseChangesNothing(t, parse, doc, []byte(noisy), added)
}

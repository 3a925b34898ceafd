package local

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// FuzzJournal feeds arbitrary bytes to the journal reader: it never panics,
// never allocates for an impossible array, keeps its slot counts
// consistent, and reads the same book whether the bytes arrive at once or
// in two appends cut anywhere (a reader often sees a line half written).
func FuzzJournal(f *testing.F) {
	f.Add([]byte(`{"ev":"submit","id":"1","job":{"name":"a","cpus":1,"submitted":"2026-11-29T14:23:19Z"}}
{"ev":"start","id":"1","el":"job","owner":"o","pid":42,"start":"2026-11-29T14:23:20Z","gpus":[0],"run":"/r"}
{"ev":"end","id":"1","el":"job","owner":"o","end":{"status":"done","exit":0,"has_exit":true,"finish":"2026-11-29T14:23:21Z"}}
`), 40)
	f.Add([]byte(`{"ev":"submit","id":"2","job":{"name":"arr","cpus":2,"array":true,"first":1,"last":3,"max_concurrent":1}}
{"ev":"start","id":"2","el":"2","pid":7}
{"ev":"cancel","id":"2","el":"3"}
{"ev":"cancel","id":"2"}
{"ev":"end","id":"2","el":"2","end":{"status":"killed"}}
{"ev":"end","id":"2","el":"9","end":{"status":"done"}}
`), 100)
	f.Add([]byte(`{"ev":"submit","id":"3","job":{"cpus":1,"array":true,"first":0,"last":2000000000}}
{"ev":"submit","id":"4","job":{"cpus":1,"array":true,"first":5,"last":1}}
not json
{"ev":"start","id":"nope","el":"job"}
`), 7)
	f.Fuzz(func(t *testing.T, data []byte, cut int) {
		whole := readBook(t, data, -1)
		if cut < 0 {
			cut = -cut
		}
		if len(data) > 0 {
			cut %= len(data) + 1
		} else {
			cut = 0
		}
		split := readBook(t, data, cut)
		if whole.off != split.off || whole.lastID != split.lastID || whole.usedCPUs != split.usedCPUs || len(whole.jobs) != len(split.jobs) {
			t.Fatalf("read at once: off %d last %d cpus %d jobs %d; in two parts: off %d last %d cpus %d jobs %d",
				whole.off, whole.lastID, whole.usedCPUs, len(whole.jobs), split.off, split.lastID, split.usedCPUs, len(split.jobs))
		}
		cpus := 0
		for id, j := range whole.jobs {
			if n := len(j.els); n < 1 || n > maxArraySize {
				t.Fatalf("job %s holds %d elements", id, n)
			}
			running, left := 0, 0
			for i := range j.els {
				e := &j.els[i]
				if e.running() {
					running++
				}
				if !e.ended {
					left++
				}
			}
			if running != j.running || left != j.left {
				t.Fatalf("job %s: counted %d running, %d left; the book says %d, %d", id, running, left, j.running, j.left)
			}
			cpus += running * j.job.CPUs
		}
		if cpus != whole.usedCPUs {
			t.Fatalf("running elements hold %d cpus; the book says %d", cpus, whole.usedCPUs)
		}
	})
}

// testJournal opens a new, empty journal as a Scheduler does.
func testJournal(t *testing.T) *os.File {
	t.Helper()
	f, err := spool{dir: t.TempDir()}.openJournal()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// readBook writes data to a new journal, in two appends cut at cut (or at
// once for cut < 0) with a catch-up after each, and returns the book.
func readBook(t *testing.T, data []byte, cut int) *book {
	t.Helper()
	f := testJournal(t)
	b := newBook()
	parts := [][]byte{data}
	if cut >= 0 {
		parts = [][]byte{data[:cut], data[cut:]}
	}
	for _, p := range parts {
		if _, err := f.Write(p); err != nil {
			t.Fatal(err)
		}
		if err := b.catchUp(f, nil); err != nil && len(data) <= maxLine {
			t.Fatal(err)
		}
	}
	return b
}

// A journal longer than one read piece, with a line across each piece's
// end, reads back whole.
func TestLongJournalReadsInPieces(t *testing.T) {
	t.Parallel()
	f := testJournal(t)
	const n = 12_000 // ~2.8 MB of submissions: three pieces
	var evs []event
	for i := 1; i <= n; i++ {
		evs = append(evs, event{Ev: evSubmit, ID: strconv.Itoa(i), Job: &jobFile{Name: strings.Repeat("x", 150), CPUs: 1}})
	}
	if err := appendEvents(f, evs...); err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	if fi.Size() < 2*readPiece {
		t.Fatalf("journal of %d bytes, want more than two pieces", fi.Size())
	}
	b := newBook()
	if err := b.catchUp(f, nil); err != nil {
		t.Fatal(err)
	}
	if len(b.jobs) != n || b.lastID != n || b.off != fi.Size() {
		t.Errorf("read %d jobs, last id %d, offset %d; want %d, %d, %d", len(b.jobs), b.lastID, b.off, n, n, fi.Size())
	}
}

// A line far longer than capi ever writes (a damaged journal) is skipped,
// not fatal: the events after it are read.
func TestOverlongLineIsSkipped(t *testing.T) {
	t.Parallel()
	f := testJournal(t)
	f.WriteString(`{"ev":"submit","id":"1","job":{"cpus":1,"name":"` + strings.Repeat("x", maxLine+readPiece) + "\"}}\n")
	if err := appendEvents(f, event{Ev: evSubmit, ID: "2", Job: &jobFile{Name: "after", CPUs: 1}}); err != nil {
		t.Fatal(err)
	}
	b := newBook()
	if err := b.catchUp(f, nil); err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	if b.jobs["2"] == nil || b.jobs["1"] != nil || b.off != fi.Size() {
		t.Errorf("after an overlong line: jobs %v, offset %d of %d; want job 2 only, all read", len(b.jobs), b.off, fi.Size())
	}
}

package clusterapi

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A store write that fails at any step must not lose a state: the failed
// changes, array elements included, are written by the next flush, and a
// process that opens the store after Close sees exactly the states the
// closing process last saw.
func TestStoreWriteFailuresLoseNothing(t *testing.T) {
	t.Parallel()
	// Each case fails the n-th store write of the sequence below once.
	for failAt := 1; failAt <= 6; failAt++ {
		t.Run(fmt.Sprintf("write %d fails", failAt), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			f := newFake()
			e, err := New(Config{StateDir: dir}, &Options{Scheduler: f})
			if err != nil {
				t.Fatal(err)
			}
			writes := 0
			e.mu.Lock()
			e.failWrite = func() error {
				writes++
				if writes == failAt {
					return errors.New("injected: reading current states: context canceled")
				}
				return nil
			}
			e.mu.Unlock()
			arr, err := e.SubmitArray(context.Background(), spec(dir, "arr", "true"), Array{First: 1, Last: 300})
			if err != nil {
				t.Fatal(err)
			}
			single := mustSubmit(t, e, spec(dir, "one", "true"))
			poll := func() { e.Poll(context.Background()) } // a failed write is logged, not returned

			for i := 1; i <= 300; i++ {
				f.setStatus(arr.ID(), i, Running, 0)
			}
			f.setStatus(single.ID(), 0, Running, 0)
			poll()
			for i := 1; i <= 290; i++ {
				f.setStatus(arr.ID(), i, Done, 0)
			}
			poll()
			for i := 291; i <= 300; i++ {
				f.setStatus(arr.ID(), i, Failed, i%7)
			}
			f.setStatus(single.ID(), 0, Done, 0)
			poll()
			poll()

			want := map[string]Record{arr.ID(): arr.Snapshot(), single.ID(): single.Snapshot()}
			if want[arr.ID()].Status != Failed || want[single.ID()].Status != Done {
				t.Fatalf("the closing process saw %s and %s, want failed and done", want[arr.ID()].Status, want[single.ID()].Status)
			}
			if err := e.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if writes < failAt {
				t.Skipf("only %d writes in this sequence", writes)
			}

			again, err := New(Config{StateDir: dir}, &Options{Scheduler: f})
			if err != nil {
				t.Fatal(err)
			}
			defer again.Close()
			for id, w := range want {
				j, err := again.Get(context.Background(), id)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(w, j.Snapshot()); diff != "" {
					t.Errorf("job %s restored from the store differs from what the closing process saw (-closing +restored):\n%s", id, diff)
				}
			}
		})
	}
}

// Close reports that it could not write the last states.
func TestCloseReportsAFailedLastWrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := newFake()
	e, err := New(Config{StateDir: dir}, &Options{Scheduler: f})
	if err != nil {
		t.Fatal(err)
	}
	j := mustSubmit(t, e, spec(dir, "one", "true"))
	e.mu.Lock()
	e.failWrite = func() error { return errors.New("injected: disk full") }
	e.mu.Unlock()
	f.setStatus(j.ID(), 0, Done, 0)
	e.Poll(context.Background())
	if err := e.Close(); err == nil {
		t.Error("Close = nil although the last states were never written")
	}
}

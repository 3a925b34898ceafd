package clusterapi

import (
	"context"
	"errors"
	"testing"
)

// Every error capi returns matches ErrClusterAPI, sentinels included; after
// Close every method that does work says ErrClosed, not a database error.
func TestErrorContract(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, inMemory := range []bool{true, false} {
		e, err := New(Config{StateDir: t.TempDir(), InMemory: inMemory}, &Options{Scheduler: newFake()})
		if err != nil {
			t.Fatal(err)
		}
		for _, sentinel := range []error{ErrNotFound, ErrTransient, ErrClosed, ErrNoPrefix} {
			if !errors.Is(sentinel, ErrClusterAPI) {
				t.Errorf("%v does not match ErrClusterAPI", sentinel)
			}
		}
		_, err = e.Get(ctx, "nope")
		if !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrClusterAPI) {
			t.Errorf("in_memory=%v: Get(nope) = %v; want ErrNotFound, matching ErrClusterAPI", inMemory, err)
		}
		if _, err := e.CancelAll(ctx, &CancelOptions{Index: new(int)}); !errors.As(err, new(*ValueError)) {
			t.Errorf("CancelAll with an element index = %v, want a ValueError", err)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		calls := map[string]error{}
		_, calls["Submit"] = e.Submit(ctx, spec(dir, "x", "true"))
		_, calls["SubmitArray"] = e.SubmitArray(ctx, spec(dir, "x", "true"), Array{First: 1, Last: 2})
		_, calls["Get"] = e.Get(ctx, "1")
		_, calls["List"] = e.List(ctx, ListFilter{})
		calls["Poll"] = e.Poll(ctx)
		calls["Cancel"] = e.Cancel(ctx, "1", nil)
		_, calls["CancelByName"] = e.CancelByName(ctx, "x*", nil)
		_, calls["CancelAll"] = e.CancelAll(ctx, nil)
		_, calls["Reconnect"] = e.Reconnect(ctx)
		for name, err := range calls {
			if !errors.Is(err, ErrClosed) || !errors.Is(err, ErrClusterAPI) {
				t.Errorf("in_memory=%v: %s after Close = %v, want ErrClosed", inMemory, name, err)
			}
		}
		if err := e.Close(); err != nil {
			t.Errorf("a second Close = %v, want nil", err)
		}
	}
}

package cli

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	capi "github.com/go-cluster-api/clusterapi"
)

func TestSubmitStatusWaitLogs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ok := e.submit("--name", "greet", "--meta", "sample=S1", "--", "sh", "-c", "echo hello; echo oops >&2")
	bad := e.submit("--", "sh", "-c", "exit 3")

	r := e.run("wait", ok, bad)
	wantCode(t, r, ExitJobFailed)
	if !strings.Contains(r.out, ok+" greet done exit 0") || !strings.Contains(r.out, bad+" sh failed exit 3 (exit_code)") {
		t.Errorf("wait output:\n%s", r.out)
	}
	wantCode(t, e.run("wait", ok), ExitOK)

	recs := e.records("status", ok, bad)
	if len(recs) != 2 {
		t.Fatalf("status: %d records", len(recs))
	}
	got := recs[0]
	if got.ID != ok || got.Name != "greet" || got.Status != capi.Done || got.ExitCode == nil || *got.ExitCode != 0 ||
		got.ExecHost != "localhost" || got.SubmitTime.IsZero() || got.FinishTime.IsZero() ||
		!cmp.Equal(got.Metadata, map[string]string{"sample": "S1"}) {
		t.Errorf("status %s: %+v", ok, got)
	}
	if got := recs[1]; got.Status != capi.Failed || got.Reason != capi.ReasonExitCode || got.ExitCode == nil || *got.ExitCode != 3 {
		t.Errorf("status %s: %+v", bad, got)
	}

	r = e.run("logs", ok)
	wantCode(t, r, ExitOK)
	if diff := cmp.Diff("hello\n", r.out); diff != "" {
		t.Errorf("logs (-want +got):\n%s", diff)
	}
	r = e.run("logs", ok, "--stderr")
	if r.out != "oops\n" {
		t.Errorf("logs --stderr = %q", r.out)
	}

	// Without ids: every job of the store; filters.
	if recs := e.records("status"); len(recs) != 2 {
		t.Errorf("status without ids: %d records", len(recs))
	}
	if recs := e.records("status", "--status", "failed"); len(recs) != 1 || recs[0].ID != bad {
		t.Errorf("status --status failed: %+v", recs)
	}
	if recs := e.records("status", "--name", "gr*"); len(recs) != 1 || recs[0].ID != ok {
		t.Errorf("status --name gr*: %+v", recs)
	}
	if recs := e.records("history", "--since", "1h", "--limit", "1"); len(recs) != 1 || recs[0].ID != bad {
		t.Errorf("history --limit 1: %+v", recs)
	}

	r = e.run("status")
	wantCode(t, r, ExitOK)
	for _, want := range []string{"ID", "NAME", "STATUS", "EXIT", "REASON", "AGE", "ELAPSED", "greet", "exit_code"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("status table lacks %q:\n%s", want, r.out)
		}
	}
	r = e.run("status", "-o", "wide")
	wantCode(t, r, ExitOK)
	for _, want := range []string{"HOST", "SUBMITTED", "STARTED", "FINISHED", "localhost"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("status -o wide lacks %q:\n%s", want, r.out)
		}
	}
}

func TestSubmitJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.run("submit", "--json", "--work-dir", e.work, "--name", "j", "--", "true")
	wantCode(t, r, ExitOK)
	var rec capi.Record
	if err := json.Unmarshal([]byte(r.out), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.ID == "" || rec.Name != "j" || rec.Command != "true" || rec.Executor != "local" {
		t.Errorf("submit --json: %+v", rec)
	}
	if !strings.HasPrefix(rec.StdoutPath, e.work) || strings.Contains(rec.StdoutPath, "{job_id}") {
		t.Errorf("stdout_path %q", rec.StdoutPath)
	}
	wantCode(t, e.run("wait", "-q", rec.ID), ExitOK)
}

func TestArrayWait(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.run("array", "--range", "1-6", "--max-concurrent", "2", "--wait", "--work-dir", e.work, "--",
		"sh", "-c", `echo "i=$CAPI_ARRAY_INDEX"; exit $((CAPI_ARRAY_INDEX % 3 == 0))`)
	wantCode(t, r, ExitJobFailed)
	if strings.Contains(r.out, "\x1b") || strings.Contains(r.out, "\r") {
		t.Errorf("progress off a terminal has escape codes: %q", r.out)
	}
	for _, want := range []string{"6/6 finished: done 4, failed 2", "4 done, 2 failed, 0 killed of 6", "failed indices: 3,6"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("output lacks %q:\n%s", want, r.out)
		}
	}
	id := strings.Fields(strings.TrimPrefix(strings.SplitN(r.out, "\n", 2)[0], "submitted array "))[0]

	r = e.run("logs", id, "--index", "5")
	if r.out != "i=5\n" {
		t.Errorf("logs --index 5 = %q (%s)", r.out, r.err)
	}
	wantOneLineError(t, e.run("logs", id), ExitUsage, "--index")
	wantOneLineError(t, e.run("logs", id, "--index", "9"), ExitUsage, "no element 9")

	recs := e.records("status", id)
	a := recs[0].Array
	if a == nil || a.Counts.Done != 4 || a.Counts.Failed != 2 || !cmp.Equal(a.FailedIndices, []int{3, 6}) || len(a.Elements) != 6 {
		t.Fatalf("array record: %+v", a)
	}
	if el := a.Elements[4]; el.Index != 5 || el.Status != capi.Done || el.ExitCode == nil || *el.ExitCode != 0 {
		t.Errorf("element 5: %+v", el)
	}
}

func TestArrayNoWaitThenWait(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.run("array", "--range", "0-3", "--work-dir", e.work, "--", "true")
	wantCode(t, r, ExitOK)
	id := strings.TrimSpace(r.out)
	wantCode(t, e.run("wait", id), ExitOK)
}

func TestArrayProgressBarOnTerminal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cols, e.rows = 80, 24
	r := e.run("array", "--range", "1-3", "--wait", "--work-dir", e.work, "--", "true")
	wantCode(t, r, ExitOK)
	if !strings.Contains(r.out, "\r[###") || !strings.Contains(r.out, "3/3  done 3  failed 0  running 0  pending 0") {
		t.Errorf("no progress bar: %q", r.out)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.writeConfig("local_slots: 4\n") // every sleep starts at once
	long := e.submit("--name", "long", "--", "sleep", "30")
	r := e.run("cancel", long)
	wantCode(t, r, ExitOK)
	if !strings.Contains(r.out, long+" long killed") {
		t.Errorf("cancel output %q", r.out)
	}
	wantCode(t, e.run("wait", long), ExitKilled)
	// Cancelling a finished job is not an error.
	wantCode(t, e.run("cancel", long), ExitOK)

	a := e.submit("--name", "batch-a", "--", "sleep", "30")
	b := e.submit("--name", "batch-b", "--", "sleep", "30")
	c := e.submit("--name", "other", "--", "sleep", "30")
	r = e.run("cancel", "--name", "batch-*")
	wantCode(t, r, ExitOK)
	r = e.run("cancel", "--all", "--done")
	wantCode(t, r, ExitOK)
	recs := e.records("status", a, b, c)
	got := map[string]capi.Status{}
	for _, rec := range recs {
		got[rec.ID] = rec.Status
	}
	want := map[string]capi.Status{a: capi.Killed, b: capi.Killed, c: capi.Done}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses after cancel (-want +got):\n%s", diff)
	}

	wantOneLineError(t, e.run("cancel"), ExitUsage, "exactly one")
	wantOneLineError(t, e.run("cancel", "1", "--all"), ExitUsage, "exactly one")
	wantOneLineError(t, e.run("cancel", "999"), ExitUsage, "999")
}

func TestLogsFollow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.submit("--", "sh", "-c", "echo one; sleep 0.3; echo two")
	r := e.run("logs", "--follow", id)
	wantCode(t, r, ExitOK)
	if r.out != "one\ntwo\n" {
		t.Errorf("logs --follow = %q", r.out)
	}
}

func TestWatchPlainLines(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.submit("--name", "w", "--", "sh", "-c", "sleep 0.3; exit 2")
	r := e.run("watch", id)
	wantCode(t, r, ExitJobFailed)
	if strings.Contains(r.out, "\x1b") || !strings.Contains(r.out, id+" w failed exit 2") {
		t.Errorf("watch output %q", r.out)
	}
	// Nothing left to watch.
	r = e.run("watch")
	wantCode(t, r, ExitOK)
	if !strings.Contains(r.err, "no unfinished jobs") {
		t.Errorf("watch without jobs: %q", r.err)
	}
}

func TestWatchTerminalRedraws(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cols, e.rows = 80, 24
	id := e.submit("--", "true")
	r := e.run("watch", "--interval", "50ms", id)
	wantCode(t, r, ExitOK)
	// The alternate screen, entered and left; frames overwrite each other
	// from the top instead of clearing the screen.
	if !strings.HasPrefix(r.out, enterScreen) || !strings.Contains(r.out, leaveScreen) ||
		strings.Contains(r.out, "\x1b[2J") || !strings.Contains(r.out, "1 of 1 ended") {
		t.Errorf("watch on a terminal: %q", r.out)
	}
}

func TestScript(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.run("script", "--work-dir", e.work, "--cpus", "1", "--env", "A=b c", "--", "echo", "hello world")
	wantCode(t, r, ExitOK)
	for _, want := range []string{"#!/bin/bash\n", "#CAPI cpus=1", "echo 'hello world'"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("script lacks %q:\n%s", want, r.out)
		}
	}
	r = e.run("script", "--work-dir", e.work, "--range", "1-4", "--max-concurrent", "2", "--", "true")
	if !strings.Contains(r.out, "array=1-4%2") || !strings.Contains(r.out, "CAPI_ARRAY_INDEX") {
		t.Errorf("array script:\n%s", r.out)
	}
	if ents, _ := os.ReadDir(e.work); len(ents) != 0 {
		t.Errorf("script wrote files: %v", ents)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		args     []string
		contains string
	}{
		{[]string{"submit"}, "no command given"},
		{[]string{"submit", "--bogus", "--", "true"}, "unknown flag"},
		{[]string{"submit", "--memory", "lots", "--", "true"}, "--memory"},
		{[]string{"submit", "--cpus", "0", "--", "true"}, "--cpus 0: must be positive; omit the flag for none"},
		{[]string{"submit", "--gpus", "0", "--", "true"}, "--gpus 0: must be positive"},
		{[]string{"submit", "--cpus", "-2", "--", "true"}, "--cpus -2: must be positive"},
		{[]string{"--set", "cpus=0", "status"}, "cpus"},
		{[]string{"array", "--", "true"}, "--range is required"},
		{[]string{"array", "--range", "5-1", "--", "true"}, "--range"},
		{[]string{"wait"}, "wait: missing job id"},
		{[]string{"status", "--status", "great"}, "--status"},
		{[]string{"status", "--since", "yesterday"}, "--since"},
		{[]string{"status", "424242"}, "424242"},
		{[]string{"logs"}, "logs: missing job id"},
		{[]string{"--set", "cpus=lots", "status"}, "cpus"},
		{[]string{"--profile", "nope", "status"}, "unknown profile"},
		{[]string{"frobnicate"}, "unknown command"},
	} {
		r := e.run(tc.args...)
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			wantOneLineError(t, r, ExitUsage, tc.contains)
		})
	}
}

func TestParseSince(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2h":                   now.Add(-2 * time.Hour),
		"3d":                   now.Add(-72 * time.Hour),
		"2026-03-01T10:00:00Z": time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
	} {
		got, err := parseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if got, err := parseSince("2026-03-01", now); err != nil || got.Day() != 1 {
		t.Errorf("parseSince(date) = %v, %v", got, err)
	}
}

func TestHelpHasExamples(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := newRootCmd(&globals{})
	for _, c := range root.Commands() {
		if c.Name() == "help" || c.Hidden {
			continue
		}
		t.Run(c.Name(), func(t *testing.T) {
			r := e.run(c.Name(), "--help")
			wantCode(t, r, ExitOK)
			if !strings.Contains(r.out, "Examples:") {
				t.Errorf("%s --help has no examples:\n%s", c.Name(), r.out)
			}
		})
	}
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, sh := range []string{"bash", "zsh", "fish"} {
		r := e.run("completion", sh)
		wantCode(t, r, ExitOK)
		if !strings.Contains(r.out, "capi") {
			t.Errorf("completion %s: %q", sh, r.out[:min(len(r.out), 200)])
		}
	}
}

func TestLocalDispatchRunsWhatSubmitLeftPending(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// One slot: the submitting process starts element 1 and exits; the
	// others wait for a dispatcher.
	r := e.run("--set", "local_slots=1", "array", "--range", "1-4", "--work-dir", e.work, "--", "sh", "-c", "sleep 0.1")
	wantCode(t, r, ExitOK)
	id := strings.TrimSpace(r.out)
	wantCode(t, e.run("--set", "local_slots=1", "local-dispatch", id), ExitOK)
	recs := e.records("status", id)
	if a := recs[0].Array; recs[0].Status != capi.Done || a.Counts.Done != 4 {
		t.Errorf("after dispatch: %s %+v", recs[0].Status, a.Counts)
	}
}

func TestStatusHidesPurgedHistoryKeepsThem(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.writeConfig("completed_retention_minutes: 0.001\n") // 60 ms
	id := e.submit("--", "true")
	wantCode(t, e.run("wait", id), ExitOK)
	deadline := time.Now().Add(10 * time.Second)
	for len(e.records("status")) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("finished job still listed by status after its retention")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if recs := e.records("history"); len(recs) != 1 || recs[0].ID != id || recs[0].Status != capi.Done {
		t.Errorf("history: %+v", recs)
	}
	// Asked for by id, it is still there.
	if recs := e.records("status", id); len(recs) != 1 {
		t.Errorf("status %s: %+v", id, recs)
	}
}

func TestStatusReconnectFindsJobsOutsideTheStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Submitted by a program that keeps no job store.
	r := e.run("--set", "in_memory=true", "submit", "--work-dir", e.work, "--", "true")
	wantCode(t, r, ExitOK)
	id := strings.TrimSpace(r.out)
	wantCode(t, e.run("--set", "in_memory=true", "wait", id), ExitOK)

	if recs := e.records("status"); len(recs) != 0 {
		t.Errorf("status without --reconnect: %+v", recs)
	}
	recs := e.records("status", "--reconnect")
	if len(recs) != 1 || recs[0].ID != id || recs[0].Status != capi.Done {
		t.Fatalf("status --reconnect: %+v", recs)
	}
	// Cancelling everything must not turn the finished job into a killed one.
	wantCode(t, e.run("cancel", "--all"), ExitOK)
	if recs := e.records("status", "--reconnect"); len(recs) != 1 || recs[0].Status != capi.Done {
		t.Errorf("after cancel --all: %+v", recs)
	}
}

package clusterapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-cluster-api/clusterapi/internal/script"
	"github.com/go-cluster-api/clusterapi/internal/store"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

func TestSubmitRendersScript(t *testing.T) {
	t.Parallel()
	f := newFake()
	f.directives = func(j *scheduler.Job) []string {
		return []string{"#FAKE -J " + j.Name, "#FAKE -q default-queue", "#FAKE -o " + j.StdoutPath}
	}
	cfg := Config{
		JobNamePrefix:   "my app",
		DirectivesSkip:  []string{"-q "},
		ExtraDirectives: []string{"#FAKE -P project-x"},
		ExtraArgs:       []string{"-a", "cfg"},
		ScriptPrologue:  []string{"echo cfg-prologue"},
		ScriptEpilogue:  []string{"echo cfg-epilogue"},
	}
	e := newTestExecutor(t, f, cfg)
	defer e.Close()
	dir := t.TempDir()
	s := spec(dir, "x;y z", "run --fast")
	s.Resources.ExtraDirectives = []string{"-R rusage[mem=1]"}
	s.Resources.ExtraArgs = []string{"-b", "job"}
	s.Prologue = []string{"echo job-prologue"}
	s.Epilogue = []string{"echo job-epilogue"}
	j := mustSubmit(t, e, s)

	sj := f.lastSubmit()
	const wantName = "my-app-x-y-z"
	if sj.Name != wantName {
		t.Errorf("job name = %q, want %q", sj.Name, wantName)
	}
	if diff := cmp.Diff([]string{"-a", "cfg", "-b", "job"}, sj.ExtraArgs); diff != "" {
		t.Errorf("extra args (-want +got):\n%s", diff)
	}
	wantPath := filepath.Join(dir, wantName+".1.sh")
	if sj.ScriptPath != wantPath {
		t.Errorf("script path = %q, want %q", sj.ScriptPath, wantPath)
	}
	fi, err := os.Stat(wantPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("script mode = %v, want 0700 (the owner alone: it carries --env values)", fi.Mode().Perm())
	}
	content, err := os.ReadFile(wantPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(content) != string(sj.Script) {
		t.Errorf("script on disk differs from the one handed to the scheduler")
	}
	lines := strings.Split(string(content), "\n")
	var directives []string
	for _, l := range lines {
		if strings.HasPrefix(l, "#FAKE") {
			directives = append(directives, l)
		}
	}
	wantDirectives := []string{
		"#FAKE -J " + wantName,
		"#FAKE -o " + filepath.Join(dir, "stdout.%J.log"),
		"#FAKE -P project-x",
		"#FAKE -R rusage[mem=1]",
	}
	if diff := cmp.Diff(wantDirectives, directives); diff != "" {
		t.Errorf("directives (-want +got):\n%s", diff)
	}
	if lines[0] != DefaultShebang {
		t.Errorf("first line = %q, want the shebang", lines[0])
	}
	// Body order: config prologue, job prologue, command, config epilogue, job epilogue.
	order := []string{"echo cfg-prologue", "echo job-prologue", "run --fast", "echo cfg-epilogue", "echo job-epilogue"}
	last := -1
	for _, want := range order {
		i := indexOf(lines, want)
		if i <= last {
			t.Errorf("line %q at %d, want after %d; script:\n%s", want, i, last, content)
		}
		last = i
	}
	rec := j.Snapshot()
	if rec.Name != wantName || rec.Status != Pending || rec.Command != "run --fast" || rec.ScriptPath != wantPath {
		t.Errorf("record = %+v", rec)
	}
	if want := filepath.Join(dir, "stdout."+j.ID()+".log"); rec.StdoutPath != want {
		t.Errorf("stdout path = %q, want %q", rec.StdoutPath, want)
	}
}

func indexOf(lines []string, s string) int {
	for i, l := range lines {
		if l == s {
			return i
		}
	}
	return -1
}

func TestSubmitDefaultsMergeAndName(t *testing.T) {
	t.Parallel()
	f := newFake()
	e := newTestExecutor(t, f, Config{CPUs: 2, Memory: 4 * scheduler.GB, Queue: "short"})
	defer e.Close()
	s := spec(t.TempDir(), "", "/usr/bin/python3 train.py")
	s.Resources.CPUs = 8
	mustSubmit(t, e, s)
	sj := f.lastSubmit()
	if sj.Name != "python3" {
		t.Errorf("name from command = %q, want python3", sj.Name)
	}
	r := sj.Resources
	if r.CPUs != 8 || r.Memory != 4*scheduler.GB || r.Queue != "short" {
		t.Errorf("merged resources = %+v, want cpus 8 (job), memory 4 GB and queue short (config)", r)
	}
}

func TestSubmitBadInputs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		spec JobSpec
		arr  *Array
	}{
		{"empty command", JobSpec{Command: ""}, nil},
		{"blank command", JobSpec{Command: "  \t"}, nil},
		{"negative first index", JobSpec{Command: "true"}, &Array{First: -1, Last: 3}},
		{"last before first", JobSpec{Command: "true"}, &Array{First: 5, Last: 2}},
		{"negative max concurrent", JobSpec{Command: "true"}, &Array{First: 1, Last: 2, MaxConcurrent: -1}},
		{"negative cpus", JobSpec{Command: "true", Resources: Resources{CPUs: -1}}, nil},
		{"bad env name", JobSpec{Command: "true", Env: map[string]string{"1X": "y"}}, nil},
		{"newline in work dir", JobSpec{Command: "true", Resources: Resources{WorkDir: "/tmp/a\nb"}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFake()
			e := newTestExecutor(t, f, Config{})
			defer e.Close()
			if c.spec.Resources.WorkDir == "" {
				c.spec.Resources.WorkDir = t.TempDir()
			}
			var err error
			if c.arr != nil {
				_, err = e.SubmitArray(context.Background(), c.spec, *c.arr)
			} else {
				_, err = e.Submit(context.Background(), c.spec)
			}
			var ve *ValueError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want a *ValueError", err)
			}
			if !errors.Is(err, ErrClusterAPI) {
				t.Errorf("err %v does not match ErrClusterAPI", err)
			}
			if n := f.submitCount(); n != 0 {
				t.Errorf("scheduler saw %d submits, want 0", n)
			}
			if n := len(e.Jobs()); n != 0 {
				t.Errorf("%d jobs tracked, want 0", n)
			}
		})
	}
}

func TestPollUpdatesRecord(t *testing.T) {
	t.Parallel()
	f := newFake()
	e := newTestExecutor(t, f, Config{})
	defer e.Close()
	j := mustSubmit(t, e, spec(t.TempDir(), "a", "true"))
	start := j.Snapshot().SubmitTime.Add(5 * time.Second) // a start the scheduler reports, after the submission
	f.set(j.ID(), scheduler.Observation{Name: "a", Status: Running, Host: "node7", StartTime: start})
	mustPoll(t, e)
	r := j.Snapshot()
	if r.Status != Running || r.ExecHost != "node7" || !r.StartTime.Equal(start) || r.ExitCode != nil {
		t.Errorf("after running poll: %+v", r)
	}
	select {
	case <-j.Done():
		t.Fatal("Done closed for a running job")
	default:
	}
	finish := start.Add(time.Hour)
	f.set(j.ID(), scheduler.Observation{Name: "a", Status: Failed, Reason: ReasonOutOfMemory, Detail: "TERM_MEMLIMIT", ExitCode: 137, HasExit: true, FinishTime: finish, MaxMem: "5.2 Gbytes"})
	mustPoll(t, e)
	r = j.Snapshot()
	if r.Status != Failed || r.Reason != ReasonOutOfMemory || r.Detail != "TERM_MEMLIMIT" || r.ExitCode == nil || *r.ExitCode != 137 ||
		!r.FinishTime.Equal(finish) || r.MaxMem != "5.2 Gbytes" || r.ExecHost != "node7" {
		t.Errorf("after failed poll: %+v", r)
	}
	select {
	case <-j.Done():
	default:
		t.Fatal("Done not closed for a failed job")
	}
	// Terminal records do not change again.
	f.set(j.ID(), scheduler.Observation{Name: "a", Status: Running})
	mustPoll(t, e)
	if got := j.Snapshot().Status; got != Failed {
		t.Errorf("terminal status changed to %s", got)
	}
	// A snapshot is a copy.
	r.Metadata = map[string]string{"x": "y"}
	*r.ExitCode = 1
	if r2 := j.Snapshot(); *r2.ExitCode != 137 || r2.Metadata != nil {
		t.Errorf("snapshot shares state with the engine: %+v", r2)
	}
}

func TestArrayRollUp(t *testing.T) {
	t.Parallel()
	type el struct {
		st   Status
		exit int
	}
	cases := []struct {
		name       string
		els        []el // indices 1..3
		want       Status
		terminal   bool
		counts     Counts
		failed     []int
		wantExit   *int
		wantReason Reason
	}{
		{"all pending", []el{{Pending, 0}, {Pending, 0}, {Pending, 0}}, Pending, false, Counts{Pending: 3}, nil, nil, ""},
		{"one running", []el{{Running, 0}, {Pending, 0}, {Pending, 0}}, Running, false, Counts{Running: 1, Pending: 2}, nil, nil, ""},
		{"failed but not all ended", []el{{Failed, 2}, {Running, 0}, {Done, 0}}, Running, false, Counts{Failed: 1, Running: 1, Done: 1}, []int{1}, nil, ""},
		{"all done", []el{{Done, 0}, {Done, 0}, {Done, 0}}, Done, true, Counts{Done: 3}, nil, ptr(0), ""},
		// FailedIndices is what to rerun: every element that did not end
		// done, killed ones included (the seed's failed_element_indices).
		{"killed beats done", []el{{Done, 0}, {Killed, 0}, {Done, 0}}, Killed, true, Counts{Done: 2, Killed: 1}, []int{2}, nil, ReasonCancelled},
		{"failed beats killed and done", []el{{Killed, 0}, {Done, 0}, {Failed, 3}}, Failed, true, Counts{Killed: 1, Done: 1, Failed: 1}, []int{1, 3}, ptr(3), ReasonExitCode},
		// LSF UNKWN: shown as unknown, not final.
		{"unknown element", []el{{Unknown, 0}, {Pending, 0}, {Pending, 0}}, Unknown, false, Counts{Unknown: 1, Pending: 2}, nil, nil, ""},
		{"unknown beside running", []el{{Unknown, 0}, {Running, 0}, {Pending, 0}}, Running, false, Counts{Unknown: 1, Running: 1, Pending: 1}, nil, nil, ""},
		{"several failed", []el{{Failed, 4}, {Failed, 5}, {Done, 0}}, Failed, true, Counts{Failed: 2, Done: 1}, []int{1, 2}, ptr(4), ReasonExitCode},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFake()
			e := newTestExecutor(t, f, Config{})
			defer e.Close()
			j, err := e.SubmitArray(context.Background(), spec(t.TempDir(), "arr", "true"), Array{First: 1, Last: 3})
			if err != nil {
				t.Fatal(err)
			}
			for i, x := range c.els {
				f.setStatus(j.ID(), i+1, x.st, x.exit)
			}
			mustPoll(t, e)
			r := j.Snapshot()
			if r.Status != c.want || r.Terminal() != c.terminal {
				t.Errorf("status = %s (terminal %v), want %s (terminal %v)", r.Status, r.Terminal(), c.want, c.terminal)
			}
			if diff := cmp.Diff(c.counts, r.Array.Counts); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(c.failed, r.Array.FailedIndices); diff != "" {
				t.Errorf("failed indices (-want +got):\n%s", diff)
			}
			if c.terminal {
				if diff := cmp.Diff(c.wantExit, r.ExitCode); diff != "" {
					t.Errorf("exit code (-want +got):\n%s", diff)
				}
				if r.Reason != c.wantReason {
					t.Errorf("reason = %q, want %q", r.Reason, c.wantReason)
				}
			}
			select {
			case <-j.Done():
				if !c.terminal {
					t.Error("Done closed before every element ended")
				}
			default:
				if c.terminal {
					t.Error("Done not closed")
				}
			}
			if len(r.Array.Elements) != 3 {
				t.Fatalf("%d elements, want 3", len(r.Array.Elements))
			}
			for i, x := range r.Array.Elements {
				if x.Index != i+1 || x.Status != c.els[i].st {
					t.Errorf("element %d = %+v, want index %d status %s", i, x, i+1, c.els[i].st)
				}
				if want := filepath.Join(filepath.Dir(r.ScriptPath), "stdout."+j.ID()+"."+string(rune('1'+i))+".log"); x.StdoutPath != want {
					t.Errorf("element log = %q, want %q", x.StdoutPath, want)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestCallbacksFireExactlyOnce(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		end    Status
		exit   int
		fires  map[string]int
		late   map[string]int // registered after the end
		cancel bool
	}{
		{"done", Done, 0, map[string]int{"success": 1, "exit": 1}, map[string]int{"late-success": 1, "late-exit": 1}, false},
		{"failed", Failed, 2, map[string]int{"failure": 1, "exit": 1, "failed-or-killed": 1}, map[string]int{"late-failure": 1, "late-exit": 1}, false},
		{"killed", Killed, 0, map[string]int{"exit": 1, "failed-or-killed": 1}, map[string]int{"late-exit": 1}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFake()
			e := newTestExecutor(t, f, Config{})
			var cnt counter
			j := mustSubmit(t, e, spec(t.TempDir(), "cb", "true"))
			j.OnSuccess(cnt.fn("success"))
			j.OnFailure(cnt.fn("failure"))
			j.OnExit(cnt.fn("exit"))
			j.OnExit(cnt.fn("failed-or-killed"), Failed, Killed)
			mustPoll(t, e)
			if c.cancel {
				if err := e.Cancel(context.Background(), j.ID(), nil); err != nil {
					t.Fatal(err)
				}
			} else {
				f.setStatus(j.ID(), 0, c.end, c.exit)
			}
			for range 3 {
				mustPoll(t, e)
			}
			j.OnSuccess(cnt.fn("late-success"))
			j.OnFailure(cnt.fn("late-failure"))
			j.OnExit(cnt.fn("late-exit"))
			mustPoll(t, e)
			if err := e.Close(); err != nil { // drains the callback queue
				t.Fatal(err)
			}
			for _, key := range []string{"success", "failure", "exit", "failed-or-killed", "late-success", "late-failure", "late-exit"} {
				want := c.fires[key] + c.late[key]
				if got := cnt.get(key); got != want {
					t.Errorf("%s fired %d times, want %d (all: %v)", key, got, want, &cnt)
				}
			}
		})
	}
}

func TestCallbackSeesFinalRecord(t *testing.T) {
	t.Parallel()
	f := newFake()
	e := newTestExecutor(t, f, Config{})
	got := make(chan Record, 1)
	j := mustSubmit(t, e, spec(t.TempDir(), "cb", "true"))
	j.OnExit(func(r Record) { got <- r })
	f.setStatus(j.ID(), 0, Failed, 9)
	mustPoll(t, e)
	e.Close()
	r := <-got
	if r.Status != Failed || r.ExitCode == nil || *r.ExitCode != 9 || r.ID != j.ID() {
		t.Errorf("callback record = %+v", r)
	}
}

func TestPanickingCallback(t *testing.T) {
	t.Parallel()
	f := newFake()
	e := newTestExecutor(t, f, Config{})
	var cnt counter
	dir := t.TempDir()
	j1 := mustSubmit(t, e, spec(dir, "one", "true"))
	j1.OnExit(func(Record) { panic("boom") })
	j1.OnExit(cnt.fn("after-panic"))
	f.setStatus(j1.ID(), 0, Done, 0)
	mustPoll(t, e)

	// The dispatcher and polling keep working after the panic.
	j2 := mustSubmit(t, e, spec(dir, "two", "true"))
	j2.OnExit(func(Record) { panic(errors.New("boom again")) })
	j2.OnSuccess(cnt.fn("second-job"))
	f.setStatus(j2.ID(), 0, Done, 0)
	mustPoll(t, e)
	if s := j2.Snapshot().Status; s != Done {
		t.Errorf("second job status = %s, want done", s)
	}
	e.Close()
	if cnt.get("after-panic") != 1 || cnt.get("second-job") != 1 {
		t.Errorf("callbacks after a panicking one: %v, want each once", &cnt)
	}
}

func TestCloseDrainsCallbacks(t *testing.T) {
	t.Parallel()
	f := newFake()
	e := newTestExecutor(t, f, Config{})
	var cnt counter
	block := make(chan struct{})
	dir := t.TempDir()
	const n = 50
	for i := range n {
		j := mustSubmit(t, e, spec(dir, "j", "true"))
		if i == 0 {
			j.OnExit(func(Record) { <-block }) // holds the queue so that the rest is still queued at Close
		}
		j.OnExit(cnt.fn("x"))
		f.setStatus(j.ID(), 0, Done, 0)
	}
	mustPoll(t, e)
	closed := make(chan error)
	go func() { closed <- e.Close() }()
	close(block)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if got := cnt.get("x"); got != n {
		t.Errorf("%d callbacks ran before Close returned, want %d", got, n)
	}
}

func TestAccountingFallback(t *testing.T) {
	t.Parallel()
	f := newFake()
	e := newTestExecutor(t, fakeAcct{f}, Config{})
	defer e.Close()
	j := mustSubmit(t, e, spec(t.TempDir(), "acct", "true"))
	mustPoll(t, e)
	f.drop(j.ID())
	f.setAcct(j.ID(), scheduler.Observation{Name: "acct", Status: Failed, Reason: ReasonTimeout, Detail: "TIMEOUT", ExitCode: 140, HasExit: true, Host: "n3"})
	mustPoll(t, e)
	r := j.Snapshot()
	if r.Status != Failed || r.Reason != ReasonTimeout || r.ExitCode == nil || *r.ExitCode != 140 || r.ExecHost != "n3" {
		t.Errorf("record after accounting = %+v", r)
	}
	if f.acctCalls != 1 {
		t.Errorf("accounting asked %d times, want 1 (only when a job was missing)", f.acctCalls)
	}
}

// An array whose elements all left the live queue is looked up once, by
// its id, not once per element.
func TestAccountingAsksOncePerArray(t *testing.T) {
	t.Parallel()
	f := newFake()
	e := newTestExecutor(t, fakeAcct{f}, Config{})
	defer e.Close()
	j, err := e.SubmitArray(context.Background(), spec(t.TempDir(), "arr", "true"), Array{First: 1, Last: 5})
	if err != nil {
		t.Fatal(err)
	}
	mustPoll(t, e)
	f.drop(j.ID())
	var done []scheduler.Observation
	for i := 1; i <= 5; i++ {
		done = append(done, scheduler.Observation{InArray: true, Index: i, Status: Done, ExitCode: 0, HasExit: true})
	}
	f.setAcct(j.ID(), done...)
	mustPoll(t, e)
	if diff := cmp.Diff([][]string{{j.ID()}}, f.acctIDs); diff != "" {
		t.Errorf("accounting lookups (-want +got):\n%s", diff)
	}
	if r := j.Snapshot(); r.Status != Done || r.Array.Counts.Done != 5 {
		t.Errorf("array after accounting: %s %+v", r.Status, r.Array.Counts)
	}
}

func TestExitFileFallback(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		array    bool
		code     string
		want     Status
		wantExit int
	}{
		{"single done", false, "0\n", Done, 0},
		{"single failed", false, "3\n", Failed, 3},
		{"array element failed", true, "7\n", Failed, 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFake()
			e := newTestExecutor(t, f, Config{})
			defer e.Close()
			var j *Job
			var err error
			if c.array {
				j, err = e.SubmitArray(context.Background(), spec(t.TempDir(), "ef", "true"), Array{First: 0, Last: 1})
			} else {
				j, err = e.Submit(context.Background(), spec(t.TempDir(), "ef", "true"))
			}
			if err != nil {
				t.Fatal(err)
			}
			f.drop(j.ID())
			sp := j.Snapshot().ScriptPath
			// A half-written file (no newline yet) is not a result.
			writeExit := func(index int, content string) {
				t.Helper()
				if err := os.WriteFile(script.ExitFilePath(sp, j.ID(), index, c.array), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			writeExit(0, strings.TrimSuffix(c.code, "\n"))
			mustPoll(t, e)
			if s := j.Snapshot().Status; s.Terminal() {
				t.Fatalf("status %s from a partial exit file", s)
			}
			writeExit(0, c.code)
			if c.array {
				writeExit(1, "0\n")
			}
			mustPoll(t, e)
			r := j.Snapshot()
			if r.Status != c.want || r.ExitCode == nil || *r.ExitCode != c.wantExit {
				t.Errorf("record = status %s exit %v, want %s %d", r.Status, r.ExitCode, c.want, c.wantExit)
			}
			if c.array && r.Array.Elements[0].Status != c.want {
				t.Errorf("element 0 = %+v", r.Array.Elements[0])
			}
		})
	}
}

func TestZombieDetection(t *testing.T) {
	t.Parallel()
	pollOK := func(t *testing.T, e *Executor) {
		t.Helper()
		if err := e.Poll(context.Background()); err != nil {
			t.Fatalf("Poll: %v", err)
		}
	}
	t.Run("vanishes after the timeout of successful polls", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		synctest.Test(t, func(t *testing.T) {
			f := newFake()
			e := newTestExecutor(t, f, Config{ZombieTimeout: 30 * time.Minute})
			defer e.Close()
			j := mustSubmit(t, e, spec(dir, "z", "true"))
			pollOK(t, e)
			f.drop(j.ID())
			for range 29 {
				time.Sleep(time.Minute)
				pollOK(t, e)
			}
			if s := j.Snapshot().Status; s != Pending {
				t.Fatalf("status after 29 unseen minutes = %s, want pending", s)
			}
			time.Sleep(time.Minute)
			pollOK(t, e)
			r := j.Snapshot()
			if r.Status != Failed || r.Reason != ReasonVanished {
				t.Errorf("after 30 unseen minutes: status %s reason %s, want failed/vanished", r.Status, r.Reason)
			}
		})
	})
	t.Run("failing polls never count", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		synctest.Test(t, func(t *testing.T) {
			f := newFake()
			var failing bool
			f.pollErr = func(int) error {
				if failing {
					return scheduler.Transient(errors.New("bjobs: Socket timed out"))
				}
				return nil
			}
			e := newTestExecutor(t, f, Config{ZombieTimeout: 30 * time.Minute})
			defer e.Close()
			j := mustSubmit(t, e, spec(dir, "z", "true"))
			pollOK(t, e)
			f.drop(j.ID())
			f.mu.Lock()
			failing = true
			f.mu.Unlock()
			for range 120 {
				time.Sleep(time.Minute)
				if err := e.Poll(context.Background()); err == nil {
					t.Fatal("Poll succeeded while the scheduler fails")
				}
			}
			f.mu.Lock()
			failing = false
			f.mu.Unlock()
			time.Sleep(time.Minute)
			pollOK(t, e)
			if r := j.Snapshot(); r.Status != Pending {
				t.Fatalf("after 2 h of failed polls and one success: %s (%s), want pending", r.Status, r.Reason)
			}
			for range 29 {
				time.Sleep(time.Minute)
				pollOK(t, e)
			}
			if r := j.Snapshot(); r.Status != Pending {
				t.Fatalf("after 29 successful unseen minutes: %s (%s), want pending", r.Status, r.Reason)
			}
			time.Sleep(time.Minute)
			pollOK(t, e)
			if r := j.Snapshot(); r.Status != Failed || r.Reason != ReasonVanished {
				t.Errorf("after 30 successful unseen minutes: %s (%s), want failed/vanished", r.Status, r.Reason)
			}
		})
	})
	t.Run("failing accounting never counts", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		synctest.Test(t, func(t *testing.T) {
			f := newFake()
			f.acctErr = errors.New("sacct: slurmdbd unreachable")
			logs := &recordingHandler{}
			e, err := New(Config{ZombieTimeout: 30 * time.Minute, InMemory: true, StateDir: dir}, &Options{Scheduler: fakeAcct{f}, Logger: slog.New(logs)})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			j := mustSubmit(t, e, spec(dir, "z", "true"))
			pollOK(t, e)
			f.drop(j.ID())
			// Polls every 10 s for 2 h: 720 failed lookups.
			for range 720 {
				time.Sleep(10 * time.Second)
				pollOK(t, e)
			}
			if r := j.Snapshot(); r.Status != Pending {
				t.Errorf("after 2 h with accounting failing: %s (%s), want pending", r.Status, r.Reason)
			}
			// Logged once, then after pauses of 1, 2, 4, 8, 16, 32 and 60
			// minutes: 7 lines in 2 h, not 720.
			if n := logs.count("accounting lookup failed"); n < 2 || n > 8 {
				t.Errorf("%d log lines for 720 failed lookups, want a handful", n)
			}
			f.mu.Lock()
			f.acctErr = nil
			f.mu.Unlock()
			time.Sleep(10 * time.Second)
			pollOK(t, e)
			if n := logs.count("accounting answering again"); n != 1 {
				t.Errorf("%d recovery lines, want 1", n)
			}
		})
	})
	t.Run("seen again resets", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		synctest.Test(t, func(t *testing.T) {
			f := newFake()
			e := newTestExecutor(t, f, Config{ZombieTimeout: 30 * time.Minute})
			defer e.Close()
			j := mustSubmit(t, e, spec(dir, "z", "true"))
			pollOK(t, e)
			for round := range 3 {
				f.drop(j.ID())
				for range 20 {
					time.Sleep(time.Minute)
					pollOK(t, e)
				}
				f.set(j.ID(), scheduler.Observation{Name: "z", Status: Running})
				time.Sleep(time.Minute)
				pollOK(t, e)
				if s := j.Snapshot().Status; s != Running {
					t.Fatalf("round %d: status %s, want running", round, s)
				}
			}
		})
	})
	t.Run("array elements vanish, seen ones keep their state", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		synctest.Test(t, func(t *testing.T) {
			f := newFake()
			e := newTestExecutor(t, f, Config{ZombieTimeout: 10 * time.Minute})
			defer e.Close()
			j, err := e.SubmitArray(context.Background(), spec(dir, "za", "true"), Array{First: 1, Last: 2})
			if err != nil {
				t.Fatal(err)
			}
			f.setStatus(j.ID(), 1, Done, 0)
			pollOK(t, e)
			f.drop(j.ID())
			for range 10 {
				time.Sleep(time.Minute)
				pollOK(t, e)
			}
			r := j.Snapshot()
			if r.Status != Failed || r.Reason != ReasonVanished {
				t.Fatalf("array: %s (%s), want failed/vanished", r.Status, r.Reason)
			}
			if e0, e1 := r.Array.Elements[0], r.Array.Elements[1]; e0.Status != Done || e1.Status != Failed || e1.Reason != ReasonVanished {
				t.Errorf("elements = %+v, %+v", e0, e1)
			}
		})
	})
}

func TestPurgeAfterRetention(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		e := newTestExecutor(t, f, Config{CompletedRetention: 10 * time.Minute})
		defer e.Close()
		release := make(chan struct{})
		var ran sync.WaitGroup
		ran.Add(1)
		slow := mustSubmit(t, e, spec(dir, "slow", "true"))
		slow.OnExit(func(Record) { <-release; ran.Done() })
		plain := mustSubmit(t, e, spec(dir, "plain", "true"))
		f.setStatus(slow.ID(), 0, Done, 0)
		f.setStatus(plain.ID(), 0, Done, 0)
		mustPoll(t, e)
		time.Sleep(9 * time.Minute)
		mustPoll(t, e)
		for _, j := range []*Job{slow, plain} {
			if _, ok := e.Job(j.ID()); !ok {
				t.Fatalf("job %s purged before the retention time", j.ID())
			}
		}
		time.Sleep(2 * time.Minute)
		mustPoll(t, e)
		if _, ok := e.Job(plain.ID()); ok {
			t.Error("job without callbacks not purged after retention")
		}
		if _, ok := e.Job(slow.ID()); !ok {
			t.Fatal("job purged while its callback is still running")
		}
		close(release)
		ran.Wait()
		synctest.Wait() // the dispatcher records that the callback finished
		mustPoll(t, e)
		if _, ok := e.Job(slow.ID()); ok {
			t.Error("job not purged after its callback ran")
		}
		// The handle stays usable after the purge.
		if s := slow.Snapshot().Status; s != Done {
			t.Errorf("purged job's handle says %s", s)
		}
	})
}

func TestSubmitRetry(t *testing.T) {
	t.Parallel()
	transient := func() error { return scheduler.Transient(errors.New("Socket timed out")) }
	permanent := &scheduler.SubmitError{Scheduler: "fake", Output: "Bad queue"}
	cases := []struct {
		name        string
		retries     int
		fn          func(f *fakeSched, n int, j *scheduler.Job) (string, error)
		wantSubmits int
		wantErr     error // nil = success
		wantID      string
	}{
		{
			name: "accepted despite transient error is adopted, not resubmitted",
			fn: func(f *fakeSched, n int, j *scheduler.Job) (string, error) {
				if n == 0 {
					f.addLocked(j) // the scheduler created job 101 but the answer got lost
					return "", transient()
				}
				return f.addLocked(j), nil
			},
			wantSubmits: 1, wantID: "101",
		},
		{
			name: "transient error without a job is retried",
			fn: func(f *fakeSched, n int, j *scheduler.Job) (string, error) {
				if n < 2 {
					return "", transient()
				}
				return f.addLocked(j), nil
			},
			wantSubmits: 3, wantID: "101",
		},
		{
			name: "permanent error is not retried",
			fn: func(f *fakeSched, n int, j *scheduler.Job) (string, error) {
				return "", permanent
			},
			wantSubmits: 1, wantErr: permanent,
		},
		{
			name:    "retries are bounded",
			retries: 2,
			fn: func(f *fakeSched, n int, j *scheduler.Job) (string, error) {
				return "", transient()
			},
			wantSubmits: 3, wantErr: ErrTransient,
		},
		{
			name:    "no retries when disabled",
			retries: -1,
			fn: func(f *fakeSched, n int, j *scheduler.Job) (string, error) {
				return "", transient()
			},
			wantSubmits: 1, wantErr: ErrTransient,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			synctest.Test(t, func(t *testing.T) {
				f := newFake()
				f.submitFn = func(n int, j *scheduler.Job) (string, error) { return c.fn(f, n, j) }
				e := newTestExecutor(t, f, Config{SubmitRetries: c.retries})
				defer e.Close()
				// Another job with a different name must not be adopted.
				f.set("99", scheduler.Observation{Name: "other", Status: Running})
				j, err := e.Submit(context.Background(), spec(dir, "retry", "true"))
				if got := f.submitCount(); got != c.wantSubmits {
					t.Errorf("Submit called %d times, want %d", got, c.wantSubmits)
				}
				if c.wantErr != nil {
					if !errors.Is(err, c.wantErr) {
						t.Fatalf("err = %v, want %v", err, c.wantErr)
					}
					if len(e.Jobs()) != 0 {
						t.Error("a failed submission is tracked")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if j.ID() != c.wantID {
					t.Errorf("id = %s, want %s", j.ID(), c.wantID)
				}
			})
		})
	}
}

func TestSubmitRetryAmbiguousIsAnError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		f := newFake()
		f.submitFn = func(n int, j *scheduler.Job) (string, error) {
			f.addLocked(j)
			f.addLocked(j)
			return "", scheduler.Transient(errors.New("Please wait"))
		}
		e := newTestExecutor(t, f, Config{})
		defer e.Close()
		if _, err := e.Submit(context.Background(), spec(dir, "dup", "true")); err == nil {
			t.Fatal("Submit adopted one of two jobs of the same name")
		}
		if n := f.submitCount(); n != 1 {
			t.Errorf("Submit called %d times, want 1", n)
		}
	})
}

func TestCancel(t *testing.T) {
	t.Parallel()
	f := newFake()
	e := newTestExecutor(t, f, Config{})
	defer e.Close()
	dir := t.TempDir()
	ctx := context.Background()

	killed := mustSubmit(t, e, spec(dir, "k", "true"))
	if err := e.Cancel(ctx, killed.ID(), nil); err != nil {
		t.Fatal(err)
	}
	if r := killed.Snapshot(); r.Status != Killed || r.Reason != ReasonCancelled {
		t.Errorf("cancelled job: %s (%s), want killed/cancelled", r.Status, r.Reason)
	}
	asDone := mustSubmit(t, e, spec(dir, "d", "true"))
	if err := e.Cancel(ctx, asDone.ID(), &CancelOptions{AsDone: true}); err != nil {
		t.Fatal(err)
	}
	if r := asDone.Snapshot(); r.Status != Done {
		t.Errorf("cancelled as done: %s, want done", r.Status)
	}
	reqs := f.cancelRequests()
	want := []scheduler.CancelRequest{
		{Targets: []scheduler.Target{{ID: killed.ID()}}},
		{Targets: []scheduler.Target{{ID: asDone.ID()}}, AsDone: true},
	}
	if diff := cmp.Diff(want, reqs); diff != "" {
		t.Errorf("cancel requests (-want +got):\n%s", diff)
	}

	finished := mustSubmit(t, e, spec(dir, "f", "true"))
	f.setStatus(finished.ID(), 0, Done, 0)
	mustPoll(t, e)
	if err := e.Cancel(ctx, finished.ID(), nil); err != nil {
		t.Errorf("cancel of a finished job: %v", err)
	}
	if r := finished.Snapshot(); r.Status != Done {
		t.Errorf("finished job changed to %s by cancel", r.Status)
	}
	if n := len(f.cancelRequests()); n != 2 {
		t.Errorf("scheduler asked to cancel a finished job")
	}
	// Later observations do not undo the cancel.
	f.setStatus(killed.ID(), 0, Running, 0)
	mustPoll(t, e)
	if r := killed.Snapshot(); r.Status != Killed {
		t.Errorf("cancelled job became %s", r.Status)
	}
}

func TestCancelArrayElement(t *testing.T) {
	t.Parallel()
	f := newFake()
	e := newTestExecutor(t, f, Config{})
	defer e.Close()
	j, err := e.SubmitArray(context.Background(), spec(t.TempDir(), "a", "true"), Array{First: 1, Last: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Cancel(context.Background(), j.ID(), &CancelOptions{Index: ptr(2)}); err != nil {
		t.Fatal(err)
	}
	r := j.Snapshot()
	if r.Terminal() || r.Array.Elements[1].Status != Killed || r.Array.Elements[0].Status != Pending {
		t.Errorf("after cancelling element 2: %s %+v", r.Status, r.Array.Elements)
	}
	if got := f.cancelRequests()[0].Targets; !cmp.Equal(got, []scheduler.Target{{ID: j.ID(), Index: 2, InArray: true}}) {
		t.Errorf("targets = %+v", got)
	}
	f.setStatus(j.ID(), 1, Done, 0)
	f.setStatus(j.ID(), 3, Done, 0)
	mustPoll(t, e)
	if r := j.Snapshot(); r.Status != Killed {
		t.Errorf("array with a cancelled element ended %s, want killed", r.Status)
	}
}

func TestCancelByNameAndAll(t *testing.T) {
	t.Parallel()
	f := newFake()
	e := newTestExecutor(t, f, Config{JobNamePrefix: "p"})
	defer e.Close()
	dir := t.TempDir()
	ctx := context.Background()
	a1 := mustSubmit(t, e, spec(dir, "align-1", "true"))
	a2 := mustSubmit(t, e, spec(dir, "align-2", "true"))
	b := mustSubmit(t, e, spec(dir, "build", "true"))
	done := mustSubmit(t, e, spec(dir, "align-3", "true"))
	f.setStatus(done.ID(), 0, Done, 0)
	mustPoll(t, e)

	got, err := e.CancelByName(ctx, "p-align-*", nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(js []*Job) []string {
		var out []string
		for _, j := range js {
			out = append(out, j.ID())
		}
		return out
	}
	if diff := cmp.Diff([]string{a1.ID(), a2.ID()}, ids(got)); diff != "" {
		t.Errorf("CancelByName matched (-want +got):\n%s", diff)
	}
	for _, j := range []*Job{a1, a2} {
		if s := j.Snapshot().Status; s != Killed {
			t.Errorf("%s: %s, want killed", j.ID(), s)
		}
	}
	if s := b.Snapshot().Status; s != Pending {
		t.Errorf("non-matching job became %s", s)
	}
	if s := done.Snapshot().Status; s != Done {
		t.Errorf("finished matching job became %s", s)
	}
	// An empty pattern must never mean "everything".
	if _, err := e.CancelByName(ctx, "", nil); !errors.As(err, new(*ValueError)) {
		t.Errorf("empty pattern: err = %v, want *ValueError", err)
	}
	// '[' is a literal, not a malformed pattern: it simply matches nothing here.
	if m, err := e.CancelByName(ctx, "[", nil); err != nil || len(m) != 0 {
		t.Errorf(`CancelByName("[") = %d jobs, %v; want none and no error`, len(m), err)
	}

	c := mustSubmit(t, e, spec(dir, "c", "true"))
	all, err := e.CancelAll(ctx, &CancelOptions{AsDone: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{b.ID(), c.ID()}, ids(all)); diff != "" {
		t.Errorf("CancelAll (-want +got):\n%s", diff)
	}
	for _, j := range []*Job{b, c} {
		if s := j.Snapshot().Status; s != Done {
			t.Errorf("%s cancelled as done: %s", j.ID(), s)
		}
	}
	reqs := f.cancelRequests()
	if len(reqs) != 2 || len(reqs[1].Targets) != 2 || !reqs[1].AsDone {
		t.Errorf("cancel requests = %+v", reqs)
	}
	if all, err := e.CancelAll(ctx, nil); err != nil || len(all) != 0 {
		t.Errorf("CancelAll with nothing live = %v, %v", all, err)
	}
}

func TestReconnect(t *testing.T) {
	t.Parallel()
	f := newFake()
	f.set("7", scheduler.Observation{Name: "pre-single", Status: Running, Host: "n1"})
	f.set("8",
		scheduler.Observation{Name: "pre-arr", InArray: true, Index: 1, Status: Done, ExitCode: 0, HasExit: true},
		scheduler.Observation{Name: "pre-arr", InArray: true, Index: 2, Status: Running},
		scheduler.Observation{Name: "pre-arr", InArray: true, Index: 3, Status: Pending},
	)
	f.set("9", scheduler.Observation{Name: "someone-else", Status: Running})
	e := newTestExecutor(t, f, Config{JobNamePrefix: "pre"})
	defer e.Close()
	jobs, err := e.Reconnect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].ID() != "7" || jobs[1].ID() != "8" {
		t.Fatalf("reconnected %d jobs, want 7 and 8", len(jobs))
	}
	if r := jobs[0].Snapshot(); r.Status != Running || r.ExecHost != "n1" || r.Name != "pre-single" || r.Executor != "fake" {
		t.Errorf("single: %+v", r)
	}
	r := jobs[1].Snapshot()
	if r.Array == nil || r.Array.First != 1 || r.Array.Last != 3 {
		t.Fatalf("array: %+v", r.Array)
	}
	if diff := cmp.Diff(Counts{Done: 1, Running: 1, Pending: 1}, r.Array.Counts); diff != "" {
		t.Errorf("array counts (-want +got):\n%s", diff)
	}
	// Tracked from now on, and not adopted twice.
	f.setStatus("8", 2, Done, 0)
	f.setStatus("8", 3, Done, 0)
	mustPoll(t, e)
	if s := jobs[1].Snapshot().Status; s != Done {
		t.Errorf("reconnected array after its elements ended: %s", s)
	}
	again, err := e.Reconnect(context.Background())
	if err != nil || len(again) != 0 {
		t.Errorf("second Reconnect adopted %d jobs (err %v), want 0", len(again), err)
	}
}

func TestReconnectNeedsPrefix(t *testing.T) {
	t.Parallel()
	f := newFake()
	e := newTestExecutor(t, f, Config{InMemory: true})
	defer e.Close()
	_, err := e.Reconnect(context.Background())
	if !errors.Is(err, ErrNoPrefix) || !errors.Is(err, ErrClusterAPI) {
		t.Errorf("err = %v, want ErrNoPrefix", err)
	}
	if len(f.polls()) != 0 {
		t.Error("Reconnect without a prefix asked the scheduler for every job")
	}
}

// recordingHandler keeps the messages logged through it.
type recordingHandler struct {
	mu       sync.Mutex
	msgs     []string
	warnings []string // messages at warning level and above
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler            { return h }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, r.Message)
	if r.Level >= slog.LevelWarn {
		h.warnings = append(h.warnings, r.Message)
	}
	return nil
}

// count returns how many messages start with prefix.
func (h *recordingHandler) count(prefix string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.msgs {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}

// A job the scheduler has lost track of (LSF UNKWN) shows as unknown with
// the scheduler's words, is not final, and returns to the known state when
// the scheduler does.
func TestUnknownIsShownAndNotFinal(t *testing.T) {
	t.Parallel()
	f := newFake()
	e := newTestExecutor(t, f, Config{})
	defer e.Close()
	j := mustSubmit(t, e, spec(t.TempDir(), "u", "true"))
	f.set(j.ID(), scheduler.Observation{Name: "u", Status: Running, Host: "n1"})
	mustPoll(t, e)
	words := "UNKWN: LSF lost contact with the job's execution host; the job may still be running"
	f.set(j.ID(), scheduler.Observation{Name: "u", Status: Unknown, Detail: words})
	mustPoll(t, e)
	if r := j.Snapshot(); r.Status != Unknown || r.Detail != words || r.Terminal() || r.ExecHost != "n1" {
		t.Fatalf("after UNKWN: %s %q (terminal %v, host %q), want unknown with the scheduler's words, host kept", r.Status, r.Detail, r.Terminal(), r.ExecHost)
	}
	select {
	case <-j.Done():
		t.Fatal("an unknown job counts as ended")
	default:
	}
	f.set(j.ID(), scheduler.Observation{Name: "u", Status: Running})
	mustPoll(t, e)
	if r := j.Snapshot(); r.Status != Running {
		t.Fatalf("back in RUN: %s, want running", r.Status)
	}
}

// Each array element keeps its own peak memory, as the scheduler reports
// it, also across a restore from the job store.
func TestElementMaxMem(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := newFake()
	e := openWithStore(t, f, dir)
	j, err := e.SubmitArray(context.Background(), spec(dir, "m", "true"), Array{First: 1, Last: 2})
	if err != nil {
		t.Fatal(err)
	}
	f.set(j.ID(),
		scheduler.Observation{Name: "m", InArray: true, Index: 1, Status: Done, HasExit: true, MaxMem: "62088K"},
		scheduler.Observation{Name: "m", InArray: true, Index: 2, Status: Done, HasExit: true, MaxMem: "74404K"})
	mustPoll(t, e)
	check := func(r Record) {
		t.Helper()
		if r.Array == nil || len(r.Array.Elements) != 2 || r.Array.Elements[0].MaxMem != "62088K" || r.Array.Elements[1].MaxMem != "74404K" {
			t.Errorf("elements %+v, want max_mem 62088K and 74404K", r.Array)
		}
	}
	check(j.Snapshot())
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e2 := openWithStore(t, f, dir)
	defer e2.Close()
	r, err := e2.Get(context.Background(), j.ID())
	if err != nil {
		t.Fatal(err)
	}
	check(r.Snapshot())
}

// Jobs past completed_retention stay purged: Reconnect does not track them
// again because the scheduler (the local spool, a bjobs -a) still lists
// them, with the job store (they are purged there) or without one (their
// finish time says they ended long ago).
func TestReconnectLeavesPurgedJobsAlone(t *testing.T) {
	t.Parallel()
	for _, inMemory := range []bool{false, true} {
		t.Run(fmt.Sprintf("in_memory=%v", inMemory), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			f := newFake()
			cfg := Config{StateDir: dir, InMemory: inMemory, JobNamePrefix: "p", CompletedRetention: time.Hour}
			e, err := New(cfg, &Options{Scheduler: f})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				j := mustSubmit(t, e, spec(dir, fmt.Sprintf("old%d", i), "true"))
				f.set(j.ID(), scheduler.Observation{Name: "p-" + fmt.Sprintf("old%d", i), Status: Done, HasExit: true,
					FinishTime: time.Now().Add(-2 * time.Hour)})
			}
			mustPoll(t, e)
			// The store marks them purged when a process restores them.
			if !inMemory {
				if _, err := e.Reconnect(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			e.Close()

			again, err := New(cfg, &Options{Scheduler: f})
			if err != nil {
				t.Fatal(err)
			}
			defer again.Close()
			jobs, err := again.Reconnect(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range jobs {
				t.Errorf("job %s, ended 2 h ago with a retention of 1 h, is tracked again: %+v", j.ID(), j.Snapshot())
			}
		})
	}
}

// A refused huge array leaves a record of the refusal, not a range of
// pending elements: every later listing stays small and fast.
func TestRefusedArrayHasNoElements(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := newFake()
	f.submitFn = func(int, *scheduler.Job) (string, error) {
		return "", &SubmitError{Scheduler: "fake", Output: "Job array index too large. Job not submitted."}
	}
	e := openWithStore(t, f, dir)
	defer e.Close()
	if _, err := e.SubmitArray(context.Background(), spec(dir, "huge", "true"), Array{First: 1, Last: 2_000_000}); err == nil {
		t.Fatal("the scheduler refused the array, Submit did not say so")
	}
	recs, err := e.List(context.Background(), ListFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Status != Failed || recs[0].Reason != ReasonSubmitFailed || recs[0].Array == nil {
		t.Fatalf("records %+v, want the one refused array", recs)
	}
	if a := recs[0].Array; len(a.Elements) != 0 || a.Counts != (Counts{}) || a.Last != 2_000_000 {
		t.Errorf("refused array lists %d elements, counts %+v (range %d-%d); want none, the range kept", len(a.Elements), a.Counts, a.First, a.Last)
	}
	if out, _ := json.Marshal(recs[0]); !bytes.Contains(out, []byte(`"elements":[]`)) {
		t.Errorf("refused array in JSON: %s; want an empty list of elements", out)
	}
}

// A job tracked meanwhile keeps its handle: following it again from the
// store (a poll adopting it while Reconnect restores it) returns the same
// *Job, so that nobody waiting on it is left with one that no longer
// changes.
func TestTrackingATrackedJobKeepsItsHandle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	e := openWithStore(t, newFake(), dir)
	defer e.Close()
	j := mustSubmit(t, e, spec(dir, "one", "true"))
	if err := e.w.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	sr, err := e.db.Get(context.Background(), store.Key{Scheduler: "fake", JobID: j.ID()})
	if err != nil {
		t.Fatal(err)
	}
	if again := e.trackStored(sr, time.Now()); again != j {
		t.Error("tracking a tracked job again from the store replaced its handle")
	}
}

// An accepted array is held as its range until its elements are observed:
// the engine's memory follows what some source reported, not the range,
// in the process that submitted it and in one that restores it from the
// store; an element never reported counts as pending.
func TestArrayIsHeldAsItsRange(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const last = 100_000
	f := newFake()
	f.submitFn = func(int, *scheduler.Job) (string, error) { return "77", nil }
	open := func() *Executor {
		e := openWithStore(t, f, dir)
		return e
	}
	held := func(e *Executor, j *Job) int {
		e.mu.Lock()
		defer e.mu.Unlock()
		return len(j.st.elems)
	}
	e := open()
	j, err := e.SubmitArray(context.Background(), spec(dir, "wide", "true"), Array{First: 1, Last: last})
	if err != nil {
		t.Fatal(err)
	}
	if n := held(e, j); n != 0 {
		t.Errorf("a new array holds %d elements, want none", n)
	}
	f.set("77",
		scheduler.Observation{Name: j.Snapshot().Name, InArray: true, Index: 90_000, Status: Done, HasExit: true},
		scheduler.Observation{Name: j.Snapshot().Name, InArray: true, Index: 7, Status: Running})
	mustPoll(t, e)
	if n := held(e, j); n != 2 {
		t.Errorf("after a poll that reported 2 elements the array holds %d", n)
	}
	r := j.Snapshot()
	want := Counts{Pending: last - 2, Running: 1, Done: 1}
	if r.Status != Running || r.Array.Counts != want || len(r.Array.Elements) != last || r.Array.Elements[6].Status != Running {
		t.Errorf("array %s, counts %+v, %d elements; want running, %+v, every element listed", r.Status, r.Array.Counts, len(r.Array.Elements), want)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e = open()
	defer e.Close()
	j, err = e.Get(context.Background(), "77")
	if err != nil {
		t.Fatal(err)
	}
	if n := held(e, j); n != 2 {
		t.Errorf("restored from the store, the array holds %d elements, want the 2 observed", n)
	}
	if c := j.Snapshot().Array.Counts; c != want {
		t.Errorf("restored counts %+v, want %+v", c, want)
	}
}

// Elements first seen one at a time (the local executor notifies each
// element's start and end) are held in amortized constant space each: a
// whole-array copy per new element would cost O(elements²). Not parallel:
// it counts the bytes the process allocates.
func TestNotifiedElementsCostLinearSpace(t *testing.T) {
	const n = 4000
	e := newTestExecutor(t, newFake(), Config{InMemory: true})
	defer e.Close()
	dir := t.TempDir()
	j, err := e.SubmitArray(context.Background(), spec(dir, "notified", "true"), Array{First: 1, Last: n})
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 1; i <= n; i++ {
		e.notify(scheduler.Observation{ID: j.ID(), InArray: true, Index: i, Status: Running})
	}
	for i := 1; i <= n; i++ {
		e.notify(scheduler.Observation{ID: j.ID(), InArray: true, Index: i, Status: Done, HasExit: true})
	}
	runtime.ReadMemStats(&after)
	if r := j.Snapshot(); r.Status != Done {
		t.Fatalf("array %s after every element ended, want done", r.Status)
	}
	if perElement := (after.TotalAlloc - before.TotalAlloc) / n; perElement > 4096 {
		t.Errorf("%d bytes allocated per notified element, want a few hundred at most", perElement)
	}
}

// An array whose elements run is running in the store too, not only when
// rolled up on reading: listings filter on the stored status (capi status
// --status running listed no running array).
func TestRunningArrayIsListedAsRunning(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := newFake()
	e := openWithStore(t, f, dir)
	defer e.Close()
	j, err := e.SubmitArray(context.Background(), spec(dir, "arr", "true"), Array{First: 1, Last: 3})
	if err != nil {
		t.Fatal(err)
	}
	f.setStatus(j.ID(), 2, Running, 0)
	mustPoll(t, e)
	running, err := e.List(context.Background(), ListFilter{Statuses: []Status{Running}})
	if err != nil {
		t.Fatal(err)
	}
	if len(running) != 1 || running[0].ID != j.ID() {
		t.Errorf("running jobs listed: %d, want the array %s (in memory it is %s)", len(running), j.ID(), j.Snapshot().Status)
	}
	pending, err := e.List(context.Background(), ListFilter{Statuses: []Status{Pending}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 0 {
		t.Errorf("pending jobs listed: %+v, want none", pending)
	}
}

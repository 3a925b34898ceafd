package clusterapi

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/go-cluster-api/clusterapi/internal/proctest"
	"github.com/go-cluster-api/clusterapi/scheduler"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv("CAPI_TEST_CHILD"); mode != "" {
		os.Exit(childMain(mode)) // a child process of crash_test.go
	}
	goleak.VerifyTestMain(proctest.Wrap(m))
}

// engineStoreEnv set to 1 makes newTestExecutor use the job store.
const engineStoreEnv = "CAPI_ENGINE_STORE"

// TestEngineWithStore runs this package's tests again in a child process
// with the job store on, so that the persistence seam is covered below the
// end-to-end tests: every state change the engine tests make also goes
// through the store's writer.
func TestEngineWithStore(t *testing.T) {
	if os.Getenv(engineStoreEnv) == "1" {
		t.Skip("this is the run with the store")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.count=1", "-test.skip=^TestEngineWithStore$")
	cmd.Env = append(os.Environ(), engineStoreEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the engine tests fail with the job store on: %v\n%s", err, out)
	}
}

// fakeSched is a hand-written scheduler whose queue the test scripts. Each
// test creates its own; there are no package-level doubles.
type fakeSched struct {
	mu sync.Mutex

	nextID int
	// live is what Poll reports, by job id, in submission order.
	live  map[string][]scheduler.Observation
	order []string
	// acct is what Account reports (fakeAcct only).
	acct map[string][]scheduler.Observation

	submits   []scheduler.Job
	pollTimes []time.Time
	acctCalls int
	acctIDs   [][]string // the ids of each Account call
	cancels   []scheduler.CancelRequest

	// directives returns the generated directives; nil = one line naming
	// the job.
	directives func(j *scheduler.Job) []string
	// submitFn decides the outcome of the n-th Submit call (0-based); nil
	// accepts every job. It runs with mu held and may call f.addLocked.
	submitFn func(n int, j *scheduler.Job) (string, error)
	// pollErr decides whether the n-th Poll call (0-based) fails.
	pollErr func(n int) error
	acctErr error
}

func newFake() *fakeSched {
	return &fakeSched{nextID: 100, live: map[string][]scheduler.Observation{}, acct: map[string][]scheduler.Observation{}}
}

func (f *fakeSched) Name() string { return "fake" }

func (f *fakeSched) Dialect() scheduler.Dialect {
	return scheduler.Dialect{
		DirectivePrefix: "#FAKE",
		JobIDVar:        "FAKE_JOB_ID",
		ArrayJobIDVar:   "FAKE_JOB_ID",
		ArrayIndexVar:   "FAKE_INDEX",
		LogJobID:        "%J",
		LogIndex:        "%I",
	}
}

func (f *fakeSched) Directives(j *scheduler.Job) ([]string, error) {
	if f.directives != nil {
		return f.directives(j), nil
	}
	return []string{"#FAKE -J " + j.Name}, nil
}

// addLocked puts a pending job (or its elements) in the live queue under a
// fresh id.
func (f *fakeSched) addLocked(j *scheduler.Job) string {
	f.nextID++
	id := strconv.Itoa(f.nextID)
	if j.Array == nil {
		f.live[id] = []scheduler.Observation{{ID: id, Name: j.Name, Status: scheduler.Pending}}
	} else {
		for i := j.Array.First; i <= j.Array.Last; i++ {
			f.live[id] = append(f.live[id], scheduler.Observation{ID: id, Name: j.Name, Index: i, InArray: true, Status: scheduler.Pending})
		}
	}
	f.order = append(f.order, id)
	return id
}

func (f *fakeSched) Submit(ctx context.Context, j *scheduler.Job) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.submits)
	f.submits = append(f.submits, *j)
	if f.submitFn != nil {
		return f.submitFn(n, j)
	}
	return f.addLocked(j), nil
}

func (f *fakeSched) Poll(ctx context.Context, q scheduler.Query) ([]scheduler.Observation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.pollTimes)
	f.pollTimes = append(f.pollTimes, time.Now())
	if f.pollErr != nil {
		if err := f.pollErr(n); err != nil {
			return nil, err
		}
	}
	var out []scheduler.Observation
	for _, id := range f.order {
		for _, o := range f.live[id] {
			if strings.HasPrefix(o.Name, q.Prefix) {
				out = append(out, o)
			}
		}
	}
	return out, nil
}

func (f *fakeSched) Cancel(ctx context.Context, req scheduler.CancelRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancels = append(f.cancels, req)
	return nil
}

// set replaces what the live queue says about job id.
func (f *fakeSched) set(id string, obs ...scheduler.Observation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.live[id]; !ok {
		f.order = append(f.order, id)
	}
	for i := range obs {
		obs[i].ID = id
	}
	f.live[id] = obs
}

// setStatus sets the status of a single job or of element index.
func (f *fakeSched) setStatus(id string, index int, st scheduler.Status, exit int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.live[id] {
		o := &f.live[id][i]
		if o.InArray && o.Index != index {
			continue
		}
		o.Status = st
		if st.Terminal() {
			o.ExitCode, o.HasExit = exit, true
			if st == scheduler.Failed {
				o.Reason = scheduler.ReasonExitCode
			}
		}
	}
}

// drop removes job id from the live queue.
func (f *fakeSched) drop(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.live, id)
	f.order = slices.DeleteFunc(f.order, func(s string) bool { return s == id })
}

func (f *fakeSched) submitCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.submits)
}

func (f *fakeSched) lastSubmit() scheduler.Job {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.submits[len(f.submits)-1]
}

func (f *fakeSched) polls() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.pollTimes)
}

func (f *fakeSched) cancelRequests() []scheduler.CancelRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.cancels)
}

// fakeAcct adds an accounting source to fakeSched.
type fakeAcct struct{ *fakeSched }

func (f fakeAcct) Account(ctx context.Context, ids []string) ([]scheduler.Observation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acctCalls++
	f.acctIDs = append(f.acctIDs, slices.Clone(ids))
	if f.acctErr != nil {
		return nil, f.acctErr
	}
	var out []scheduler.Observation
	for _, id := range ids {
		out = append(out, f.acct[id]...)
	}
	return out, nil
}

func (f *fakeSched) setAcct(id string, obs ...scheduler.Observation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range obs {
		obs[i].ID = id
	}
	f.acct[id] = obs
}

var (
	_ scheduler.Scheduler  = (*fakeSched)(nil)
	_ scheduler.Accountant = fakeAcct{}
)

// newTestExecutor creates an executor over s with cfg (in memory, state in a
// temp dir). The caller closes it (inside the synctest bubble if any).
func newTestExecutor(t *testing.T, s scheduler.Scheduler, cfg Config) *Executor {
	t.Helper()
	// In memory, unless asked for (a test that needs it) or run again with
	// the job store by TestEngineWithStore.
	cfg.InMemory = cfg.InMemory || os.Getenv(engineStoreEnv) != "1"
	if cfg.StateDir == "" {
		cfg.StateDir = t.TempDir()
	}
	e, err := New(cfg, &Options{Scheduler: s})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// openWithStore opens an executor over f with its job store in dir (the
// caller closes it): the tests of what the store keeps and of several
// processes sharing it.
func openWithStore(t *testing.T, f scheduler.Scheduler, dir string) *Executor {
	t.Helper()
	e, err := New(Config{StateDir: dir}, &Options{Scheduler: f})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// spec is a job spec running cmd in dir.
func spec(dir, name, cmd string) JobSpec {
	return JobSpec{Name: name, Command: cmd, Resources: Resources{WorkDir: dir}}
}

func mustSubmit(t *testing.T, e *Executor, s JobSpec) *Job {
	t.Helper()
	j, err := e.Submit(context.Background(), s)
	if err != nil {
		t.Fatalf("Submit(%q): %v", s.Command, err)
	}
	return j
}

func mustPoll(t *testing.T, e *Executor) {
	t.Helper()
	if err := e.Poll(context.Background()); err != nil {
		t.Fatalf("Poll: %v", err)
	}
}

// counter counts callback invocations.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) fn(key string) func(Record) {
	return func(Record) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.n == nil {
			c.n = map[string]int{}
		}
		c.n[key]++
	}
}

func (c *counter) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

func (c *counter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprint(c.n)
}

package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildCapi builds the capi binary once per test.
func buildCapi(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "capi")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/capi").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// capiCLI runs capi commands in a work dir of their own, with a config that
// selects the executor.
type capiCLI struct {
	t   *testing.T
	bin string
	dir string
	env []string
}

func newCLI(t *testing.T, bin, executor string, extraEnv []string) *capiCLI {
	dir := jobDir(t)
	cfg := "executor: " + executor + "\njob_name_prefix: capicli\npoll_interval: 1\n"
	if err := os.WriteFile(filepath.Join(dir, "cluster_api.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "HOME="+dir, "XDG_STATE_HOME="+filepath.Join(dir, "state"))
	return &capiCLI{t: t, bin: bin, dir: dir, env: append(env, extraEnv...)}
}

func (c *capiCLI) run(args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Dir, cmd.Env = c.dir, c.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.Run()
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// runCLISuite drives the capi binary against one scheduler. extraEnv is
// added to every command's environment (the fake LSF's settings).
func runCLISuite(t *testing.T, executor string, extraEnv ...string) {
	bin := buildCapi(t)
	t.Run("run", func(t *testing.T) {
		c := newCLI(t, bin, executor, extraEnv)
		out, errOut, code := c.run("run", "--", "sh", "-c", "echo hello from the cluster; exit 3")
		if code != 3 || !strings.Contains(out, "hello from the cluster") {
			t.Fatalf("capi run: exit %d, stdout %q, stderr %q; want exit 3 and the job's output", code, out, errOut)
		}
	})
	t.Run("submit-wait-status", func(t *testing.T) {
		c := newCLI(t, bin, executor, extraEnv)
		out, errOut, code := c.run("submit", "--json", "--meta", "k=v", "--", "true")
		if code != 0 {
			t.Fatalf("submit: exit %d: %s", code, errOut)
		}
		var rec struct {
			JobID string `json:"job_id"`
		}
		if err := json.Unmarshal([]byte(out), &rec); err != nil || rec.JobID == "" {
			t.Fatalf("submit --json printed %q: %v", out, err)
		}
		if _, errOut, code := c.run("wait", rec.JobID); code != 0 {
			t.Fatalf("wait %s: exit %d: %s", rec.JobID, code, errOut)
		}
		out, _, code = c.run("status", "--json", rec.JobID)
		var recs []map[string]any
		if err := json.Unmarshal([]byte(out), &recs); err != nil || code != 0 || len(recs) != 1 {
			t.Fatalf("status --json: exit %d %q: %v", code, out, err)
		}
		if recs[0]["status"] != "done" || recs[0]["metadata"].(map[string]any)["k"] != "v" {
			t.Errorf("status: %v", recs[0])
		}
	})
	t.Run("array-wait", func(t *testing.T) {
		c := newCLI(t, bin, executor, extraEnv)
		out, errOut, code := c.run("array", "--range", "1-6", "--max-concurrent", "2", "--wait", "--", "sh", "-c", "exit $((CAPI_ARRAY_INDEX % 3 == 0))")
		if code != 1 || !strings.Contains(out+errOut, "3,6") {
			t.Fatalf("array --wait: exit %d\n%s\n%s\nwant exit 1 naming failed indices 3,6", code, out, errOut)
		}
		if strings.Contains(out, "\x1b[") {
			t.Errorf("escape codes in non-terminal output: %q", out)
		}
	})
	t.Run("cancel-as-done", func(t *testing.T) {
		c := newCLI(t, bin, executor, extraEnv)
		out, errOut, code := c.run("submit", "--", "sleep", "300")
		if code != 0 {
			t.Fatalf("submit: %d %s", code, errOut)
		}
		id := strings.TrimSpace(out)
		if _, errOut, code := c.run("cancel", "--done", id); code != 0 {
			t.Fatalf("cancel --done: exit %d: %s", code, errOut)
		}
		if _, errOut, code := c.run("wait", id); code != 0 {
			t.Errorf("wait after cancel --done: exit %d (%s), want 0: the job is recorded done", code, errOut)
		}
	})
	t.Run("submitter-killed", func(t *testing.T) {
		// capi run is killed with SIGKILL while its job runs; another capi
		// process picks the job up from the store and sees it to its end.
		c := newCLI(t, bin, executor, extraEnv)
		run := exec.Command(c.bin, "run", "--name", "orphan", "--", "sh", "-c", "sleep 3; exit 6")
		run.Dir, run.Env = c.dir, c.env
		if err := run.Start(); err != nil {
			t.Fatal(err)
		}
		var id string
		deadline := time.Now().Add(time.Minute)
		for id == "" {
			if time.Now().After(deadline) {
				run.Process.Kill()
				t.Fatal("the job never appeared in capi status")
			}
			time.Sleep(200 * time.Millisecond)
			out, _, _ := c.run("status", "--json")
			var recs []struct {
				JobID string `json:"job_id"`
			}
			if json.Unmarshal([]byte(out), &recs) == nil && len(recs) == 1 {
				id = recs[0].JobID
			}
		}
		run.Process.Signal(syscall.SIGKILL)
		run.Wait()
		if _, errOut, code := c.run("wait", id); code != 1 {
			t.Fatalf("wait for the orphaned job: exit %d (%s), want 1 (failed)", code, errOut)
		}
		out, _, _ := c.run("status", "--json", id)
		if !strings.Contains(out, `"exit_code": 6`) {
			t.Errorf("status of the orphaned job: %s, want exit_code 6", out)
		}
	})
	t.Run("cancel-by-name", func(t *testing.T) {
		c := newCLI(t, bin, executor, extraEnv)
		out, errOut, code := c.run("submit", "--name", "victim", "--", "sleep", "300")
		if code != 0 {
			t.Fatalf("submit: %d %s", code, errOut)
		}
		id := strings.TrimSpace(out)
		if _, errOut, code := c.run("cancel", "--name", "capicli-vic*"); code != 0 {
			t.Fatalf("cancel --name: exit %d: %s", code, errOut)
		}
		if _, _, code := c.run("wait", id); code != 130 {
			t.Errorf("wait after cancel: exit %d, want 130", code)
		}
	})
}

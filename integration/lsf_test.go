package integration

import (
	"context"
	"os"
	"testing"
	"time"

	capi "github.com/go-cluster-api/clusterapi"
	"github.com/go-cluster-api/clusterapi/internal/fakelsf/fakelsftest"
	"github.com/go-cluster-api/clusterapi/internal/runner"
)

// TestFakeLSF runs the suite against the fake LSF on PATH: the same
// commands, output formats and quirks as real LSF (see internal/fakelsf).
func TestFakeLSF(t *testing.T) {
	bin := fakelsftest.Build(t)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cluster := fakelsftest.NewCluster(t, "FAKELSF_CLEAN_PERIOD=2")
	runSuite(t, target{
		executor:     "lsf",
		runner:       cluster.Runner(&runner.Exec{Timeout: 30 * time.Second}),
		timeout:      time.Minute,
		ageOut:       3 * time.Second, // FAKELSF_CLEAN_PERIOD=2 plus a margin
		cancel:       func(id string) []string { return []string{"bkill", id} },
		signalsFirst: true,
	})
}

// TestFakeLSFWithoutBhist: most users at an LSF site cannot run bhist.
// Accounting is then an absent source: a job that left bjobs is decided by
// its exit file, and one that left none becomes failed/vanished after
// zombie_timeout instead of pending forever.
func TestFakeLSFWithoutBhist(t *testing.T) {
	bin := fakelsftest.Without(t, fakelsftest.Build(t), "bhist")
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cluster := fakelsftest.NewCluster(t, "FAKELSF_CLEAN_PERIOD=1", "FAKELSF_MINUTE=2")
	tg := target{
		executor:     "lsf",
		runner:       cluster.Runner(&runner.Exec{Timeout: 30 * time.Second}),
		timeout:      time.Minute,
		ageOut:       2 * time.Second,
		cancel:       func(id string) []string { return []string{"bkill", id} },
		signalsFirst: true,
		config:       func(c *capi.Config) { c.ZombieTimeout = 3 * time.Second },
	}
	t.Run("bkill while nobody watched", tg.cancelledWhileNobodyWatched)
	t.Run("run limit while nobody watched", func(t *testing.T) {
		dir := jobDir(t)
		first := tg.newExecutor(t, dir, false)
		// -W 1 is 2 s with FAKELSF_MINUTE=2: LSF sends SIGUSR2, the job's
		// shell records it.
		j, err := first.Submit(context.Background(), capi.JobSpec{Name: "runlimit", Command: "sleep 300",
			Resources: capi.Resources{WorkDir: dir, Walltime: time.Minute}})
		if err != nil {
			t.Fatal(err)
		}
		first.Close()
		tg.waitExitFile(t, j)
		time.Sleep(tg.ageOut)
		r := tg.reopenAndWait(t, dir, j.ID())
		if r.Status != capi.Failed || r.Reason != capi.ReasonTimeout {
			t.Fatalf("status %s reason %s exit %d (%s), want failed/timeout", r.Status, r.Reason, exitOf(r), r.Detail)
		}
	})
	t.Run("SIGKILLed without an exit file", func(t *testing.T) {
		dir := jobDir(t)
		first := tg.newExecutor(t, dir, false)
		j, err := first.Submit(context.Background(), capi.JobSpec{Name: "sigkill", Command: "kill -KILL $$", Resources: capi.Resources{WorkDir: dir}})
		if err != nil {
			t.Fatal(err)
		}
		first.Close()
		// It ends at once and leaves bjobs after CLEAN_PERIOD; no source
		// knows it any more.
		time.Sleep(tg.ageOut)
		r := tg.reopenAndWait(t, dir, j.ID())
		if r.Status != capi.Failed || r.Reason != capi.ReasonVanished {
			t.Fatalf("status %s reason %s exit %d (%s), want failed/vanished", r.Status, r.Reason, exitOf(r), r.Detail)
		}
	})
}

// TestCLIFakeLSF drives the capi binary against the fake LSF on PATH.
func TestCLIFakeLSF(t *testing.T) {
	bin := fakelsftest.Build(t)
	cluster := fakelsftest.NewCluster(t, "FAKELSF_CLEAN_PERIOD=2")
	env := append([]string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}, cluster.Env...)
	runCLISuite(t, "lsf", env...)
}

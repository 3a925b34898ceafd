package local

import (
	"context"
	"runtime"
	"testing"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// /proc/locks as Linux 6.x writes it: flock, POSIX and OFD locks, and a
// process blocked waiting for a lock ("->"), which holds nothing.
const procLocks = `1: POSIX  ADVISORY  WRITE 20014 fe:00:754994 0 EOF
2: FLOCK  ADVISORY  WRITE 2750 fe:00:754722 0 EOF
2: -> FLOCK  ADVISORY  WRITE 2800 fe:00:754900 0 EOF
3: OFDLCK ADVISORY  READ  -1 00:06:9 0 EOF
`

func TestFlockHeld(t *testing.T) {
	t.Parallel()
	cases := []struct {
		major, minor, ino uint64
		want              bool
	}{
		{0xfe, 0, 754722, true},
		{0xfe, 1, 754722, false}, // the same inode on another device
		{0xfe, 0, 754994, false}, // a POSIX lock
		{0xfe, 0, 754900, false}, // waiting, not holding
		{0, 6, 9, false},         // an OFD lock
	}
	for _, c := range cases {
		if got := flockHeld([]byte(procLocks), c.major, c.minor, c.ino); got != c.want {
			t.Errorf("flockHeld(%x:%x:%d) = %v, want %v", c.major, c.minor, c.ino, got, c.want)
		}
	}
}

func FuzzFlockHeld(f *testing.F) {
	f.Add([]byte(procLocks), uint64(0xfe), uint64(0), uint64(754722))
	f.Add([]byte("1: FLOCK x y z a:b:c\n2: FLOCK\n"), uint64(0), uint64(0), uint64(0))
	f.Fuzz(func(t *testing.T, locks []byte, major, minor, ino uint64) {
		flockHeld(locks, major, minor, ino) // must not panic on any content
	})
}

// Describe counts what waits and runs, and tells whether a process holds
// the dispatcher role, without taking it.
func TestDescribe(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	blocker := e.submit("blocker", "sleep 30", nil)
	waiting := e.submit("waiting", "true", nil)
	sum, err := Describe(e.state)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Jobs != 2 || sum.Running != 1 || sum.Waiting != 1 || sum.JournalBytes == 0 {
		t.Errorf("Describe = %+v, want 2 jobs, 1 running, 1 waiting", sum)
	}
	if runtime.GOOS == "linux" && (!sum.Known || !sum.Dispatched) {
		t.Errorf("Describe = %+v, want the dispatcher known to be held", sum)
	}
	if f, ok, _ := lockDispatcher(e.s.sp); ok {
		f.Close()
		t.Error("the role was free while its holder runs")
	}
	if err := e.s.Cancel(context.Background(), scheduler.CancelRequest{Targets: []scheduler.Target{{ID: blocker}}}); err != nil {
		t.Fatal(err)
	}
	pollUntilTerminal(t, e.s, []string{blocker, waiting})
	none, err := Describe(t.TempDir())
	if err != nil || none.Jobs != 0 || none.Dispatched {
		t.Errorf("Describe of an empty state dir = %+v, %v", none, err)
	}
}

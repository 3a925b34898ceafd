package local

import (
	"bufio"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-cluster-api/clusterapi/scheduler"
)

// A job's memory limit is applied the best way this machine allows, tried
// in this order for each element:
//
//   - a cgroup v2 of its own with memory.max (and memory.swap.max 0), next
//     to capi's own cgroup or below it, when the memory controller is
//     enabled there and capi may create cgroups (root, or a delegated
//     subtree such as a systemd user session's);
//   - a cgroup v1 of its own in the memory hierarchy, below capi's own
//     (memory.limit_in_bytes, and memory.memsw.limit_in_bytes where swap is
//     accounted): in practice for root on hosts and containers that still
//     mount cgroup v1;
//   - else, on Linux, RLIMIT_AS (ulimit -v) on each of the job's processes;
//   - else (macOS) no limit.
//
// With a cgroup, running out of memory is exact: the kernel's OOM killer
// counts its kills in the cgroup (oom_kill), and a job that ends non-zero
// after one is failed/out_of_memory. With RLIMIT_AS an allocation beyond
// the limit fails inside the program, which sees it as an error of its
// own; capi cannot tell that from other failures, so such a job is
// failed/exit_code with a detail naming the limit and how it was applied.
// The element's start in the journal records, for every element with a
// memory limit, which mechanism applied and why a better one did not.

// memKind is how an element's memory limit was applied.
type memKind string

const (
	memCgroup2 memKind = "cgroup2"
	memCgroup1 memKind = "cgroup1"
	memRlimit  memKind = "rlimit_as"
	memNone    memKind = "none"
)

// memRecord is how an element's memory limit applied.
type memRecord struct {
	Kind   memKind `json:"kind"`
	Bytes  int64   `json:"bytes"`
	Cgroup string  `json:"cgroup,omitempty"` // the element's cgroup directory
	Note   string  `json:"note,omitempty"`   // why no cgroup was used
}

// String says how the limit applied, for details and logs.
func (m memRecord) String() string {
	limit := scheduler.Bytes(m.Bytes).String()
	switch m.Kind {
	case memCgroup2:
		return fmt.Sprintf("memory limit %s as cgroup v2 memory.max of %s", limit, m.Cgroup)
	case memCgroup1:
		return fmt.Sprintf("memory limit %s as cgroup v1 memory.limit_in_bytes of %s", limit, m.Cgroup)
	case memRlimit:
		return fmt.Sprintf("memory limit %s as RLIMIT_AS (ulimit -v: virtual memory of each process; no cgroup: %s)", limit, m.Note)
	}
	return fmt.Sprintf("memory limit %s not applied (%s)", limit, m.Note)
}

// hierarchy is a directory where capi may create job cgroups with the
// memory controller.
type hierarchy struct {
	v2  bool
	dir string
}

// memState is what a Scheduler learned about this machine's cgroups;
// guarded by Scheduler.mu.
type memState struct {
	detected bool
	places   []hierarchy // best first; a place that failed once is dropped
	why      string      // why no cgroup can be used, once places is empty
}

// detectCgroups lists the places for job cgroups from this process's
// mounts and cgroups.
func detectCgroups() ([]hierarchy, string) {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, "no /proc/self/mountinfo (not Linux)"
	}
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, "no /proc/self/cgroup"
	}
	places := cgroupPlaces(string(mi), string(cg), func(dir string) bool {
		b, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
		return err == nil && slices.Contains(strings.Fields(string(b)), "memory")
	})
	if len(places) == 0 {
		return nil, "no cgroup hierarchy with the memory controller enabled for this process's cgroup"
	}
	return places, ""
}

// cgroupPlaces reads /proc/self/mountinfo and /proc/self/cgroup and lists,
// best first, where job cgroups could go: in cgroup v2, below this
// process's cgroup or next to it (children of a cgroup get the memory
// controller only when its cgroup.subtree_control enables it, which
// subtreeMemory tells; a cgroup holding processes cannot enable it, so
// next to ours is the usual place); in cgroup v1, below this process's
// memory cgroup.
func cgroupPlaces(mountinfo, cgroups string, subtreeMemory func(dir string) bool) []hierarchy {
	var v2path, v1path string
	for _, line := range strings.Split(cgroups, "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		switch {
		case f[0] == "0" && f[1] == "":
			v2path = f[2]
		case slices.Contains(strings.Split(f[1], ","), "memory"):
			v1path = f[2]
		}
	}
	var v2, v1 []hierarchy
	for _, line := range strings.Split(mountinfo, "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		a, b := strings.Fields(pre), strings.Fields(post)
		if len(a) < 5 || len(b) < 3 {
			continue
		}
		root, mnt := unescapeMount(a[3]), unescapeMount(a[4])
		switch {
		case b[0] == "cgroup2" && v2path != "" && v2 == nil:
			own, ok := below(mnt, root, v2path)
			if !ok {
				continue
			}
			if subtreeMemory(own) {
				v2 = append(v2, hierarchy{v2: true, dir: own})
			}
			if parent := filepath.Dir(own); own != mnt && subtreeMemory(parent) {
				v2 = append(v2, hierarchy{v2: true, dir: parent})
			}
		case b[0] == "cgroup" && v1path != "" && v1 == nil && slices.Contains(strings.Split(b[2], ","), "memory"):
			if own, ok := below(mnt, root, v1path); ok {
				v1 = append(v1, hierarchy{dir: own})
			}
		}
	}
	return append(v2, v1...)
}

// below maps a cgroup path to its directory under a mount of the hierarchy
// whose root is root; ok is false when the mount does not show it.
func below(mnt, root, cgPath string) (string, bool) {
	rel := path.Clean(cgPath)
	if root != "/" {
		r, ok := strings.CutPrefix(rel, path.Clean(root))
		if !ok || (r != "" && !strings.HasPrefix(r, "/")) {
			return "", false
		}
		rel = r
	}
	return filepath.Join(mnt, filepath.FromSlash(rel)), true
}

// unescapeMount undoes mountinfo's octal escapes ("\040" for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// create makes the cgroup name with a memory limit of limit bytes and
// returns its directory.
func (h hierarchy) create(name string, limit int64) (string, error) {
	dir := filepath.Join(h.dir, name)
	err := os.Mkdir(dir, 0o755)
	if errors.Is(err, os.ErrExist) {
		// Left by a spool that was removed and made again: ids repeat.
		os.Remove(dir)
		err = os.Mkdir(dir, 0o755)
	}
	if err != nil {
		return "", err
	}
	v := strconv.FormatInt(limit, 10)
	limitFile, swapFile, swapValue := "memory.limit_in_bytes", "memory.memsw.limit_in_bytes", v
	if h.v2 {
		limitFile, swapFile, swapValue = "memory.max", "memory.swap.max", "0"
	}
	if err := writeCgroup(filepath.Join(dir, limitFile), v); err != nil {
		os.Remove(dir)
		return "", err
	}
	// Without swap accounting (no such file) the limit holds for memory
	// alone, and a job may spill into swap instead of being stopped.
	writeCgroup(filepath.Join(dir, swapFile), swapValue)
	return dir, nil
}

// writeCgroup writes one value to a cgroup file, which exists or not: it
// is never created.
func writeCgroup(file, value string) error {
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// oomKills is how many processes the OOM killer ended in the element's
// cgroup (0 when it cannot tell).
func (m memRecord) oomKills() int {
	var file string
	switch m.Kind {
	case memCgroup2:
		file = filepath.Join(m.Cgroup, "memory.events")
	case memCgroup1:
		file = filepath.Join(m.Cgroup, "memory.oom_control")
	default:
		return 0
	}
	f, err := os.Open(file)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "oom_kill "); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// cgroupPrefix starts the names of this spool's job cgroups. Spools of
// different state dirs (tests run many in one cgroup) never share names.
func (s *Scheduler) cgroupPrefix() string {
	h := fnv.New32a()
	h.Write([]byte(s.sp.dir))
	return fmt.Sprintf("capi-%08x-", h.Sum32())
}

// limitMemory prepares an element's memory limit before it starts: its
// cgroup, made and limited, or the fallback. s.mu and the journal lock are
// held.
func (s *Scheduler) limitMemory(j *jobFile, el string) memRecord {
	rec := memRecord{Bytes: j.Memory}
	if !s.mem.detected {
		s.mem.places, s.mem.why = detectCgroups()
		s.mem.detected = true
	}
	s.sweepCgroups()
	for len(s.mem.places) > 0 {
		h := s.mem.places[0]
		dir, err := h.create(s.cgroupPrefix()+j.ID+"."+el, j.Memory)
		if err == nil {
			rec.Kind, rec.Cgroup = memCgroup1, dir
			if h.v2 {
				rec.Kind = memCgroup2
			}
			return rec
		}
		s.log.Info("local executor: cannot make job cgroups here", "dir", h.dir, "err", err)
		s.mem.why = err.Error()
		s.mem.places = s.mem.places[1:]
	}
	return withoutCgroup(rec, s.mem.why)
}

// withoutCgroup is the fallback when no cgroup can hold the element.
func withoutCgroup(rec memRecord, why string) memRecord {
	rec.Kind, rec.Cgroup, rec.Note = memNone, "", why
	if runtime.GOOS == "linux" {
		// Elsewhere (macOS) setrlimit(RLIMIT_AS) is refused or not enforced.
		rec.Kind = memRlimit
	}
	return rec
}

// ulimitKiB is the launcher's ulimit -v argument for rec ("" for none).
func (m memRecord) ulimitKiB() string {
	if m.Kind != memRlimit {
		return ""
	}
	return strconv.FormatInt(int64(scheduler.Bytes(m.Bytes).In(scheduler.KB)), 10)
}

// removeCgroup removes an ended element's cgroup, trying for up to
// patience while processes of the job are still in it. What stays (the
// job left processes behind) goes with a later sweep.
func (m memRecord) removeCgroup(patience time.Duration) {
	if m.Cgroup == "" {
		return
	}
	for end := time.Now().Add(patience); ; time.Sleep(50 * time.Millisecond) {
		err := os.Remove(m.Cgroup)
		if err == nil || errors.Is(err, os.ErrNotExist) || time.Now().After(end) {
			return
		}
	}
}

// sweepCgroups removes emptied job cgroups: this spool's once their
// element has ended (and its end, which may read the cgroup's OOM kills,
// is recorded), and other spools' a while after they were made, so that the
// cgroups of a spool that was deleted (a test's state dir, a reset) do
// not pile up. rmdir fails on a cgroup that still holds processes. s.mu
// and the journal lock are held, so none of this spool's elements is
// between making its cgroup and entering it.
func (s *Scheduler) sweepCgroups() {
	prefix := s.cgroupPrefix()
	for _, h := range s.mem.places {
		ents, err := os.ReadDir(h.dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if !e.IsDir() || !strings.HasPrefix(e.Name(), "capi-") {
				continue
			}
			dir := filepath.Join(h.dir, e.Name())
			if rest, ours := strings.CutPrefix(e.Name(), prefix); ours {
				if id, el, ok := strings.Cut(rest, "."); ok && (s.endedLocked(id, el) || s.forgottenLocked(id)) {
					os.Remove(dir)
				}
				continue
			}
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > foreignCgroupAge {
				os.Remove(dir)
			}
		}
	}
}

// foreignCgroupAge is when the emptied cgroups of other spools are swept:
// long after any element of a live spool has been settled.
const foreignCgroupAge = time.Hour

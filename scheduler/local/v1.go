package local

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-cluster-api/clusterapi/internal/script"
)

// importV1 carries a spool of the layout before the journal (a directory
// per job: jobs/{id}/job.json, {el}.run with the pid and start, {el}.end,
// {el}.cancel, {el}.mem) over into journal events, once, so that jobs an
// older capi submitted are neither lost nor started twice by this one: waiting
// elements wait on, running ones are followed through their .run locks and
// settled from their exit files, ended ones keep their ends. The old
// directories are then renamed jobs.v1 (kept for reading, never used again).
func importV1(sp spool) error {
	jobsDir := filepath.Join(sp.dir, "jobs")
	if !exists(jobsDir) {
		return nil
	}
	// The old layout's own lock keeps an older capi still running from
	// changing it meanwhile; the journal's keeps other processes of this
	// one from importing twice.
	for _, path := range []string{filepath.Join(sp.dir, "lock"), sp.lockPath()} {
		f, err := lockedFile(path)
		if err != nil {
			return fmt.Errorf("local executor: import the old spool: %w", err)
		}
		defer f.Close()
	}
	j, err := sp.openJournal()
	if err != nil {
		return err
	}
	defer j.Close()
	if !exists(jobsDir) {
		return nil // imported by another process meanwhile
	}
	// An older capi still in use on this state dir may make jobs/ again:
	// each import keeps its own copy.
	moved := jobsDir + ".v1"
	for n := 2; exists(moved); n++ {
		moved = fmt.Sprintf("%s.v1-%d", jobsDir, n)
	}
	evs, err := v1Events(jobsDir, moved)
	if err != nil {
		return err
	}
	if err := appendEvents(j, evs...); err != nil {
		return err
	}
	if err := os.Rename(jobsDir, moved); err != nil {
		return fmt.Errorf("local executor: import the old spool: %w", err)
	}
	for _, d := range []string{"waiting", "running"} {
		os.RemoveAll(filepath.Join(sp.dir, d))
	}
	return nil
}

// v1Events reads the old layout's jobs, oldest first, naming their files
// where they will be once jobsDir is moved to moved.
func v1Events(jobsDir, moved string) ([]event, error) {
	entries, err := os.ReadDir(jobsDir)
	if err != nil {
		return nil, fmt.Errorf("local executor: import the old spool: %w", err)
	}
	var ids []int
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil && e.IsDir() {
			ids = append(ids, n)
		}
	}
	sort.Ints(ids)
	var evs []event
	for _, n := range ids {
		id := strconv.Itoa(n)
		dir := filepath.Join(jobsDir, id)
		b, err := os.ReadFile(filepath.Join(dir, "job.json"))
		if err != nil {
			continue // never fully written: never submitted
		}
		var jf jobFile
		if json.Unmarshal(b, &jf) != nil {
			continue
		}
		jf.ID = id
		evs = append(evs, event{Ev: evSubmit, ID: id, Job: &jf})
		if exists(filepath.Join(dir, "all.cancel")) {
			evs = append(evs, event{Ev: evCancel, ID: id})
		}
		for i := range jf.size() {
			evs = append(evs, v1Element(dir, filepath.Join(moved, id), &jf, i)...)
		}
	}
	return evs, nil
}

// v1Element reads one element's files in the old layout, in dir, which
// will be moved to movedDir.
func v1Element(dir, movedDir string, jf *jobFile, i int) []event {
	el := jf.el(i)
	var evs []event
	if exists(filepath.Join(dir, el+".cancel")) {
		evs = append(evs, event{Ev: evCancel, ID: jf.ID, El: el})
	}
	run := filepath.Join(dir, el+".run")
	if b, err := os.ReadFile(run); err == nil {
		f := strings.Fields(string(b))
		start := event{Ev: evStart, ID: jf.ID, El: el, Run: filepath.Join(movedDir, el+".run"), Exit: script.ExitFilePath(jf.Script, jf.ID, jf.First+i, jf.Array)}
		if len(f) >= 2 {
			start.Pid, _ = strconv.Atoi(f[0])
			if ns, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				start.Start = time.Unix(0, ns)
			}
		}
		if b, err := os.ReadFile(filepath.Join(dir, el+".mem")); err == nil {
			var m memRecord
			if json.Unmarshal(b, &m) == nil {
				start.Mem = &m
			}
		}
		if start.Pid > 0 || locked(run) {
			evs = append(evs, start)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, el+".end")); err == nil {
		var end endFile
		if json.Unmarshal(b, &end) == nil {
			evs = append(evs, event{Ev: evEnd, ID: jf.ID, El: el, End: &end})
		}
	}
	return evs
}

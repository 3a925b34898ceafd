package sge

import (
	"fmt"
	"strconv"
	"strings"
)

// expandTasks calls fn for every task id in a qstat task list: "3" (a
// running task), "1-3:1" (a range with its step), "3,4" or "1,5-9:2"
// (what is left after some tasks started or were deleted). It refuses to
// expand more than budget ids.
func expandTasks(spec string, budget int, fn func(int)) error {
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		first, last, step, err := parseTaskRange(item)
		if err != nil {
			return fmt.Errorf("task list %q: %w", spec, err)
		}
		n := (last-first)/step + 1
		if n > budget {
			return fmt.Errorf("task list %q expands to more than %d tasks", spec, maxTasks)
		}
		budget -= n
		for i := first; i <= last; i += step {
			fn(i)
		}
	}
	return nil
}

// parseTaskRange reads "N", "A-B" or "A-B:S".
func parseTaskRange(s string) (first, last, step int, err error) {
	rng, stepStr, hasStep := strings.Cut(s, ":")
	a, b, isRange := strings.Cut(rng, "-")
	if first, err = taskNumber(a); err != nil {
		return 0, 0, 0, err
	}
	last, step = first, 1
	if isRange {
		if last, err = taskNumber(b); err != nil {
			return 0, 0, 0, err
		}
	}
	if hasStep {
		if step, err = taskNumber(stepStr); err != nil {
			return 0, 0, 0, err
		}
	}
	if last < first {
		return 0, 0, 0, fmt.Errorf("range %q ends before it starts", s)
	}
	return first, last, step, nil
}

// taskNumber accepts positive decimal numbers that fit Grid Engine's task
// ids (its own limit is far below 1e9).
func taskNumber(s string) (int, error) {
	if s == "" || len(s) > 9 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a task number", s)
	}
	n, _ := strconv.Atoi(s)
	if n < 1 {
		return 0, fmt.Errorf("task number %q is below 1", s)
	}
	return n, nil
}

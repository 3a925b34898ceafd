package slurm

import (
	"fmt"
	"strconv"
	"strings"
)

// maxArrayElements bounds how many elements one array record may expand
// to. SLURM's own ceiling for MaxArraySize is 4000001, so real output never
// comes near it; the bound keeps garbage ("1-999999999") from exhausting
// memory.
const maxArrayElements = 4_000_001

// parseTaskSpec expands SLURM's array task expression as squeue and sacct
// print it for a record that stands for several elements: "5-9%2",
// "2-3,5%1", "1-7:2", or a single index "4". The "%N" throttle suffix is
// ignored: it limits running elements, not which exist.
func parseTaskSpec(spec string, limit int) ([]int, error) {
	if i := strings.IndexByte(spec, '%'); i >= 0 {
		if _, err := atoi(spec[i+1:]); err != nil {
			return nil, fmt.Errorf("array task spec %q: bad throttle after %%", spec)
		}
		spec = spec[:i]
	}
	if spec == "" {
		return nil, fmt.Errorf("array task spec is empty")
	}
	var out []int
	for part := range strings.SplitSeq(spec, ",") {
		lo, hi, step, err := parseTaskRange(part)
		if err != nil {
			return nil, fmt.Errorf("array task spec %q: %w", spec, err)
		}
		if n := (hi-lo)/step + 1; n > limit-len(out) {
			return nil, fmt.Errorf("array task spec %q: more than %d elements", spec, limit)
		}
		for i := lo; i <= hi; i += step {
			out = append(out, i)
		}
	}
	return out, nil
}

// parseTaskRange reads "N", "A-B" or "A-B:S".
func parseTaskRange(s string) (lo, hi, step int, err error) {
	rng, stepStr, hasStep := strings.Cut(s, ":")
	step = 1
	if hasStep {
		if step, err = atoi(stepStr); err != nil || step == 0 {
			return 0, 0, 0, fmt.Errorf("bad step in %q", s)
		}
	}
	a, b, isRange := strings.Cut(rng, "-")
	if lo, err = atoi(a); err != nil {
		return 0, 0, 0, fmt.Errorf("bad index in %q", s)
	}
	hi = lo
	if isRange {
		if hi, err = atoi(b); err != nil {
			return 0, 0, 0, fmt.Errorf("bad index in %q", s)
		}
	}
	if hi < lo {
		return 0, 0, 0, fmt.Errorf("range %q runs backwards", s)
	}
	return lo, hi, step, nil
}

// atoi accepts only plain non-negative decimal numbers small enough that
// index arithmetic cannot overflow.
func atoi(s string) (int, error) {
	if s == "" || len(s) > 9 {
		return 0, strconv.ErrSyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	return strconv.Atoi(s)
}

package scheduler

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Bytes is an amount of memory in bytes.
type Bytes int64

// Binary (1024-based) units, as the seed uses them: 1 KB = 1024 B.
const (
	B  Bytes = 1
	KB       = 1024 * B
	MB       = 1024 * KB
	GB       = 1024 * MB
	TB       = 1024 * GB
)

var memoryUnits = []struct {
	name string
	size Bytes
}{{"TB", TB}, {"GB", GB}, {"MB", MB}, {"KB", KB}, {"B", B}}

// ParseBytes parses a memory amount: a number (decimals allowed) followed by
// a unit B, KB, MB, GB or TB, case-insensitive, with an optional space:
// "8 GB", "512mb", "1.5GB". Units are 1024-based. Anything else, including a
// bare number or an IEC unit such as "GiB", is an error naming the value.
func ParseBytes(s string) (Bytes, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, &ValueError{Kind: "memory", Value: s, Hint: `write a number and a unit, e.g. "8 GB" or "512MB"`}
	}
	upper := strings.ToUpper(in)
	for _, u := range memoryUnits {
		num, ok := strings.CutSuffix(upper, u.name)
		if !ok {
			continue
		}
		num = strings.TrimSpace(num)
		// "8 KB" must not be read as "8 K" + "B"; a trailing letter left over
		// means the unit was something else (GiB, KiB, ...).
		if num == "" || !isDecimal(num) {
			break
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			break
		}
		v := f * float64(u.size)
		if v >= math.MaxInt64 {
			return 0, &ValueError{Kind: "memory", Value: s, Hint: "the amount is too large"}
		}
		return Bytes(math.Ceil(v)), nil
	}
	return 0, &ValueError{Kind: "memory", Value: s, Hint: `use a number and one of the units B, KB, MB, GB, TB (1024-based), e.g. "8 GB"`}
}

func isDecimal(s string) bool {
	dot := false
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '.' && !dot:
			dot = true
		case r == '+' && i == 0:
		default:
			return false
		}
	}
	return digits > 0
}

// In returns the amount in the given unit, rounded up: 1.5 KB in MB is 1.
// It is how directives that take whole numbers (LSF -M, SLURM --mem) are
// written without asking for less than the user wanted.
func (b Bytes) In(unit Bytes) int64 {
	if unit <= 0 {
		unit = 1
	}
	return int64((b + unit - 1) / unit)
}

// String renders the amount with the largest unit that divides it exactly
// ("8 GB", "1536 MB"), so that it parses back to the same value.
func (b Bytes) String() string {
	if b == 0 {
		return "0 B"
	}
	for _, u := range memoryUnits {
		if b%u.size == 0 {
			return fmt.Sprintf("%d %s", b/u.size, u.name)
		}
	}
	return fmt.Sprintf("%d B", int64(b))
}

// ParseWalltime parses a run-time limit into a duration. Accepted forms:
//
//	H:MM          hours:minutes, the seed's and LSF's form ("04:00", "1:30", "24:00")
//	H:MM:SS       hours:minutes:seconds
//	D-HH:MM[:SS]  days-hours:minutes[:seconds], SLURM's long form
//	Go durations  "90m", "4h30m", "45s"
//
// "04:00" is four hours on every scheduler. A bare number is rejected because
// it is ambiguous (minutes for SLURM and LSF, seconds for Grid Engine).
func ParseWalltime(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	bad := func(hint string) (time.Duration, error) {
		return 0, &ValueError{Kind: "walltime", Value: s, Hint: hint}
	}
	const forms = `use H:MM ("04:00"), H:MM:SS, D-HH:MM[:SS] ("1-12:00") or a duration ("90m", "4h30m")`
	if in == "" {
		return bad(forms)
	}
	if !strings.ContainsAny(in, ":-") {
		d, err := time.ParseDuration(in)
		if err != nil || d <= 0 {
			return bad(forms)
		}
		return d, nil
	}
	days := 0
	clock := in
	if dayPart, rest, ok := strings.Cut(in, "-"); ok {
		n, err := atoiStrict(dayPart)
		if err != nil {
			return bad(forms)
		}
		days, clock = n, rest
	}
	parts := strings.Split(clock, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return bad(forms)
	}
	nums := make([]int, len(parts))
	for i, p := range parts {
		n, err := atoiStrict(p)
		if err != nil {
			return bad(forms)
		}
		nums[i] = n
	}
	h, m, sec := nums[0], nums[1], 0
	if len(nums) == 3 {
		sec = nums[2]
	}
	if m > 59 || sec > 59 {
		return bad("minutes and seconds must be below 60; " + forms)
	}
	const maxHours = 1 << 20 // ~120 years: far beyond any scheduler, far below overflow
	total := days*24 + h
	if total > maxHours {
		return bad("the limit is too large")
	}
	d := time.Duration(total)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second
	if d <= 0 {
		return bad("the limit must be longer than zero")
	}
	return d, nil
}

// atoiStrict accepts only non-empty runs of ASCII digits.
func atoiStrict(s string) (int, error) {
	if s == "" || len(s) > 9 {
		return 0, strconv.ErrSyntax
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	return strconv.Atoi(s)
}

// FormatHHMMSS renders d as HH:MM:SS with hours unbounded ("36:00:00"),
// rounding a fraction of a second up. Grid Engine's h_rt takes this form.
func FormatHHMMSS(d time.Duration) string {
	s := ceilSeconds(d)
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
}

// FormatDHHMMSS renders d as D-HH:MM:SS, SLURM's --time form.
func FormatDHHMMSS(d time.Duration) string {
	s := ceilSeconds(d)
	return fmt.Sprintf("%d-%02d:%02d:%02d", s/86400, s/3600%24, s/60%60, s%60)
}

// FormatHMM renders d as H:MM, rounding seconds up to the next minute
// (LSF's -W has no seconds field and must not cut a job short).
func FormatHMM(d time.Duration) string {
	m := (ceilSeconds(d) + 59) / 60
	return fmt.Sprintf("%d:%02d", m/60, m%60)
}

func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

package lsf

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	t.Parallel()
	utc := time.UTC
	d := func(y int, mo time.Month, day, h, m, s int) time.Time { return time.Date(y, mo, day, h, m, s, 0, utc) }
	good := []struct {
		in   string
		want time.Time
	}{
		{"Dec 28 19:56", d(2025, 12, 28, 19, 56, 0)}, // in the future this year: last year
		{"Mar 15 11:59", d(2026, 3, 15, 11, 59, 0)},
		{"Mar 16 11:00", d(2026, 3, 16, 11, 0, 0)}, // within the clock-skew allowance
		{"Mar 17 11:00", d(2025, 3, 17, 11, 0, 0)},
		{"Jan  7 09:59 L", d(2026, 1, 7, 9, 59, 0)},
		{"Jan  7 09:59 E", d(2026, 1, 7, 9, 59, 0)},
		{"Feb 21 00:02 2019", d(2019, 2, 21, 0, 2, 0)},
		{"Apr 12 18:10:00 2026", d(2026, 4, 12, 18, 10, 0)},
		{"Feb  8 10:31:17 2026 L", d(2026, 2, 8, 10, 31, 17)},
		{"Thu Apr 18 10:00:40", d(2025, 4, 18, 10, 0, 40)},
		{"Thu Apr 18 10:00:40 2024", d(2024, 4, 18, 10, 0, 40)},
		{"  Jan  1 0:05  ", d(2026, 1, 1, 0, 5, 0)},
		{"03/31-14:46:42", d(2025, 3, 31, 14, 46, 42)},
		{"2026/03/01-14:46:42", d(2026, 3, 1, 14, 46, 42)},
		{"Feb 29 10:00", d(2024, 2, 29, 10, 0, 0)}, // latest leap year
	}
	for _, c := range good {
		got, ok := parseTime(c.in, testNow)
		if !ok || !got.Equal(c.want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", c.in, got, ok, c.want)
		}
	}
	for _, in := range []string{"", "-", "Dec", "Dec 28", "Dec 28 19", "Dec 28 19:5", "Dec 28 24:00", "Dec 32 10:00",
		"Feb 30 10:00 2024", "Smarch 1 10:00", "dec 28 19:56", "Dec 28 19:56 20", "Dec 28 19:56:60", "Dec 28 19:56 LL",
		"13/01-10:00:00", "Dec 28 19:56 2019 2020", "Foo Dec 28 19:56", "Dec 123 10:00", "Dec 28 123:00"} {
		if got, ok := parseTime(in, testNow); ok {
			t.Errorf("parseTime(%q) = %v, want failure", in, got)
		}
	}
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"Dec 28 19:56", "Jan  7 09:59 L", "Feb 21 00:02 2019", "Apr 12 18:10:00 2026",
		"Feb  8 10:31:17 2026 L", "Thu Apr 18 10:00:40", "03/31-14:46:42", "2026/03/31-14:46:42", "Feb 29 10:00", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseTime(s, testNow)
		if !ok {
			if !got.IsZero() {
				t.Fatalf("parseTime(%q) failed but returned %v", s, got)
			}
			return
		}
		// A time stamp without a year is never placed beyond the skew allowance.
		if !hasYear(s) && got.After(testNow.Add(yearSkew)) {
			t.Fatalf("parseTime(%q) = %v, in the future", s, got)
		}
	})
}

// hasYear is a loose check used only by the fuzz target.
func hasYear(s string) bool {
	digits := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits++
			if digits == 4 {
				return true
			}
		} else {
			digits = 0
		}
	}
	return false
}

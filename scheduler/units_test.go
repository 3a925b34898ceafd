package scheduler

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseBytes(t *testing.T) {
	t.Parallel()
	good := []struct {
		in   string
		want Bytes
	}{
		{"8 GB", 8 * GB},
		{"8GB", 8 * GB},
		{"8gb", 8 * GB},
		{"  512 mb ", 512 * MB},
		{"1.5GB", 1536 * MB},
		{"1 TB", TB},
		{"100 KB", 100 * KB},
		{"100 B", 100},
		{"0.5 KB", 512},
		{"0.3 B", 1}, // rounded up, never less than asked
	}
	for _, c := range good {
		got, err := ParseBytes(c.in)
		if err != nil {
			t.Errorf("ParseBytes(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseBytes(%q) = %d, want %d", c.in, got, c.want)
		}
	}
	bad := []string{"", "8 GiB", "8", "GB", "lots", "8 G", "-1 GB", "8 GB extra", "1e3 MB", "8..1 GB", "NaN GB", "99999999999999999 TB"}
	for _, in := range bad {
		_, err := ParseBytes(in)
		var verr *ValueError
		if !errors.As(err, &verr) {
			t.Errorf("ParseBytes(%q) err = %v, want *ValueError", in, err)
			continue
		}
		if verr.Value != in || !strings.Contains(err.Error(), "memory") {
			t.Errorf("ParseBytes(%q) error %q does not name the value", in, err)
		}
		if !errors.Is(err, ErrClusterAPI) {
			t.Errorf("ParseBytes(%q) error does not match ErrClusterAPI", in)
		}
	}
}

func TestBytesInAndString(t *testing.T) {
	t.Parallel()
	if got := (1536 * MB).In(GB); got != 2 {
		t.Errorf("1536 MB in GB = %d, want 2 (rounded up)", got)
	}
	if got := (8 * GB).In(MB); got != 8192 {
		t.Errorf("8 GB in MB = %d", got)
	}
	for _, b := range []Bytes{8 * GB, 1536 * MB, 7, 3 * KB} {
		back, err := ParseBytes(b.String())
		if err != nil || back != b {
			t.Errorf("%d -> %q -> %d, %v", b, b.String(), back, err)
		}
	}
}

func TestParseWalltime(t *testing.T) {
	t.Parallel()
	good := []struct {
		in   string
		want time.Duration
	}{
		{"04:00", 4 * time.Hour},
		{"24:00", 24 * time.Hour},
		{"1:30", 90 * time.Minute},
		{"0:05", 5 * time.Minute},
		{"1:30:15", time.Hour + 30*time.Minute + 15*time.Second},
		{"2-12:00", 60 * time.Hour},
		{"1-00:00:30", 24*time.Hour + 30*time.Second},
		{"90m", 90 * time.Minute},
		{"4h30m", 4*time.Hour + 30*time.Minute},
		{"45s", 45 * time.Second},
		{"100:00", 100 * time.Hour},
	}
	for _, c := range good {
		got, err := ParseWalltime(c.in)
		if err != nil {
			t.Errorf("ParseWalltime(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseWalltime(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	for _, in := range []string{"", "forever", "60", "1:60", "1:00:60", ":30", "1:", "1:2:3:4", "-1:00", "0:00", "0s", "-5m", "a-01:00", "1-", "+1:00", "1:-30"} {
		_, err := ParseWalltime(in)
		var verr *ValueError
		if !errors.As(err, &verr) || verr.Kind != "walltime" || verr.Value != in {
			t.Errorf("ParseWalltime(%q) err = %v, want a walltime ValueError naming the value", in, err)
		}
	}
}

func TestFormatWalltime(t *testing.T) {
	t.Parallel()
	d := 26*time.Hour + 3*time.Minute + 4*time.Second
	if got := FormatHHMMSS(d); got != "26:03:04" {
		t.Errorf("FormatHHMMSS = %q", got)
	}
	if got := FormatDHHMMSS(d); got != "1-02:03:04" {
		t.Errorf("FormatDHHMMSS = %q", got)
	}
	if got := FormatHMM(d); got != "26:04" {
		t.Errorf("FormatHMM = %q (seconds must round up)", got)
	}
	if got := FormatHMM(4 * time.Hour); got != "4:00" {
		t.Errorf("FormatHMM(4h) = %q", got)
	}
}

func FuzzParseBytes(f *testing.F) {
	for _, s := range []string{"8 GB", "1.5gb", "0 B", "8 GiB", "", "1e9 TB", "9223372036854775807 B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBytes(s)
		if err != nil {
			return
		}
		if b < 0 {
			t.Fatalf("ParseBytes(%q) = %d < 0", s, b)
		}
		back, err := ParseBytes(b.String())
		if err != nil || back != b {
			t.Fatalf("round trip of %q: %d -> %q -> %d, %v", s, b, b.String(), back, err)
		}
	})
}

func FuzzParseWalltime(f *testing.F) {
	for _, s := range []string{"04:00", "1-12:00:00", "90m", "forever", "99999999:00", "1-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseWalltime(s)
		if err != nil {
			return
		}
		if d <= 0 {
			t.Fatalf("ParseWalltime(%q) = %v, want > 0", s, d)
		}
		back, err := ParseWalltime(FormatHHMMSS(d))
		if err != nil || back < d {
			t.Fatalf("round trip of %q: %v -> %q -> %v, %v", s, d, FormatHHMMSS(d), back, err)
		}
	})
}

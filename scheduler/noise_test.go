package scheduler

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

func TestSiteNoiseHelpers(t *testing.T) {
	t.Parallel()
	if got := NonBlankLines([]byte("\n  module: gcc loaded \n\t\nWelcome\r\n")); !slices.Equal(got, []string{"module: gcc loaded", "Welcome"}) {
		t.Errorf("NonBlankLines = %q", got)
	}
	if got := QuoteStart([]byte(" \n ")); got != "nothing" {
		t.Errorf("QuoteStart(blanks) = %s, want nothing", got)
	}
	if got := QuoteStart([]byte(strings.Repeat("x", 200))); got != `"`+strings.Repeat("x", 160)+`"…` {
		t.Errorf("QuoteStart(200 x) = %s, want the first 160 quoted and an ellipsis", got)
	}
	var log bytes.Buffer
	l := slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	LogSkipped(l, "lsf: bjobs", nil)
	if log.Len() != 0 {
		t.Errorf("nothing skipped, yet logged: %s", log.String())
	}
	LogSkipped(l, "lsf: bjobs", []string{"a", "b", "c", "d"})
	if s := log.String(); !strings.Contains(s, "lsf: bjobs: skipped") || !strings.Contains(s, "count=4") || strings.Contains(s, "d]") {
		t.Errorf("LogSkipped wrote %s; want the command, the count and the first three lines", s)
	}
}

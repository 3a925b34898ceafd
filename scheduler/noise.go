package scheduler

import (
	"bytes"
	"fmt"
	"log/slog"
)

// Site noise: wrappers that sites put around scheduler commands print
// messages of their own before, between or after what the command prints
// (a banner, a module warning). The parsers keep to what is theirs and
// hand the rest back as skipped lines; these helpers are what the
// scheduler packages share for it.

// NonBlankLines returns the lines of b that hold more than blanks, trimmed.
func NonBlankLines(b []byte) []string {
	var lines []string
	for line := range bytes.Lines(b) {
		if l := bytes.TrimSpace(line); len(l) > 0 {
			lines = append(lines, string(l))
		}
	}
	return lines
}

// LogSkipped reports the lines a parse of a command's output skipped
// (what: "lsf: bjobs"), normally a site wrapper's messages; at debug level,
// because they come with every poll.
func LogSkipped(log *slog.Logger, what string, skipped []string) {
	if len(skipped) > 0 {
		log.Debug(what+": skipped lines that are not the command's own output",
			"count", len(skipped), "first", skipped[:min(len(skipped), 3)])
	}
}

// QuoteStart quotes the beginning of a command's output for an error
// message ("nothing" when it printed only blanks).
func QuoteStart(out []byte) string {
	out = bytes.TrimSpace(out)
	if len(out) == 0 {
		return "nothing"
	}
	const keep = 160
	if len(out) > keep {
		return fmt.Sprintf("%q…", out[:keep])
	}
	return fmt.Sprintf("%q", out)
}

package cli

import (
	"context"
	"io"
	"log/slog"
	"strings"
)

// lineHandler writes each log record as one line in capi's voice,
// "capi: warning: unknown key ...", instead of slog's key=value records: a
// user at a terminal reads a sentence, and a script that greps stderr for
// "capi:" sees every message capi writes.
//
// The record's "err" attribute ends the sentence (": <error>"); other
// attributes follow in parentheses. Time is left out: the user is watching.
type lineHandler struct {
	w     io.Writer
	level slog.Leveler
	attrs []slog.Attr
	group string
	// live is the line a progress bar draws on. Messages go through it:
	// lines from concurrent goroutines do not interleave, and a message is
	// not glued to the bar (the bar redraws itself below it).
	live *liveLine
}

func newLineHandler(w io.Writer, level slog.Leveler, live *liveLine) *lineHandler {
	return &lineHandler{w: w, level: level, live: live}
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("capi: ")
	b.WriteString(levelWord(r.Level))
	b.WriteString(": ")
	b.WriteString(r.Message)
	var errText string
	var extra []string
	add := func(a slog.Attr) {
		a.Value = a.Value.Resolve()
		if a.Equal(slog.Attr{}) {
			return
		}
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		if key == "err" || key == "error" {
			errText = a.Value.String()
			return
		}
		extra = append(extra, key+"="+a.Value.String())
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(func(a slog.Attr) bool {
		add(a)
		return true
	})
	if errText != "" {
		b.WriteString(": ")
		b.WriteString(errText)
	}
	if len(extra) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(extra, ", "))
		b.WriteString(")")
	}
	h.live.write(h.w, oneLine(b.String())+"\n")
	return nil
}

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), attrs...)
	return &c
}

func (h *lineHandler) WithGroup(name string) slog.Handler {
	c := *h
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}

func levelWord(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warning"
	case l >= slog.LevelInfo:
		return "info"
	}
	return "debug"
}

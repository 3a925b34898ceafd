package cli

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"unicode/utf8"

	"golang.org/x/term"
)

// console is the terminal that Out writes to. Live views draw only on one;
// everywhere else (pipes, files, CI logs) output is plain lines.
type console struct {
	cols, rows int
	// read asks the terminal for its size; nil keeps the size fixed.
	read func() (cols, rows int, err error)
	// winch delivers SIGWINCH: the size is read again only then, not at
	// every redraw.
	winch <-chan os.Signal
	stop  func()
}

// Sizes assumed when the terminal cannot tell (a serial console, a
// terminal that answers 0x0).
const (
	defaultCols = 80
	defaultRows = 24
)

// console returns the terminal Out writes to, or nil when Out is not one.
// Close it with close.
func (g *globals) console() *console {
	if g.openConsole != nil {
		return g.openConsole()
	}
	f, ok := g.io.Out.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	fd := int(f.Fd())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGWINCH)
	c := &console{
		read:  func() (int, int, error) { return term.GetSize(fd) },
		winch: ch,
		stop:  func() { signal.Stop(ch) },
	}
	c.resize()
	return c
}

// resize reads the terminal's size again.
func (c *console) resize() {
	if c.read == nil {
		return
	}
	c.cols, c.rows = defaultCols, defaultRows
	if w, h, err := c.read(); err == nil && w > 0 && h > 0 {
		c.cols, c.rows = w, h
	}
}

// resized receives when the window size changed; without a terminal it is
// nil, which never receives.
func (c *console) resized() <-chan os.Signal {
	if c == nil {
		return nil
	}
	return c.winch
}

func (c *console) close() {
	if c != nil && c.stop != nil {
		c.stop()
	}
}

// getenv reads the environment (tests replace it).
func (g *globals) getenv(key string) string {
	if g.env != nil {
		return g.env(key)
	}
	return os.Getenv(key)
}

// colorOn decides whether to colour failed, killed and timed-out jobs:
// --color always or never says so; auto colours only on a terminal, and
// not when NO_COLOR is set (https://no-color.org) or TERM is dumb.
func (g *globals) colorOn(c *console) bool {
	switch g.color {
	case "always":
		return true
	case "never":
		return false
	}
	return c != nil && g.getenv("NO_COLOR") == "" && g.getenv("TERM") != "dumb"
}

// SGR sequences for the few things capi colours.
const (
	sgrRed    = "\x1b[31m"
	sgrYellow = "\x1b[33m"
	sgrReset  = "\x1b[0m"
)

func paint(s, sgr string, on bool) string {
	if !on || sgr == "" || s == "" {
		return s
	}
	return sgr + s + sgrReset
}

// width is the number of terminal columns s takes. Job names and paths may
// hold any UTF-8; capi's own text is ASCII. East Asian wide characters
// count as one here, which overestimates how much fits: a line may then
// wrap, it is never cut short of what the user asked for.
func width(s string) int { return utf8.RuneCountInString(s) }

// truncate cuts s to at most n columns, marking the cut with "~" so that a
// shortened name does not pass for a whole one.
func truncate(s string, n int) string {
	if width(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	if n == 1 {
		return string(r[:1])
	}
	return string(r[:n-1]) + "~"
}

// liveLine is the one line a progress display redraws in place: carriage
// return, the text, erase to the end of the line. The text is always
// narrower than the terminal, so it never wraps and each redraw replaces
// the last. Messages for stderr are written through it, so that a warning
// appears on a line of its own and the bar is redrawn below it.
type liveLine struct {
	mu    sync.Mutex
	w     io.Writer
	drawn bool
	last  string
}

// rewrap makes up for the terminal rewrapping the drawn line when its
// window got narrower than the line (tmux, VTE, iTerm2 and kitty reflow
// lines on resize; xterm cuts them): the cursor then sits at the end of
// the line's last piece, and a carriage return would clear only that
// piece, leaving the rest of the old line above. So the cursor goes up to
// where the line starts and everything below is erased; the next draw
// starts afresh.
func (l *liveLine) rewrap(cols int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.drawn || cols <= 0 {
		return
	}
	if up := visibleWidth(l.last) / cols; up > 0 {
		fmt.Fprintf(l.w, "\r\x1b[%dA\x1b[J", up)
	} else {
		io.WriteString(l.w, "\r\x1b[K")
	}
	l.drawn = false
}

// visibleWidth is the width of s without its colour sequences.
func visibleWidth(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\x1b' {
			if j := strings.IndexByte(s[i:], 'm'); j >= 0 {
				i += j
				continue
			}
		}
		if s[i]&0xC0 != 0x80 {
			n++
		}
	}
	return n
}

// draw shows s on the line unless it is shown already.
func (l *liveLine) draw(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.drawn && s == l.last {
		return
	}
	io.WriteString(l.w, "\r"+s+"\x1b[K")
	l.drawn, l.last = true, s
}

// clear empties the line, leaving the cursor at its start.
func (l *liveLine) clear() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clearLocked()
}

func (l *liveLine) clearLocked() {
	if l.drawn {
		io.WriteString(l.w, "\r\x1b[K")
		l.drawn = false
	}
}

// finish keeps what is drawn and moves below it.
func (l *liveLine) finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.drawn {
		io.WriteString(l.w, "\n")
		l.drawn = false
	}
}

// write writes a whole message to w (stderr), on a line of its own.
func (l *liveLine) write(w io.Writer, msg string) {
	if l == nil {
		io.WriteString(w, msg)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clearLocked()
	io.WriteString(w, msg)
}

// line returns the command's live line, created on first use. It is
// first used on the command's own goroutine (creating its logger or its
// progress bar), before any goroutine that logs exists.
func (g *globals) line() *liveLine {
	if g.live == nil {
		g.live = &liveLine{w: g.io.Out}
	}
	return g.live
}

// oneLine flattens a message to a single line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

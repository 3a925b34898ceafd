package cli

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// vt is a small terminal emulator: enough of a VT100 (with xterm's
// alternate screen) to replay what capi writes to a terminal and look at
// the screen the user is left with. It wraps at the right margin the way
// xterm does, so a line longer than the window shows up as a wrap, and it
// keeps the lines that scroll off the top, as tmux's history does.
//
// What the tty does to output is applied too: "\n" is a carriage return
// and a line feed (onlcr).
type vt struct {
	cols, rows int
	screen     [][]rune
	history    []string // lines scrolled off the main screen
	x, y       int
	pending    bool // the cursor is past the last column, waiting to wrap

	alt     bool
	saved   [][]rune // the main screen while the alternate one is shown
	savedXY [2]int

	// wraps counts lines that hit the right margin and went on below;
	// altScrolls counts scrolls of the alternate screen (a frame taller
	// than the window); neither should ever happen.
	wraps, altScrolls int
}

func newVT(cols, rows int) *vt {
	v := &vt{cols: cols, rows: rows}
	v.screen = v.blank()
	return v
}

func (v *vt) blank() [][]rune {
	s := make([][]rune, v.rows)
	for i := range s {
		s[i] = []rune(strings.Repeat(" ", v.cols))
	}
	return s
}

var csi = regexp.MustCompile(`^\x1b\[(\??)([0-9;]*)([A-Za-z])`)

func (v *vt) write(s string) {
	for len(s) > 0 {
		if m := csi.FindStringSubmatch(s); m != nil {
			v.control(m[1] == "?", m[2], m[3][0])
			s = s[len(m[0]):]
			continue
		}
		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		switch r {
		case '\r':
			v.x, v.pending = 0, false
		case '\n':
			v.x, v.pending = 0, false
			v.lineFeed()
		case '\x1b':
			// An escape this emulator does not know: keep it visible, so
			// that a test sees it.
			v.put('^')
		default:
			v.put(r)
		}
	}
}

func (v *vt) put(r rune) {
	if v.pending {
		v.wraps++
		v.x, v.pending = 0, false
		v.lineFeed()
	}
	v.screen[v.y][v.x] = r
	if v.x == v.cols-1 {
		v.pending = true
	} else {
		v.x++
	}
}

func (v *vt) lineFeed() {
	if v.y < v.rows-1 {
		v.y++
		return
	}
	if v.alt {
		v.altScrolls++
	} else {
		v.history = append(v.history, strings.TrimRight(string(v.screen[0]), " "))
	}
	v.screen = append(v.screen[1:], []rune(strings.Repeat(" ", v.cols)))
}

func (v *vt) control(private bool, params string, final byte) {
	n := 1
	if p, err := strconv.Atoi(strings.Split(params, ";")[0]); err == nil {
		n = p
	}
	if private {
		switch {
		case params == "1049" && final == 'h' && !v.alt:
			v.saved, v.savedXY = v.screen, [2]int{v.x, v.y}
			v.screen, v.alt = v.blank(), true
			v.x, v.y, v.pending = 0, 0, false
		case params == "1049" && final == 'l' && v.alt:
			v.screen, v.alt = v.saved, false
			v.x, v.y, v.pending = v.savedXY[0], v.savedXY[1], false
		}
		return
	}
	switch final {
	case 'K': // erase in line
		from, to := v.x, v.cols
		if params == "2" {
			from = 0
		}
		for i := from; i < to; i++ {
			v.screen[v.y][i] = ' '
		}
	case 'J': // erase below (2: the whole screen)
		if params == "2" {
			v.screen = v.blank()
			return
		}
		for i := v.x; i < v.cols; i++ {
			v.screen[v.y][i] = ' '
		}
		for y := v.y + 1; y < v.rows; y++ {
			v.screen[y] = []rune(strings.Repeat(" ", v.cols))
		}
	case 'H':
		v.x, v.y, v.pending = 0, 0, false
	case 'A':
		v.y, v.pending = max(v.y-n, 0), false
	case 'm':
	}
}

// lines returns the history and the screen, without trailing blanks.
func (v *vt) lines() []string {
	out := append([]string{}, v.history...)
	for _, row := range v.screen {
		out = append(out, strings.TrimRight(string(row), " "))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

// screenLines is what the window shows now.
func (v *vt) screenLines() []string {
	out := make([]string, len(v.screen))
	for i, row := range v.screen {
		out[i] = strings.TrimRight(string(row), " ")
	}
	return out
}

func TestVT(t *testing.T) {
	t.Parallel()
	v := newVT(10, 3)
	v.write("hello\rJ\x1b[K\nabcdefghijk\n")
	if got := v.lines(); strings.Join(got, "|") != "J|abcdefghij|k" || v.wraps != 1 {
		t.Errorf("lines %q, wraps %d", got, v.wraps)
	}
	v.write("\x1b[?1049hframe\x1b[?1049l")
	if got := v.screenLines(); strings.Join(got, "|") != "abcdefghij|k|" || v.alt {
		t.Errorf("after the alternate screen: %q", got)
	}
	v.write("x\ny\n")
	if strings.Join(v.history, "|") != "J|abcdefghij|k" {
		t.Errorf("history %q", v.history)
	}
}

package cli

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	capi "github.com/go-cluster-api/clusterapi"
)

// The widths a user's terminal has: a split tmux pane, the classic 80, a
// wide window.
var testWidths = []int{60, 80, 120}

// barRow matches a progress bar as it stays on the screen.
var barRow = regexp.MustCompile(`^\[[#!-]+\] `)

func countBars(lines []string) int {
	n := 0
	for _, l := range lines {
		if barRow.MatchString(l) {
			n++
		}
	}
	return n
}

// wantFits checks that nothing wrapped and no line is wider than the
// window.
func wantFits(t *testing.T, v *vt, out string) {
	t.Helper()
	if v.wraps > 0 {
		t.Errorf("%d line(s) wrapped at %d columns; screen:\n%s", v.wraps, v.cols, strings.Join(v.lines(), "\n"))
	}
	if v.altScrolls > 0 {
		t.Errorf("the alternate screen scrolled %d time(s): a frame is taller than %d rows", v.altScrolls, v.rows)
	}
	for _, l := range strings.Split(out, "\n") {
		if l = stripControls(l); width(l) > v.cols {
			t.Errorf("a line of %d columns at %d: %q", width(l), v.cols, l)
		}
	}
}

var controls = regexp.MustCompile(`\x1b\[[?0-9;]*[A-Za-z]`)

// stripControls leaves what a run of output shows after its last carriage
// return or cursor motion.
func stripControls(s string) string {
	parts := regexp.MustCompile(`\r|\x1b\[(H|\d*A)`).Split(s, -1)
	return controls.ReplaceAllString(parts[len(parts)-1], "")
}

func TestBarLineFitsEveryWidth(t *testing.T) {
	t.Parallel()
	for cols := 10; cols <= 200; cols++ {
		for _, c := range []capi.Counts{
			{Pending: 300},
			{Done: 12, Failed: 3, Running: 4, Pending: 281},
			{Done: 99999, Failed: 1},
			{Done: 53, Failed: 3, Killed: 244},
		} {
			n := c.Done + c.Failed + c.Running + c.Pending + c.Killed
			for _, color := range []bool{false, true} {
				l := barLine(c, n, 61*time.Minute, cols, color)
				if w := visibleWidth(l); w > cols-echoRoom {
					t.Fatalf("cols %d, counts %+v: %d columns: %q", cols, c, w, l)
				}
				if cols >= 60 && n < 1000 && !strings.HasPrefix(l, "[") {
					t.Errorf("cols %d: no bar: %q", cols, l)
				}
			}
		}
	}
	// Killed elements do not fill the bar.
	l := barLine(capi.Counts{Done: 50, Killed: 250}, 300, time.Second, 80, false)
	if !strings.Contains(l, "-] ") || !strings.Contains(l, " 50/300") || !strings.Contains(l, "kill 250") {
		t.Errorf("cancelled array: %q", l)
	}
}

// TestArrayWaitOneBar runs array --wait on terminals of three widths and
// replays the output: one bar is left on the screen, nothing wrapped.
func TestArrayWaitOneBar(t *testing.T) {
	t.Parallel()
	for _, cols := range testWidths {
		t.Run(fmt.Sprint(cols), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.cols, e.rows = cols, 24
			e.vars = map[string]string{"TERM": "xterm-256color"} // in colour
			r := e.run("array", "--range", "1-120", "--max-concurrent", "4", "--wait", "--work-dir", e.work, "--",
				"sh", "-c", "exit $((CAPI_ARRAY_INDEX % 40 == 0))")
			wantCode(t, r, ExitJobFailed)
			v := newVT(cols, 24)
			v.write(r.out)
			wantFits(t, v, r.out)
			lines := v.lines()
			if n := countBars(lines); n != 1 {
				t.Errorf("%d bars on the screen:\n%s", n, strings.Join(lines, "\n"))
			}
			if !strings.Contains(r.out, "\x1b[31m") {
				t.Errorf("failed elements not in red on a colour terminal")
			}
			want := []string{"120/120", "failed indices: 40,80,120"}
			for _, w := range want {
				if !strings.Contains(strings.Join(lines, "\n"), w) {
					t.Errorf("screen lacks %q:\n%s", w, strings.Join(lines, "\n"))
				}
			}
		})
	}
}

// syncBuffer is a terminal's input: stdout and stderr interleaved, safe to
// read while capi writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Ctrl-C during array --wait: the array is cancelled, capi exits 130 even
// though an element had failed, the killed elements are counted, and the
// screen still holds one bar, not full.
func TestArrayInterruptOneBar(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	term := &syncBuffer{}
	sigs := make(chan os.Signal, 1)
	g := &globals{
		io:           IO{In: strings.NewReader(""), Out: term, ErrOut: term},
		signals:      sigs,
		env:          func(string) string { return "" },
		openConsole:  func() *console { return &console{cols: 80, rows: 24} },
		pollInterval: 50 * time.Millisecond,
	}
	code := make(chan int, 1)
	go func() {
		code <- run([]string{"--config", e.config, "--set", "state_dir=" + e.state, "array", "--range", "1-200",
			"--max-concurrent", "2", "--wait", "--work-dir", e.work, "--",
			"sh", "-c", `[ "$CAPI_ARRAY_INDEX" = 1 ] && exit 1; sleep 0.05`}, g)
	}()
	// Interrupt once a few elements have ended.
	few := regexp.MustCompile(`\] +([5-9]|\d\d+)/200`)
	deadline := time.Now().Add(30 * time.Second)
	for !few.MatchString(term.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no progress: %q", term.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	sigs <- os.Interrupt
	if c := <-code; c != ExitKilled {
		t.Errorf("exit %d after Ctrl-C, want 130", c)
	}
	out := term.String()
	v := newVT(80, 24)
	v.write(out)
	wantFits(t, v, out)
	lines := v.lines()
	screen := strings.Join(lines, "\n")
	if n := countBars(lines); n != 1 {
		t.Errorf("%d bars on the screen:\n%s", n, screen)
	}
	for _, w := range []string{"capi: interrupted, cancelling array", "killed", "failed indices: 1", "killed indices: "} {
		if !strings.Contains(screen, w) {
			t.Errorf("screen lacks %q:\n%s", w, screen)
		}
	}
	for _, l := range lines {
		if barRow.MatchString(l) && !strings.Contains(l, "-]") {
			t.Errorf("the bar of a cancelled array is full: %q", l)
		}
	}
}

// TestStatusTableFits: a few short-named jobs fit 80 columns with every
// column; at 60 the table still fits, at the cost of NAME's length and
// then of AGE.
func TestStatusTableFits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ids []string
	for i := 1; i <= 3; i++ {
		ids = append(ids, e.submit("--name", fmt.Sprintf("align-sample-%02d", i), "--", "true"))
	}
	ids = append(ids, e.submit("--", "sh", "-c", "exit 3"))
	r := e.run("array", "--range", "1-300", "--max-concurrent", "8", "--work-dir", e.work, "--", "true")
	wantCode(t, r, ExitOK)
	ids = append(ids, strings.TrimSpace(r.out))
	wantCode(t, e.run(append([]string{"wait"}, ids...)...), ExitJobFailed)

	for _, cols := range testWidths {
		e := *e
		e.cols, e.rows = cols, 24
		r := e.run("status")
		wantCode(t, r, ExitOK)
		v := newVT(cols, 24)
		v.write(r.out)
		wantFits(t, v, r.out)
		lines := v.lines()
		if len(lines) != len(ids)+1 {
			t.Errorf("%d: %d lines:\n%s", cols, len(lines), r.out)
		}
		if cols >= 80 {
			for _, w := range []string{"AGE", "ELAPSED", "align-sample-01", "300/300"} {
				if !strings.Contains(r.out, w) {
					t.Errorf("%d columns: table lacks %q:\n%s", cols, w, r.out)
				}
			}
		}
	}
	// -o wide is asked for whole, times included, even in a narrow window.
	e.cols, e.rows = 80, 24
	r = e.run("status", "-o", "wide")
	if !strings.Contains(r.out, "FINISHED") || !strings.Contains(r.out, time.Now().Format("2006-01-02 ")) {
		t.Errorf("status -o wide at 80 columns:\n%s", r.out)
	}
}

func TestTableFitsWithLongNames(t *testing.T) {
	t.Parallel()
	now := time.Now()
	recs := syntheticRecords(now, 40)
	for _, cols := range []int{40, 60, 80, 120} {
		tb := &table{cols: defaultColumns, max: cols, now: now, color: true}
		header, lines := tb.render(recs)
		for _, l := range append([]string{header}, lines...) {
			if w := visibleWidth(l); w > cols {
				t.Errorf("%d columns: a line of %d: %q", cols, w, l)
			}
		}
	}
	// Without a terminal nothing is cut.
	tb := &table{cols: defaultColumns, now: now}
	_, lines := tb.render(recs)
	if !strings.Contains(strings.Join(lines, "\n"), recs[1].Name) {
		t.Errorf("a name was cut in a pipe")
	}
}

// syntheticRecords is n jobs of every kind: long and short names, arrays
// of different sizes, every status.
func syntheticRecords(now time.Time, n int) []capi.Record {
	statuses := []capi.Status{capi.Running, capi.Pending, capi.Done, capi.Failed, capi.Killed}
	var recs []capi.Record
	for i := range n {
		r := capi.Record{
			ID:         fmt.Sprint(4000000 + i),
			Name:       fmt.Sprintf("job-%d", i),
			Status:     statuses[i%len(statuses)],
			SubmitTime: now.Add(-time.Duration(i) * time.Hour),
			StartTime:  now.Add(-time.Duration(i) * time.Minute),
			ExecHost:   "node-a17.cluster.example.org",
		}
		if i%3 == 1 {
			r.Name = "myproject-align-sample-with-a-rather-long-name-" + fmt.Sprint(i)
		}
		if r.Status.Terminal() {
			code := i % 4
			r.ExitCode, r.FinishTime, r.Reason = &code, now, capi.ReasonOutOfMemory
		}
		if i%4 == 0 {
			size := []int{3, 300, 10000}[i%3]
			r.Array = &capi.ArrayRecord{First: 1, Last: size, Elements: make([]capi.Element, size),
				Counts: capi.Counts{Done: size / 3, Failed: size / 10, Running: 2}}
		}
		recs = append(recs, r)
	}
	return recs
}

// TestWatchFrameFits lays out watch frames for 40 jobs in windows too
// small for them: the title and header stay, the rest fits, "+N more"
// says what does not, and columns stay put as counts grow.
func TestWatchFrameFits(t *testing.T) {
	t.Parallel()
	now := time.Now()
	recs := syntheticRecords(now, 40)
	for _, cols := range testWidths {
		for _, rows := range []int{10, 24} {
			v := &screenView{con: &console{cols: cols, rows: rows}, cols: defaultColumns, start: now, floor: map[string]int{}}
			frame := v.frame(recs, now)
			if len(frame) > rows {
				t.Errorf("%dx%d: %d lines", cols, rows, len(frame))
			}
			for _, l := range frame {
				if w := visibleWidth(l); w >= cols {
					t.Errorf("%dx%d: a line of %d: %q", cols, rows, w, l)
				}
			}
			if !strings.HasPrefix(frame[0], "capi watch") || !strings.HasPrefix(frame[1], "ID ") ||
				!strings.HasPrefix(frame[len(frame)-1], "+") {
				t.Errorf("%dx%d: frame:\n%s", cols, rows, strings.Join(frame, "\n"))
			}
			// Unfinished jobs first.
			if strings.Contains(frame[2], "done") || strings.Contains(frame[2], "failed") {
				t.Errorf("%dx%d: an ended job shown first:\n%s", cols, rows, strings.Join(frame, "\n"))
			}
			// Counts grow: the header does not move.
			grown := append([]capi.Record{}, recs...)
			for i := range grown {
				if a := grown[i].Array; a != nil {
					c := *a
					c.Counts.Done = len(a.Elements) - 1
					grown[i].Array = &c
				}
			}
			if again := v.frame(grown, now.Add(time.Hour)); again[1] != frame[1] {
				t.Errorf("%dx%d: header moved:\n%s\n%s", cols, rows, frame[1], again[1])
			}
		}
	}
}

// TestWatchOnTerminal replays a whole watch: frames on the alternate
// screen never scroll or wrap, nothing of them reaches the history, and the
// final table is left on the main screen.
func TestWatchOnTerminal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.writeConfig("local_slots: 4\n")
	var ids []string
	for i := range 12 {
		ids = append(ids, e.submit("--name", fmt.Sprintf("step-%d", i), "--", "sleep", "0.2"))
	}
	e.cols, e.rows = 80, 8
	r := e.run(append([]string{"watch", "--interval", "50ms"}, ids...)...)
	wantCode(t, r, ExitOK)
	v := newVT(80, 8)
	v.write(r.out)
	wantFits(t, v, r.out)
	if strings.Contains(r.out, "\x1b[2J") {
		t.Errorf("watch clears the screen (each clear is a copy in tmux's history)")
	}
	if v.alt {
		t.Errorf("watch left the alternate screen on")
	}
	lines := v.lines()
	if len(lines) != 14 || !strings.HasPrefix(lines[0], "ID ") || lines[13] != "12 of 12 ended after "+strings.TrimPrefix(lines[13], "12 of 12 ended after ") {
		t.Errorf("after watch:\n%s", strings.Join(lines, "\n"))
	}
}

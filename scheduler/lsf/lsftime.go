package lsf

import "time"

// yearSkew is how far in the future a year-less time may lie before it is
// taken to be from last year. A little slack keeps a job submitted "now" on
// a master whose clock runs ahead from being dated a year back.
const yearSkew = 24 * time.Hour

// parseTime reads the time stamps LSF prints (local time, English month,
// no time zone):
//
//	"Dec 28 19:56"             bjobs, the most common form
//	"Jan  7 09:59 L"           day padded to two columns; a trailing flag letter (L, E, X)
//	"Feb 21 00:02 2019"        year after the clock
//	"Apr 12 18:10:00 2026"     with seconds
//	"Thu Apr 18 10:00:40"      bhist -l, with a weekday (ignored)
//	"03/31-14:46:42"           bjobs -W
//	"2024/03/31-14:46:42"      with a year
//
// Without a year, the year is now's, or the one before when that would put
// the time in the future. It is hand-written because a 100k-job poll parses
// 300k of these and time.Parse would dominate the poll.
func parseTime(s string, now time.Time) (time.Time, bool) {
	p := scanner{s: s}
	p.skipSpaces()
	p.trimRight()
	if n := len(p.s); n >= 2 && p.s[n-2] == ' ' && p.s[n-1] >= 'A' && p.s[n-1] <= 'Z' {
		p.s = p.s[:n-2]
		p.trimRight()
	}
	if p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		return parseNumericTime(&p, now)
	}
	if len(p.s)-p.i > 4 && p.s[p.i+3] == ' ' && weekday(p.s[p.i:p.i+3]) {
		p.i += 4
		p.skipSpaces()
	}
	if len(p.s)-p.i < 3 {
		return time.Time{}, false
	}
	month := monthOf(p.s[p.i : p.i+3])
	if month == 0 {
		return time.Time{}, false
	}
	p.i += 3
	if !p.skipSpaces() {
		return time.Time{}, false
	}
	day, ok := p.number(1, 2)
	if !ok || !p.skipSpaces() {
		return time.Time{}, false
	}
	hour, min, sec, ok := p.clock()
	if !ok {
		return time.Time{}, false
	}
	year := -1
	if p.i < len(p.s) {
		if !p.skipSpaces() {
			return time.Time{}, false
		}
		if year, ok = p.number(4, 4); !ok {
			return time.Time{}, false
		}
	}
	if p.i != len(p.s) {
		return time.Time{}, false
	}
	return build(year, month, day, hour, min, sec, now)
}

// parseNumericTime reads "MM/DD-HH:MM:SS" and "YYYY/MM/DD-HH:MM:SS".
func parseNumericTime(p *scanner, now time.Time) (time.Time, bool) {
	a, ok := p.number(1, 4)
	if !ok || !p.byte('/') {
		return time.Time{}, false
	}
	b, ok := p.number(1, 2)
	if !ok {
		return time.Time{}, false
	}
	year, month, day := -1, a, b
	if p.byte('/') {
		c, ok := p.number(1, 2)
		if !ok {
			return time.Time{}, false
		}
		year, month, day = a, b, c
	}
	if !p.byte('-') {
		return time.Time{}, false
	}
	hour, min, sec, ok := p.clock()
	if !ok || p.i != len(p.s) || month < 1 || month > 12 {
		return time.Time{}, false
	}
	return build(year, time.Month(month), day, hour, min, sec, now)
}

func build(year int, month time.Month, day, hour, min, sec int, now time.Time) (time.Time, bool) {
	if day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59 {
		return time.Time{}, false
	}
	loc := now.Location()
	if year >= 0 {
		t := time.Date(year, month, day, hour, min, sec, 0, loc)
		if t.Day() != day {
			return time.Time{}, false
		}
		return t, true
	}
	// Feb 29 without a year belongs to the latest leap year that is not in
	// the future, hence the search over a few years.
	for y := now.Year(); y > now.Year()-9; y-- {
		t := time.Date(y, month, day, hour, min, sec, 0, loc)
		if t.Day() != day || t.After(now.Add(yearSkew)) {
			continue
		}
		return t, true
	}
	return time.Time{}, false
}

type scanner struct {
	s string
	i int
}

// skipSpaces skips blanks and reports whether there was at least one.
func (p *scanner) skipSpaces() bool {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
	return p.i > start
}

func (p *scanner) trimRight() {
	for len(p.s) > p.i && p.s[len(p.s)-1] == ' ' {
		p.s = p.s[:len(p.s)-1]
	}
}

func (p *scanner) byte(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// number reads between min and max decimal digits.
func (p *scanner) number(min, max int) (int, bool) {
	n, start := 0, p.i
	for p.i < len(p.s) && p.i-start < max && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		n = n*10 + int(p.s[p.i]-'0')
		p.i++
	}
	if p.i-start < min || (p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9') {
		return 0, false
	}
	return n, true
}

// clock reads H:MM or H:MM:SS.
func (p *scanner) clock() (hour, min, sec int, ok bool) {
	if hour, ok = p.number(1, 2); !ok || !p.byte(':') {
		return 0, 0, 0, false
	}
	if min, ok = p.number(2, 2); !ok {
		return 0, 0, 0, false
	}
	if p.byte(':') {
		if sec, ok = p.number(2, 2); !ok {
			return 0, 0, 0, false
		}
	}
	return hour, min, sec, true
}

func monthOf(s string) time.Month {
	switch s {
	case "Jan":
		return time.January
	case "Feb":
		return time.February
	case "Mar":
		return time.March
	case "Apr":
		return time.April
	case "May":
		return time.May
	case "Jun":
		return time.June
	case "Jul":
		return time.July
	case "Aug":
		return time.August
	case "Sep":
		return time.September
	case "Oct":
		return time.October
	case "Nov":
		return time.November
	case "Dec":
		return time.December
	}
	return 0
}

func weekday(s string) bool {
	switch s {
	case "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun":
		return true
	}
	return false
}

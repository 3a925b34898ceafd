package main

import (
	"errors"
	"strconv"
	"strings"
)

// splitDirective tokenizes the text after "#BSUB": words separated by
// blanks, a pair of double or single quotes groups (quotes removed, no
// escapes), and an unquoted '#' starts a comment ("#BSUB -q short # queue").
func splitDirective(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case r == '#':
			if inWord {
				words = append(words, cur.String())
			}
			return words, nil
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, errors.New("unmatched quote")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// valueOptions are the bsub options that take a value (a subset of LSF's).
var valueOptions = map[string]bool{
	"J": true, "o": true, "oo": true, "e": true, "eo": true, "q": true, "cwd": true,
	"n": true, "R": true, "M": true, "W": true, "gpu": true, "P": true, "G": true,
	"env": true, "app": true, "m": true, "w": true, "E": true, "Ep": true, "sla": true,
	"u": true, "L": true, "C": true, "c": true, "D": true, "F": true, "S": true, "We": true,
}

// flagOptions take no value.
var flagOptions = map[string]bool{"x": true, "N": true, "B": true, "r": true, "rn": true, "H": true}

// errIllegalOption carries the getopt-style letter for the message.
type errIllegalOption string

func (e errIllegalOption) Error() string { return "illegal option -- " + string(e) }

// parseOptions reads bsub options into opts; later values win, and keys
// already in fixed are not overwritten (the command line beats #BSUB).
func parseOptions(args []string, opts map[string]string, fixed map[string]bool) error {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			return errIllegalOption(a)
		}
		name := a[1:]
		switch {
		case valueOptions[name]:
			if i+1 >= len(args) {
				return errIllegalOption(name)
			}
			i++
			if !fixed[name] {
				opts[name] = args[i]
			}
		case flagOptions[name]:
			if !fixed[name] {
				opts[name] = "1"
			}
		default:
			return errIllegalOption(strings.TrimPrefix(name, "-"))
		}
	}
	return nil
}

// parseJobName reads -J: "name", or "name[spec]%limit" where spec is a
// comma-separated list of start[-end[:step]].
func parseJobName(spec string) (name string, indices []int, limit int, err error) {
	open := strings.IndexByte(spec, '[')
	if open < 0 {
		if strings.ContainsAny(spec, "]%") {
			return "", nil, 0, errors.New("bad job name")
		}
		return spec, nil, 0, nil
	}
	close := strings.IndexByte(spec, ']')
	if close < open || open == 0 {
		return "", nil, 0, errors.New("bad job name")
	}
	name = spec[:open]
	rest := spec[close+1:]
	if rest != "" {
		if !strings.HasPrefix(rest, "%") {
			return "", nil, 0, errors.New("bad job name")
		}
		limit, err = strconv.Atoi(rest[1:])
		if err != nil || limit < 1 {
			return "", nil, 0, errors.New("bad job slot limit")
		}
	}
	seen := map[int]bool{}
	for _, part := range strings.Split(spec[open+1:close], ",") {
		lo, hi, step := part, part, "1"
		if a, b, ok := strings.Cut(part, "-"); ok {
			lo, hi = a, b
			if h, s, ok := strings.Cut(b, ":"); ok {
				hi, step = h, s
			}
		}
		l, err1 := strconv.Atoi(lo)
		h, err2 := strconv.Atoi(hi)
		st, err3 := strconv.Atoi(step)
		if err1 != nil || err2 != nil || err3 != nil || l < 1 || h < l || st < 1 || h-l > 100000 {
			return "", nil, 0, errors.New("bad job array index list")
		}
		for i := l; i <= h; i += st {
			if !seen[i] {
				seen[i] = true
				indices = append(indices, i)
			}
		}
	}
	return name, indices, limit, nil
}

// parseRunLimit reads -W "[hour:]minute".
func parseRunLimit(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok {
		return strconv.Atoi(s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 {
		return 0, errors.New("bad run limit")
	}
	return hh*60 + mm, nil
}

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

func bjobs(args []string) int {
	// A hung mbatchd: the command answers late, or never before the
	// caller's timeout kills it.
	time.Sleep(settingSeconds("FAKELSF_BJOBS_HANG"))
	var (
		all, asJSON, noHeader bool
		fields, namePattern   string
		ids                   []string
	)
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "-a":
			all = true
		case "-json":
			asJSON = true
		case "-noheader":
			noHeader = true
		case "-w", "-W", "-hms":
		case "-o", "-u", "-J", "-q":
			if i+1 >= len(args) {
				fmt.Fprintf(os.Stderr, "bjobs: option requires an argument -- %s\n", a[1:])
				return 255
			}
			i++
			switch a {
			case "-o":
				fields = args[i]
			case "-J":
				namePattern = args[i]
			}
		default:
			if strings.HasPrefix(a, "-") {
				fmt.Fprintf(os.Stderr, "bjobs: illegal option -- %s\n", strings.TrimPrefix(a, "-"))
				return 255
			}
			ids = append(ids, a)
		}
	}
	if asJSON && fields == "" {
		fmt.Fprintln(os.Stderr, "bjobs: You cannot use the -json option when the -o option is not specified or the LSB_BJOBS_FORMAT parameter is not defined.")
		return 255
	}
	if fields == "" {
		fields = "jobid user stat queue exec_host job_name submit_time"
	}
	var names []string
	for _, f := range strings.Fields(fields) {
		f, _, _ = strings.Cut(strings.ToLower(f), ":")
		if f == "delimiter='^'" || strings.HasPrefix(f, "delimiter=") {
			continue
		}
		if _, ok := fieldValue(f, &Job{}, &Element{}, time.Time{}); !ok {
			fmt.Fprintf(os.Stderr, "%s: Illegal field name.\n", f)
			return 255
		}
		names = append(names, f)
	}

	// now is read under the state lock: read before it, a job that another
	// process finishes while this one waits for the lock would have a finish
	// time after now, look younger than it is, and stay visible past its
	// clean period (the flaky "aged out" test).
	var now time.Time
	clean := time.Duration(settingInt("FAKELSF_CLEAN_PERIOD", 3600)) * time.Second
	visible := func(e *Element) bool { return !e.finished() || now.Sub(e.Finish) < clean }

	type row struct {
		j *Job
		e *Element
	}
	var rows []row
	var missing []string
	err := update(func(s *State) (bool, error) {
		now = time.Now()
		if len(ids) > 0 {
			for _, id := range ids {
				j, idx, ok := lookup(s, id)
				found := false
				if ok {
					for _, e := range j.Elements {
						if (idx < 0 || e.Index == idx) && visible(e) {
							rows = append(rows, row{j, e})
							found = true
						}
					}
				}
				if !found {
					missing = append(missing, id)
				}
			}
			return false, nil
		}
		for _, j := range s.Jobs {
			if namePattern != "" && !matchName(namePattern, j.Name) {
				continue
			}
			for _, e := range j.Elements {
				if visible(e) && (all || !e.finished()) {
					rows = append(rows, row{j, e})
				}
			}
		}
		return false, nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "bjobs: fakelsf state: %v\n", err)
		return 255
	}
	for _, id := range missing {
		fmt.Fprintf(os.Stderr, "Job <%s> is not found\n", id)
	}
	if len(rows) == 0 {
		switch {
		case len(ids) > 0:
			// ert: a single unknown id prints the message and exits 0.
			return 0
		case namePattern != "":
			fmt.Fprintln(os.Stderr, "No matching job found")
		case all:
			fmt.Fprintln(os.Stderr, "No job found")
		default:
			fmt.Fprintln(os.Stderr, "No unfinished job found")
		}
		return 255
	}
	var b strings.Builder
	if asJSON {
		b.WriteString("{\n  \"COMMAND\":\"bjobs\",\n  \"JOBS\":" + strconv.Itoa(len(rows)) + ",\n  \"RECORDS\":[\n")
		for i, r := range rows {
			b.WriteString("    {\n")
			for k, f := range names {
				v, _ := fieldValue(f, r.j, r.e, now)
				b.WriteString("      \"" + strings.ToUpper(f) + "\":" + jsonString(v))
				if k < len(names)-1 {
					b.WriteByte(',')
				}
				b.WriteByte('\n')
			}
			b.WriteString("    }")
			if i < len(rows)-1 {
				b.WriteByte(',')
			}
			b.WriteByte('\n')
		}
		b.WriteString("  ]\n}\n")
	} else {
		if !noHeader {
			for k, f := range names {
				if k > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(strings.ToUpper(f))
			}
			b.WriteByte('\n')
		}
		for _, r := range rows {
			for k, f := range names {
				v, _ := fieldValue(f, r.j, r.e, now)
				if v == "" {
					v = "-"
				}
				if k > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(v)
			}
			b.WriteByte('\n')
		}
	}
	// A late answer: it says how things were when bjobs read them.
	time.Sleep(settingSeconds("FAKELSF_BJOBS_SLOW"))
	out := b.String()
	if n := settingInt("FAKELSF_BJOBS_TRUNCATE", -1); n >= 0 && n < len(out) {
		// A reply cut short (a broken connection, a wrapper's pipe):
		// what arrived, with the exit status of a whole one.
		out = out[:n]
	}
	os.Stdout.WriteString(out)
	if len(missing) > 0 {
		// ert: some found and some not found exits 255.
		return 255
	}
	return 0
}

// lookup finds "123" (idx -1: every element) or "123[4]".
func lookup(s *State, id string) (*Job, int, bool) {
	idx := -1
	if open := strings.IndexByte(id, '['); open > 0 && strings.HasSuffix(id, "]") {
		n, err := strconv.Atoi(id[open+1 : len(id)-1])
		if err != nil {
			return nil, 0, false
		}
		idx, id = n, id[:open]
	}
	n, err := strconv.Atoi(id)
	if err != nil {
		return nil, 0, false
	}
	j := s.job(n)
	return j, idx, j != nil
}

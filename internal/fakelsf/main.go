package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "__run" {
		os.Exit(supervise(os.Args[2]))
	}
	name := filepath.Base(os.Args[0])
	args := os.Args[1:]
	// "fakelsf bjobs ..." works as well as a link named bjobs.
	if name == "fakelsf" && len(args) > 0 {
		name, args = args[0], args[1:]
	}
	name = strings.TrimSuffix(name, ".exe")
	logCall(name, args)
	if down(name) {
		os.Exit(mbatchdDown())
	}
	var code int
	switch name {
	case "bsub":
		code = bsub(args)
	case "bjobs":
		code = bjobs(args)
	case "bkill":
		code = bkill(args)
	case "bhist":
		code = bhist(args)
	default:
		fmt.Fprintf(os.Stderr, "fakelsf: called as %q; link it as bsub, bjobs, bkill or bhist\n", name)
		code = 2
	}
	os.Exit(code)
}

// logCall appends "name args..." to $FAKELSF_CALL_LOG, when set: how tests
// count the status commands capi runs. One write(2) of one line with
// O_APPEND, so that concurrent commands do not interleave.
func logCall(name string, args []string) {
	path := setting("FAKELSF_CALL_LOG")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	f.WriteString(strings.Join(append([]string{name}, args...), " ") + "\n")
}

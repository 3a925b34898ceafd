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
	var code int
	switch strings.TrimSuffix(name, ".exe") {
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

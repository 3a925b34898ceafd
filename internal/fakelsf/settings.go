package main

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// settingsFile is the file in $FAKELSF_DIR whose KEY=VALUE lines override
// the environment's FAKELSF_* settings. It is read at every call: the
// processes that run LSF commands (capi, the job supervisors) keep the
// environment they started with, so a fault that starts and stops during a
// test is switched there.
const settingsFile = "settings"

// setting returns the FAKELSF_* setting name: its line in the settings
// file when there is one (an empty value there means the default, whatever
// the environment says), else the environment's value.
func setting(name string) string {
	if v, ok := fileSetting(name); ok {
		return v
	}
	return os.Getenv(name)
}

func fileSetting(name string) (string, bool) {
	dir := os.Getenv("FAKELSF_DIR")
	if dir == "" {
		return "", false
	}
	b, err := os.ReadFile(filepath.Join(dir, settingsFile))
	if err != nil {
		return "", false
	}
	found, value := false, ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") && strings.TrimSpace(k) == name {
			found, value = true, strings.TrimSpace(v) // the last line wins, as in a shell
		}
	}
	return value, found
}

func settingOr(name, def string) string {
	if v := setting(name); v != "" {
		return v
	}
	return def
}

func settingInt(name string, def int) int {
	n, err := strconv.Atoi(setting(name))
	if err != nil {
		return def
	}
	return n
}

// settingSeconds reads a number of seconds, fractions allowed ("0.5"), or
// a range "MIN-MAX" ("0.1-0.9"), which draws a duration from it at random
// at every call; anything else is 0.
func settingSeconds(name string) time.Duration {
	v := setting(name)
	lo, hi, isRange := strings.Cut(v, "-")
	if !isRange {
		hi = lo
	}
	a, err1 := strconv.ParseFloat(lo, 64)
	b, err2 := strconv.ParseFloat(hi, 64)
	if err1 != nil || err2 != nil || a < 0 || b < a {
		return 0
	}
	return time.Duration((a + rand.Float64()*(b-a)) * float64(time.Second))
}

// down reports whether FAKELSF_DOWN takes command down: "all" (or "1")
// means every command, else a comma-separated list of command names.
func down(command string) bool {
	v := setting("FAKELSF_DOWN")
	if v == "all" || v == "1" {
		return true
	}
	return slices.ContainsFunc(strings.Split(v, ","), func(c string) bool { return strings.TrimSpace(c) == command })
}

// mbatchdDown is what an LSF command prints when mbatchd cannot be
// reached and its retries (LSB_NTRIES) are used up: it did nothing.
func mbatchdDown() int {
	fmt.Fprintln(os.Stderr, "LSF is down. Please wait ...")
	return 255
}

package clusterapi

// MatchName reports whether a job name matches pattern, the one pattern
// syntax of capi (cancel --name, status --name, List, the job store): '*'
// matches any run of characters and every other character only itself, so
// names with brackets or '?' need no escaping. An empty pattern matches only
// an empty name.
func MatchName(pattern, name string) bool {
	// Greedy matching with backtracking to the last '*': linear in
	// practice, and never exponential.
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(name) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, n
			p++
		case p < len(pattern) && pattern[p] == name[n]:
			p++
			n++
		case star >= 0:
			p = star + 1
			mark++
			n = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

package clusterapi

import "testing"

func TestMatchName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pattern, name string
		want          bool
	}{
		{"myapp-*", "myapp-align", true},
		{"myapp-*", "other-align", false},
		{"*align*", "myapp-align.3", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"job[1]", "job[1]", true}, // brackets are literal
		{"job[1]", "job1", false},
		{"job?", "job?", true}, // so is '?'
		{"job?", "jobs", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"*", "anything", true},
		{"", "", true},
		{"", "something", false}, // an empty pattern selects nothing, never everything
	}
	for _, c := range cases {
		if got := MatchName(c.pattern, c.name); got != c.want {
			t.Errorf("MatchName(%q, %q) = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
}

func FuzzMatchName(f *testing.F) {
	f.Add("a*b", "axb")
	f.Add("**", "")
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if !MatchName(name, name) && !containsStar(name) {
			t.Fatalf("a name without '*' must match itself: %q", name)
		}
		if !MatchName("*", name) {
			t.Fatalf("* must match %q", name)
		}
	})
}

func containsStar(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '*' {
			return true
		}
	}
	return false
}

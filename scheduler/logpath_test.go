package scheduler

import "testing"

// LogPath is the one expansion of log paths: job id placeholders (the
// array's first, for SLURM's %A), then the index; an empty id or a
// negative index leaves its placeholder for a later expansion.
func TestLogPath(t *testing.T) {
	t.Parallel()
	slurm := Dialect{LogJobID: "%j", LogArrayJobID: "%A", LogIndex: "%a"}
	lsf := Dialect{LogJobID: "%J", LogIndex: "%I"}
	local := Dialect{LogJobID: "{job_id}", LogIndex: "{index}"}
	cases := []struct {
		d     Dialect
		path  string
		id    string
		index int
		want  string
	}{
		{slurm, "/w/out.%A.%a.log", "77", 3, "/w/out.77.3.log"},
		{slurm, "/w/out.%j.log", "77", -1, "/w/out.77.log"},
		{slurm, "/w/out.%A.%a.log", "77", -1, "/w/out.77.%a.log"},
		{lsf, "/w/out.%J.%I.log", "", 2, "/w/out.%J.2.log"},
		{local, "/w/stdout.{job_id}.{index}.log", "5", 0, "/w/stdout.5.0.log"},
		{local, "/w/plain.log", "5", 1, "/w/plain.log"},
		{Dialect{}, "/w/out.%J.log", "5", 1, "/w/out.%J.log"},
	}
	for _, c := range cases {
		if got := c.d.LogPath(c.path, c.id, c.index); got != c.want {
			t.Errorf("LogPath(%q, %q, %d) = %q, want %q", c.path, c.id, c.index, got, c.want)
		}
	}
}

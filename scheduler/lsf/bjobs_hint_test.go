package lsf

import "testing"

func TestRecordsHint(t *testing.T) {
	t.Parallel()
	big := make([]byte, 64*100)
	copy(big, `{"COMMAND":"bjobs","JOBS":100,"RECORDS":[`)
	for _, c := range []struct {
		doc  string
		want int
	}{
		{string(big), 100},
		{`{"COMMAND":"bjobs","JOBS":3,"RECORDS":[]}`, 0},              // bounded by the size
		{`{"COMMAND":"bjobs","JOBS":99999999999999999999999,"R"}`, 0}, // absurd
		{`{"COMMAND":"bjobs","RECORDS":[]}`, 0},
		{`{"JOBS":"x"}`, 0},
		{``, 0},
	} {
		if got := recordsHint([]byte(c.doc)); got != c.want {
			t.Errorf("recordsHint(%.40q) = %d, want %d", c.doc, got, c.want)
		}
	}
}

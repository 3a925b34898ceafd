package lsf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// bigBJobs is a bjobs -json document of n records in the real layout,
// every fifth an array element.
func bigBJobs(n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "{\n  \"COMMAND\":\"bjobs\",\n  \"JOBS\":%d,\n  \"RECORDS\":[\n", n)
	stats := []string{"RUN", "PEND", "DONE", "EXIT", "RUN"}
	for i := range n {
		idx := "0"
		if i%5 == 4 {
			idx = fmt.Sprint(i%100 + 1)
		}
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `    {
      "JOBID":"%d",
      "JOBINDEX":"%s",
      "STAT":"%s",
      "JOB_NAME":"capi-job-%d",
      "EXIT_CODE":"%s",
      "EXIT_REASON":"",
      "EXEC_HOST":"c%03d",
      "SUBMIT_TIME":"Mar  %d 10:%02d",
      "START_TIME":"Mar  %d 10:%02d",
      "FINISH_TIME":"Mar  %d 11:%02d L",
      "MAX_MEM":"%d Mbytes",
      "PEND_REASON":""
    }`, 100000+i, idx, stats[i%5], i, map[bool]string{true: "1", false: ""}[i%5 == 3], i%500, i%9+1, i%60, i%9+1, i%60, i%9+1, i%60, i%4000)
	}
	b.WriteString("\n  ]\n}\n")
	return b.Bytes()
}

// BenchmarkParseBJobs100k measures a 100k-job poll; compare with
// BenchmarkDecodeBJobs100k, the bare decode of the same document.
func BenchmarkParseBJobs100k(b *testing.B) {
	doc := bigBJobs(100000)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		obs, _, err := parseBJobs(doc, nil, testNow)
		if err != nil || len(obs) != 100000 {
			b.Fatal(err, len(obs))
		}
	}
}

func BenchmarkDecodeBJobs100k(b *testing.B) {
	doc := bigBJobs(100000)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		var d bjobsDoc
		if err := json.Unmarshal(doc, &d); err != nil {
			b.Fatal(err)
		}
	}
}

package sge

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"testing"
	"time"
)

// qstatDoc builds a qstat -xml document in the shape of testdata/qstat
// (SYNTHETIC, for benchmarks): n jobs, a tenth of them running arrays with a
// pending range of 10 tasks.
func qstatDoc(n int) []byte {
	var run, pend bytes.Buffer
	for i := range n {
		id := 1000 + i
		if i%2 == 0 {
			fmt.Fprintf(&run, "    <job_list state=\"running\">\n      <JB_job_number>%d</JB_job_number>\n      <JAT_prio>0.50000</JAT_prio>\n      <JB_name>capi-job-%d</JB_name>\n      <JB_owner>alice</JB_owner>\n      <state>r</state>\n      <JAT_start_time>2026-11-24T22:23:03</JAT_start_time>\n      <queue_name>all.q@node%d</queue_name>\n      <slots>1</slots>\n    </job_list>\n", id, id, i%100)
			continue
		}
		tasks := ""
		if i%10 == 1 {
			tasks = "      <tasks>1-10:1</tasks>\n"
		}
		fmt.Fprintf(&pend, "    <job_list state=\"pending\">\n      <JB_job_number>%d</JB_job_number>\n      <JAT_prio>0.50000</JAT_prio>\n      <JB_name>capi-job-%d</JB_name>\n      <JB_owner>alice</JB_owner>\n      <state>qw</state>\n      <JB_submission_time>2026-11-24T22:23:03</JB_submission_time>\n      <queue_name></queue_name>\n      <slots>1</slots>\n%s    </job_list>\n", id, id, tasks)
	}
	return []byte("<?xml version='1.0'?>\n<job_info  xmlns:xsd=\"x\">\n  <queue_info>\n" + run.String() + "  </queue_info>\n  <job_info>\n" + pend.String() + "  </job_info>\n</job_info>\n")
}

func BenchmarkParseQstat(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		doc := qstatDoc(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := parseQstat(doc, "capi-", time.UTC); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeQstatFloor is the bare cost of tokenizing the same
// document with encoding/xml, the floor parseQstat is compared with.
func BenchmarkDecodeQstatFloor(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		doc := qstatDoc(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				dec := xml.NewDecoder(bytes.NewReader(doc))
				for {
					if _, err := dec.RawToken(); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

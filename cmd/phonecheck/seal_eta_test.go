package main

import (
	"bytes"
	"regexp"
	"testing"
	"time"
)

// TestSealETALines: without a progress bar, a long seal says every so
// often how far it is, how fast, and how long is left.
func TestSealETALines(t *testing.T) {
	var buf bytes.Buffer
	old := stderr
	stderr = &buf
	defer func() { stderr = old }()
	t0 := time.Now()
	e := &etaLines{every: time.Minute, start: t0}
	e.line(t0.Add(100*time.Second), 0, 1000)   // the first report, 100 s after the start
	e.line(t0.Add(160*time.Second), 300, 1000) // 300 keys in the 60 s since: 5 keys/s, 140 s left
	e.line(t0.Add(170*time.Second), 350, 1000) // too soon after the last line
	// The rate counts from the first report: counted from start it would
	// be 1.9 keys/s, and the time left 6m8s.
	want := regexp.MustCompile(`^phonecheck: sealing: 30\.0% \(300 of 1000 keys\) in 2m40s, 5 keys/s, about 2m20s left\n$`)
	if !want.MatchString(buf.String()) {
		t.Errorf("progress lines %q", buf.String())
	}
	buf.Reset()
	(&etaLines{quiet: true, every: time.Minute, start: time.Now().Add(-time.Hour)}).set(1, 2)
	if buf.Len() != 0 {
		t.Errorf("quiet: %q", buf.String())
	}
}

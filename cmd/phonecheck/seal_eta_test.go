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
	e := &etaLines{every: time.Minute, start: time.Now().Add(-2 * time.Minute)}
	e.set(250, 1000) // a quarter in two minutes: six minutes left
	e.set(300, 1000) // too soon after the last line
	want := regexp.MustCompile(`^phonecheck: sealing: 25\.0% \(250 of 1000 keys\) in 2m0s, 2 keys/s, about 6m0s left\n$`)
	if !want.MatchString(buf.String()) {
		t.Errorf("progress lines %q", buf.String())
	}
	buf.Reset()
	(&etaLines{quiet: true, every: time.Minute, start: time.Now().Add(-time.Hour)}).set(1, 2)
	if buf.Len() != 0 {
		t.Errorf("quiet: %q", buf.String())
	}
}

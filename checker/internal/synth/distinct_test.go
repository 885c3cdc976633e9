package synth

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/phonecheck/phonecheck/checker/phone"
)

func TestGenerateDistinct(t *testing.T) {
	const n = 300_000
	mix := map[string]float64{"EG": 45, "US": 32, "MY": 12, "SG": 3, "HK": 2.9}
	gen := func(seed int64, workers int) ([]byte, Stats) {
		var buf bytes.Buffer
		st, err := GenerateDistinct(context.Background(), &buf, DistinctOptions{Seed: seed, N: n, Mix: mix, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		return buf.Bytes(), st
	}
	a, st := gen(3, 1)
	if b, _ := gen(3, 4); !bytes.Equal(a, b) {
		t.Error("1 and 4 workers wrote different bytes")
	}
	if c, _ := gen(4, 2); bytes.Equal(a, c) {
		t.Error("different seeds, same bytes")
	}
	lines := strings.Split(strings.TrimSuffix(string(a), "\n"), "\n")
	if len(lines) != n || st.Rows != n {
		t.Fatalf("%d lines, stats say %d rows; want %d", len(lines), st.Rows, n)
	}
	seen := make(map[string]bool, n)
	got := map[string]int{}
	var z phone.Normalizer
	for i, l := range lines {
		if seen[l] {
			t.Fatalf("line %d repeats an earlier number (%s)", i+1, phone.Redact(l))
		}
		seen[l] = true
		out, region, reason := z.AppendE164(nil, l, "")
		if reason != "" || string(out) != l {
			t.Fatalf("line %d: %s is not a valid E.164 number: %s", i+1, phone.Redact(l), reason)
		}
		got[region]++
	}
	total := 0.0
	for _, w := range mix {
		total += w
	}
	for r, w := range mix {
		want := float64(n) * w / total
		if d := float64(got[r]) - want; d > 1 || d < -1 || got[r] != st.Regions[r] {
			t.Errorf("%s: %d numbers (stats %d), want %.0f", r, got[r], st.Regions[r], want)
		}
	}
	// US numbers spread over many area codes, not one range.
	npas := map[string]bool{}
	for _, l := range lines {
		if strings.HasPrefix(l, "+1") {
			npas[l[2:5]] = true
		}
	}
	if len(npas) < 100 {
		t.Errorf("US numbers in %d area codes, want the whole plan (100 or more)", len(npas))
	}
}

func TestGenerateDistinctTooMany(t *testing.T) {
	// Kuwait's ranges hold about 11 million numbers.
	var buf bytes.Buffer
	_, err := GenerateDistinct(context.Background(), &buf, DistinctOptions{N: 50_000_000, Mix: map[string]float64{"KW": 1}})
	if err == nil || !strings.Contains(err.Error(), "KW") {
		t.Fatalf("err = %v, want one naming KW's capacity", err)
	}
	if buf.Len() != 0 {
		t.Errorf("%d bytes written before the error", buf.Len())
	}
}

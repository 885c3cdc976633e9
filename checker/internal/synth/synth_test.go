package synth

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/checker/phone"
)

func TestGenerateDeterministic(t *testing.T) {
	for _, format := range []string{"csv", "txt"} {
		gen := func(seed int64) []byte {
			var buf bytes.Buffer
			if _, err := Generate(&buf, Options{Seed: seed, N: 2000, Format: format, Region: "EG"}); err != nil {
				t.Fatal(err)
			}
			return buf.Bytes()
		}
		a, b, c := gen(7), gen(7), gen(8)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: same seed, different bytes", format)
		}
		if bytes.Equal(a, c) {
			t.Errorf("%s: different seeds, same bytes", format)
		}
	}
}

func TestGenNumbersMatch(t *testing.T) {
	const n = 5000
	mix := map[string]float64{"EG": 3, "US": 2, "SG": 1, "GB": 1}
	nums := Numbers(42, n, mix)
	if len(nums) != n {
		t.Fatalf("GenNumbers returned %d numbers, want %d", len(nums), n)
	}
	// Clean output is exactly those numbers.
	var buf bytes.Buffer
	st, err := Generate(&buf, Options{Seed: 42, N: n, Mix: mix, Format: "txt", Clean: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(nums, "\n") + "\n"; got != buf.String() {
		t.Errorf("clean txt output differs from GenNumbers")
	}
	if st.Rows != n || st.Junk != 0 {
		t.Errorf("stats %+v", st)
	}
	total := 0
	for r, c := range st.Regions {
		if mix[r] == 0 {
			t.Errorf("region %s not in the mix", r)
		}
		total += c
	}
	if total != n {
		t.Errorf("per-region counts sum to %d, want %d", total, n)
	}
	// Messy rows draw the same numbers.
	g, err := NewGenerator(Options{Seed: 42, N: n, Mix: mix, Region: "US"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if row := g.Next(); row.E164 != nums[i] {
			t.Fatalf("row %d: drew %s, GenNumbers says %s", i, redactE164(row.E164), redactE164(nums[i]))
		}
	}
	// Every number is valid, and US and GB numbers are fictional.
	for _, e := range nums {
		n, err := phone.Normalize(e, "")
		if err != nil || n.E164 != e {
			t.Fatalf("%s does not normalize to itself: %v", redactE164(e), err)
		}
		switch n.Region {
		case "US":
			if e[5:10] != "55501" {
				t.Errorf("US number outside 555-01XX: %s", redactE164(e))
			}
		case "GB":
			if !strings.HasPrefix(e, "+442079460") {
				t.Errorf("GB number outside the drama ranges: %s", redactE164(e))
			}
		}
	}
}

func redactE164(e string) string {
	if len(e) < 6 {
		return "…"
	}
	return e[:3] + "…" + e[len(e)-2:]
}

func TestGenerateErrors(t *testing.T) {
	for _, opts := range []Options{
		{N: 1, Mix: map[string]float64{"XX": 1}},
		{N: 1, Mix: map[string]float64{"EG": -1}},
		{N: 1, Mix: map[string]float64{"EG": 0}},
		{N: 1, Format: "xlsx"},
		{N: 1, Region: "QQ"},
	} {
		if _, err := Generate(io.Discard, opts); err == nil {
			t.Errorf("%+v: no error", opts)
		}
	}
	if Numbers(1, 3, map[string]float64{"XX": 1}) != nil {
		t.Errorf("GenNumbers with a bad mix is not nil")
	}
}

// TestGenerateNormalizes checks that messy rows read back to the number
// drawn, with the dataset's default region, and that junk rows do not.
func TestGenerateNormalizes(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 4000
	}
	for _, region := range []string{"", "EG", "US", "MY", "SG", "HK"} {
		g, err := NewGenerator(Options{Seed: 3, N: n, Region: region})
		if err != nil {
			t.Fatal(err)
		}
		good, valid, junk, junkFails := 0, 0, 0, 0
		failKinds := map[string]int{}
		for range n {
			row := g.Next()
			num, err := phone.Normalize(string(row.Raw), region)
			if row.Junk {
				junk++
				if err != nil {
					junkFails++
				}
				continue
			}
			valid++
			if err == nil && num.E164 == row.E164 {
				good++
			} else {
				failKinds[Mask(string(row.Raw))]++
			}
		}
		frac := float64(good) / float64(valid)
		t.Logf("region %q: %d/%d non-junk rows normalize to the number drawn (%.4f); %d/%d junk rows fail", region, good, valid, frac, junkFails, junk)
		if frac < 0.97 {
			t.Errorf("region %q: only %.4f of rows normalize; failing shapes: %v", region, frac, failKinds)
		} else if len(failKinds) > 0 {
			t.Logf("failing shapes: %v", failKinds)
		}
		if junk == 0 || float64(junkFails) < 0.95*float64(junk) {
			t.Errorf("region %q: %d of %d junk rows fail to normalize, want >= 95%%", region, junkFails, junk)
		}
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts Options
	}{
		{"csv-messy", Options{Format: "csv", Region: "EG"}},
		{"txt-messy", Options{Format: "txt", Region: "EG"}},
		{"csv-clean", Options{Format: "csv", Clean: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			const n = 200_000
			opts := bc.opts
			opts.N = n
			Generate(io.Discard, opts) // warm the template caches
			var cw countWriter
			for b.Loop() {
				if _, err := Generate(&cw, opts); err != nil {
					b.Fatal(err)
				}
			}
			elapsed := b.Elapsed()
			b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "rows/s")
			b.ReportMetric(float64(cw)/elapsed.Seconds()/1e6, "MB/s")
			// Baseline, same run: drawing the same numbers in E.164 with
			// no formatting (GenNumbers), to show what the messy formats
			// cost.
			b.StopTimer()
			mix := opts.Mix
			start := time.Now()
			for range b.N {
				if Numbers(opts.Seed, n, mix) == nil {
					b.Fatal("GenNumbers failed")
				}
			}
			base := time.Since(start)
			b.ReportMetric(float64(n*b.N)/base.Seconds(), "draw-only-rows/s")
			b.ReportMetric(elapsed.Seconds()/base.Seconds(), "x-draw-only")
		})
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

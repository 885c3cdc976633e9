package synth

import (
	"testing"

	"github.com/phonecheck/phonecheck/checker/phone"
)

// TestShapesReadBack checks, for both shape mixes and a few dataset
// regions, that every shape appears, in about the measure the mix says,
// and that its non-junk rows read back to the number drawn.
func TestShapesReadBack(t *testing.T) {
	n := 40000
	if testing.Short() {
		n = 8000
	}
	for _, mix := range []string{"realistic", "uniform"} {
		for _, region := range []string{"EG", "BR", "US", ""} {
			var regions map[string]float64 // the default mix
			if region == "BR" {
				regions = map[string]float64{"BR": 1} // where carrier codes are
			}
			g, err := NewGenerator(Options{Seed: 9, N: n, Region: region, Mix: regions, MixShapes: mix, Junk: -1})
			if err != nil {
				t.Fatal(err)
			}
			var rows, good, junk [numShapes]int
			var z phone.Normalizer
			for range n {
				row := g.Next()
				rows[row.Shape]++
				if row.Junk {
					junk[row.Shape]++
					continue
				}
				if num, err := z.Normalize(string(row.Raw), region); err == nil && num.E164 == row.E164 {
					good[row.Shape]++
				}
			}
			for s := range numShapes {
				share := float64(rows[s]) / float64(n)
				read := float64(good[s]) / float64(max(1, rows[s]-junk[s]))
				t.Logf("%-9s %-8q %-11s %5.1f%% of rows, %5.1f%% junk, %5.1f%% of the rest read back", mix, region, s, 100*share, 100*float64(junk[s])/float64(max(1, rows[s])), 100*read)
				want := float64(shapeWeights[s]) / 1000
				if mix == "uniform" {
					want = 1.0 / float64(numShapes)
				}
				switch {
				case s == ShapeCarrier && region != "BR":
					if rows[s] != 0 {
						t.Errorf("%s %q: %d carrier rows outside BR", mix, region, rows[s])
					}
				case share < want/2 || share > 2*want:
					t.Errorf("%s %q: shape %s is %.2f%% of rows, want about %.2f%%", mix, region, s, 100*share, 100*want)
				}
				if rows[s] > 0 && read < 0.97 {
					t.Errorf("%s %q: only %.1f%% of %s rows read back", mix, region, 100*read, s)
				}
			}
		}
	}
}

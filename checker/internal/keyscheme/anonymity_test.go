package keyscheme

import (
	"testing"

	"github.com/phonecheck/phonecheck/checker/phone"
)

// TestAnonymityTableFresh recomputes a few regions from the metadata and
// compares them with the shipped table: a library update that changes
// the metadata shows here. Run 'go generate ./checker/internal/keyscheme' to refresh.
func TestAnonymityTableFresh(t *testing.T) {
	if anonymityMetadata != phone.PhonenumbersVersion {
		t.Errorf("table computed from %q, the library is %q: run go generate ./checker/internal/keyscheme", anonymityMetadata, phone.PhonenumbersVersion)
	}
	rows, err := ComputeValidNumbers("US", "SG", "HK", "EG", "GB", "001/800", "NU")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 7 {
		t.Fatalf("%d rows", len(rows))
	}
	for _, r := range rows {
		if got := validNumbers[r.Key]; got != r.Valid || r.Valid == 0 {
			t.Errorf("%s: shipped %d, computed %d: run go generate ./checker/internal/keyscheme", r.Key, got, r.Valid)
		}
	}
}

// TestCountValidSmall checks the counter against brute force on patterns
// shaped like the metadata's.
func TestCountValidSmall(t *testing.T) {
	for _, tc := range []struct {
		general string
		lengths []int
		types   []phone.TypeRule
	}{
		{`[2-9]\d{3}`, []int{4}, []phone.TypeRule{{Pattern: `[2-5]\d{3}`}, {Pattern: `(?:4[0-4]|9)\d{2,3}`, Lengths: []int{4}}}},
		{`1\d{2,4}|[3-6]\d{3}`, []int{3, 4, 5}, []phone.TypeRule{{Pattern: `1(?:0|2[1-3])\d{1,2}`}, {Pattern: `[36]\d{3}`, Lengths: []int{4}}}},
	} {
		got, err := countValid(phone.ValidityRule{General: tc.general, GeneralLengths: tc.lengths, Types: tc.types})
		if err != nil {
			t.Fatal(err)
		}
		if want := bruteValid(t, tc.general, tc.lengths, tc.types); got != want {
			t.Errorf("%s: counted %d, brute force %d", tc.general, got, want)
		}
	}
}

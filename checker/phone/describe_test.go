package phone

import "testing"

func TestDescribe(t *testing.T) {
	for _, c := range []struct {
		raw, region string
		want        Description
	}{
		{"01001234567", "EG", Description{"+20 10 01234567", "mobile"}}, // as libphonenumber groups it
		{"+1 415 555 0132", "", Description{"+1 415-555-0132", "fixed_line_or_mobile"}},
		{"020 7946 0018", "GB", Description{"+44 20 7946 0018", "fixed_line"}},
		{"+44 7400 123456", "", Description{"+44 7400 123456", "mobile"}},
		{"0800 123 4567", "GB", Description{"+44 800 123 4567", "toll_free"}},
	} {
		n, err := Normalize(c.raw, c.region)
		if err != nil {
			t.Fatalf("Normalize(%q, %q): %v", c.raw, c.region, err)
		}
		if got := Describe(n); got != c.want {
			t.Errorf("Describe(%s) = %+v, want %+v", Redact(n.E164), got, c.want)
		}
	}
	if got := Describe(Number{E164: "nonsense"}); got.Type != "unknown" || got.International != "nonsense" {
		t.Errorf("Describe of a non-number = %+v", got)
	}
}

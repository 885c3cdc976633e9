package ingest

import "testing"

func TestDefuseFormula(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")",
		"@SUM(A1)":          "'@SUM(A1)",
		"+1 415 555 0132":   "+1 415 555 0132",
		"+cmd":              "'+cmd",
		"-":                 "'-",
		"0491 570 006":      "0491 570 006",
		"":                  "",
	} {
		if got := defuseFormula(in); got != want {
			t.Errorf("defuseFormula(%q) = %q, want %q", in, got, want)
		}
	}
}

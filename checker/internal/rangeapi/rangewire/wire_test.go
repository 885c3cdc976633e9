package rangewire

import (
	"fmt"
	"testing"
)

func TestParsePrefix(t *testing.T) {
	for s, want := range map[string]string{"abc": "ABC/12", "ABCDEF12": "ABCDEF12/32", "0000": "0/16"} {
		p, bits, err := ParsePrefix(s)
		if err != nil || fmt.Sprintf("%X/%d", p, bits) != want {
			t.Errorf("ParsePrefix(%q) = %X, %d, %v", s, p, bits, err)
		}
	}
	for _, s := range []string{"", "ab", "abcdef123", "abg", " abc", "+abc"} {
		if _, _, err := ParsePrefix(s); err == nil {
			t.Errorf("ParsePrefix(%q) accepted", s)
		}
	}
}

func TestPaddedSize(t *testing.T) {
	for n, want := range map[int]int{0: 16, 1: 16, 16: 16, 17: 20, 20: 20, 21: 24, 28: 28, 29: 32, 33: 40, 57: 64, 65: 80, 450: 512, 464: 512, 449: 512, 448: 448} {
		if got := PaddedSize(n); got != want {
			t.Errorf("PaddedSize(%d) = %d, want %d", n, got, want)
		}
	}
}

// TestParseRangeJSONSuffixNotHex: a suffix must be hex digits; the control
// bytes 0x10..0x19 were once read as the digits 0..9 (c|0x20 lowered
// them onto '0'..'9').
func TestParseRangeJSONSuffixNotHex(t *testing.T) {
	for _, suf := range []string{`00000000000\u0010`, `00000000000\u0019`, `0000000000\u0011A`, "00000000000G", "00000000000 "} {
		body := `{"prefix":"ABCDE","entries":[{"suffix":"` + suf + `","count":1,"datasets":[0]}]}`
		if es, _, err := ParseRange([]byte(body), "application/json", "ABCDE"); err == nil {
			t.Errorf("suffix %s accepted: %x", suf, es[0].Key)
		}
	}
	es, _, err := ParseRange([]byte(`{"prefix":"abcde","entries":[{"suffix":"f0123456789","count":1}]}`), "application/json", "abcde")
	if err != nil || len(es) != 1 || es[0].Key != 0xABCDEF0123456789 {
		t.Errorf("mixed case: %v, %v", es, err)
	}
}

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

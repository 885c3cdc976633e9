package keyscheme

import (
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/phonecheck/phonecheck/checker/phone"
)

func bruteValid(t *testing.T, general string, lengths []int, types []phone.TypeRule) uint64 {
	t.Helper()
	g := regexp.MustCompile(`^(?:` + general + `)$`)
	var n uint64
	for _, l := range lengths {
		max := 1
		for range l {
			max *= 10
		}
		for i := range max {
			s := strconv.Itoa(i)
			for len(s) < l {
				s = "0" + s
			}
			if !g.MatchString(s) {
				continue
			}
			for _, ty := range types {
				if ok, _ := regexp.MatchString(`^(?:`+ty.Pattern+`)$`, s); ok && (len(ty.Lengths) == 0 || slices.Contains(ty.Lengths, l)) {
					n++
					break
				}
			}
		}
	}
	return n
}

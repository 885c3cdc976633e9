package httpfront

import (
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/rawhttptest"
)

// BenchmarkFront times one keep-alive client's range requests over
// loopback through a Server, and through net/http serving the same
// handler (the baseline), in the same run; it reports both and the ratio.
func BenchmarkFront(b *testing.B) {
	fastAddr, f := startFront(b, nil, nil)
	refAddr := startNetHTTP(b, f.th)
	rawhttptest.BenchmarkAgainst(b, fastAddr, refAddr)
}

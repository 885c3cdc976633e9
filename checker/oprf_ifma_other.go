//go:build !amd64 || purego

package checker

// useIFMA is false where the 8-way path does not exist
// (oprf_ifma_amd64.go): [fastSealer] multiplies one element at a time.
const useIFMA = false

type ifmaState struct{}

func (s *ifmaState) setInput(i int, u *[64]byte) {
	panic("checker: no IFMA path on this platform")
}

func (s *ifmaState) hashMult(fk *fastSealKey, ps []extPoint) {
	panic("checker: no IFMA path on this platform")
}

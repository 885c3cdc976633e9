//go:build !amd64 || purego

package checker

import "filippo.io/edwards25519"

// laneMul is the 8-way path's working memory (oprf_eval_ifma_amd64.go),
// absent here: one-element evaluations take [OPRFKey.evaluateOne].
type laneMul struct{}

func (k *OPRFKey) evaluateOneLanes(blinded []byte, c *extPoint, t *edwards25519.Scalar, sc *evalScratch) (evaluated, proof []byte, err error) {
	panic("checker: no IFMA path on this platform")
}

func (l *laneMul) evalHalves(ek *evalKey, half, in []extPoint) {
	panic("checker: no IFMA path on this platform")
}

func (l *laneMul) proofPoints(ek *evalKey, pts *[4]extPoint, t *edwards25519.Scalar) {
	panic("checker: no IFMA path on this platform")
}

//go:build !amd64 || !gc || purego

package r255

// Without the 8-way path, every operation takes the generic code.

const useIFMA = false

type (
	sealLanes struct{}
	evalLanes struct{}
	narrowMul struct{}
)

func (b *SealBatch) setInput(i int, u *[64]byte) { b.setInputGeneric(i, u) }

func (b *SealBatch) mult(n int) {}

func (b *SealBatch) encode(n int) { encodeDoubled(b.enc[:n], b.pts[:n], b.scratch[:7*n]) }

func (sc *EvalScratch) evalOne(ek *Key, lanes bool) { sc.evalOneGeneric(ek) }

func (sc *EvalScratch) proveOne(ek *Key, dh, t *Scalar, withT2 bool) {
	sc.proveOneGeneric(ek, dh, t, withT2)
}

func (sc *EvalScratch) evalHalves(ek *Key, lanes bool) { sc.evalHalvesGeneric(ek) }

func (sc *EvalScratch) proofPoints(ek *Key, t *Scalar, lanes bool) { sc.proofPointsGeneric(ek, t) }

func mulHalves(out, ps []extPoint, digits [][64]int8, lanes bool) { mulHalvesGeneric(out, ps, digits) }

func invertLane(z, x *fe) { z.Invert(x) }

func pow22523Lane(z, x *fe) { z.Pow22523(x) }

func laneMSM(sums []extPoint, sets [][]extPoint, digits [][64]int8) bool { return false }

func hashToGroupLanes(ps []extPoint, us [][64]byte) bool { return false }

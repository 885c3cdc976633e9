package phone

// Internals the external tests (those that need the synthetic generator,
// which imports this package) use.

// SameResult compares the fast path with the library path on one input.
var SameResult = sameResult

// FastNormalize is the fast path with its fallback, and whether the fast
// path answered.
func FastNormalize(raw, region string, strict bool) (Number, error, bool) {
	var sc fastScratch
	return fastNormalizer().normalize(raw, region, strict, &sc)
}

//go:build !(amd64 || arm64) || purego

package hashset

// prefetch does nothing here: the batched lookups still work, with their
// searches' cache misses overlapping less.
func prefetch(addr uintptr) {}

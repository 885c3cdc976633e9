//go:build (amd64 || arm64) && !purego

package hashset

// prefetch asks the CPU to bring the cache line holding addr into the cache,
// without waiting for it: a prefetch instruction retires at once, where a
// load that misses holds up the instructions after it. addr need not be
// valid (a prefetch never faults), but every caller passes the address of
// a byte of a live slice.
//
//go:noescape
func prefetch(addr uintptr)

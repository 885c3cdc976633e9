//go:build unix && !linux

package hashset

// adviseHuge does nothing: huge pages, where these systems have them, are
// not asked for per mapping.
func adviseHuge(b []byte) {}

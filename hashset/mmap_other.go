//go:build !unix

package hashset

import (
	"errors"
	"os"
)

// mmapFile is not supported here; Open falls back to ReadAt.
func mmapFile(f *os.File, size int64) ([]byte, func() error, error) {
	return nil, nil, errors.New("hashset: mmap not supported on this platform")
}

// allocLarge returns n zeroed bytes from the Go heap.
func allocLarge(n int) ([]byte, func() error, error) {
	return make([]byte, n), func() error { return nil }, nil
}

//go:build unix

package hashset

import (
	"errors"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmapFile maps f read-only. The returned function unmaps it.
func mmapFile(f *os.File, size int64) ([]byte, func() error, error) {
	if size <= 0 || int64(int(size)) != size {
		return nil, nil, errors.New("hashset: cannot map this size")
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return b, func() error { return unix.Munmap(b) }, nil
}

// hugePage is the size of a transparent huge page on x86-64 and most arm64
// kernels; on others the alignment is merely wasted.
const hugePage = 2 << 20

// allocLarge returns n zeroed bytes of anonymous memory outside the Go
// heap, aligned to a huge page and, on Linux, advised to use huge pages
// (see adviseHuge). The returned function frees it.
func allocLarge(n int) ([]byte, func() error, error) {
	if n <= 0 || n > int(^uint(0)>>1)-hugePage {
		return nil, nil, errors.New("cannot allocate this size")
	}
	m, err := unix.Mmap(-1, 0, n+hugePage, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, nil, err
	}
	skip := 0
	if a := int(uintptr(unsafe.Pointer(unsafe.SliceData(m))) % hugePage); a != 0 {
		skip = hugePage - a
	}
	b := m[skip : skip+n : skip+n]
	if n >= hugePage {
		adviseHuge(b)
	}
	return b, func() error { return unix.Munmap(m) }, nil
}

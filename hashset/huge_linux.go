package hashset

import "golang.org/x/sys/unix"

// adviseHuge asks for transparent huge pages on b (MADV_HUGEPAGE): with THP
// in "madvise" mode the kernel then backs it with 2 MiB pages; with THP off
// the advice is ignored, and so is an error, as it is only advice.
func adviseHuge(b []byte) { _ = unix.Madvise(b, unix.MADV_HUGEPAGE) }

//go:build !linux

package checker

import (
	"io"
	"net"
)

// frontIO returns c: raw system calls are measured on Linux only (see
// http_front_raw_linux.go).
func frontIO(c net.Conn) io.ReadWriter { return c }

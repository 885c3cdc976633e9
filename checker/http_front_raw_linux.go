package checker

import (
	"io"
	"net"
	"syscall"
	"unsafe"
)

// frontIO returns what the front reads requests from and writes answers
// to: for a TCP or Unix connection, its socket through raw system calls
// (rawIO); for anything else, c itself.
//
// Why: a goroutine in a read or write system call leaves its P in a
// "syscall" state, and the runtime's monitor thread takes such a P away
// after 20 us and hands it, with the goroutines queued on it, to another
// thread. A loopback write that wakes the client takes 5-10 us, longer
// when the client's wake-up preempts the writer, so under load the front
// paid for a stream of handoffs and thread wake-ups, and the monitor woke
// every 20-40 us to look (~10% of the server's CPU). The sockets are
// non-blocking (the netpoller's), so the calls never sleep: made raw, the
// P stays, and the netpoller still does the waiting, with deadlines, as
// before. Measured on the 2-core VM with wrk on the same cores
// (bench/range/run.sh, alternating runs): ~3 us less CPU a request, ~10%
// more requests/s.
func frontIO(c net.Conn) io.ReadWriter {
	switch c.(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		return c
	}
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		return c
	}
	return &rawIO{rc: rc}
}

// rawIO reads and writes a non-blocking socket with raw system calls,
// waiting for it through its syscall.RawConn (which honours deadlines).
type rawIO struct {
	rc syscall.RawConn
}

func (r *rawIO) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var errno syscall.Errno
	err := r.rc.Read(func(fd uintptr) bool {
		for {
			m, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			switch e {
			case 0:
				n = int(m)
				return true
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // the RawConn waits for the socket, then calls again
			default:
				errno = e
				return true
			}
		}
	})
	switch {
	case err != nil: // a deadline, or the connection closed under us
		return 0, err
	case errno != 0:
		return 0, errno
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (r *rawIO) Write(p []byte) (int, error) {
	var n int
	var errno syscall.Errno
	err := r.rc.Write(func(fd uintptr) bool {
		for n < len(p) {
			m, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[n])), uintptr(len(p)-n))
			switch e {
			case 0:
				n += int(m)
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false // the socket buffer is full: wait, then go on
			default:
				errno = e
				return true
			}
		}
		return true
	})
	switch {
	case err != nil:
		return n, err
	case errno != 0:
		return n, errno
	}
	return n, nil
}

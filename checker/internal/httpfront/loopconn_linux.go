//go:build linux

package httpfront

import (
	"errors"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// loopConn is a connection in an event loop. It is also the conn's net.Conn
// while there: writes go to the socket without blocking (what the socket
// does not take waits in pending), and Close and an expired read
// deadline shut the socket down, which the loop sees and closes.
type loopConn struct {
	fc *conn
	fd int

	mu   sync.Mutex // fd's lifetime against Close from other goroutines
	gone bool       // the fd is closed or given to a goroutine

	laddr, raddr net.Addr

	in          []byte // read buffer
	start, have int    // in[start:have] is read and not yet answered
	last        time.Time
	headStart   time.Time // when a partly read head began (the accept for the first); zero if none
	pending     []byte    // output the socket did not take
}

var errLoopRead = errors.New("httpfront: event loop connections are not read through Read")

func (lc *loopConn) Read([]byte) (int, error) { return 0, errLoopRead }

func (lc *loopConn) Write(p []byte) (int, error) {
	if len(lc.pending) > 0 {
		lc.pending = append(lc.pending, p...)
		return len(p), nil
	}
	n := len(p)
	for len(p) > 0 {
		m, err := rawIO(unix.SYS_WRITE, lc.fd, p)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			lc.pending = append(lc.pending, p...)
			return n, nil
		case err != nil:
			return n - len(p), err
		}
		p = p[m:]
	}
	return n, nil
}

// Close shuts the socket down; the loop closes it when it sees that.
func (lc *loopConn) Close() error {
	lc.mu.Lock()
	if !lc.gone {
		unix.Shutdown(lc.fd, unix.SHUT_RDWR)
	}
	lc.mu.Unlock()
	return nil
}

func (lc *loopConn) LocalAddr() net.Addr  { return lc.laddr }
func (lc *loopConn) RemoteAddr() net.Addr { return lc.raddr }

// SetReadDeadline with a time already past (how Shutdown wakes an idle
// connection) closes the connection; the loop keeps its own timeouts.
func (lc *loopConn) SetReadDeadline(t time.Time) error {
	if !t.IsZero() && !t.After(time.Now()) {
		return lc.Close()
	}
	return nil
}

func (lc *loopConn) SetWriteDeadline(time.Time) error { return nil } // a loop never waits to write
func (lc *loopConn) SetDeadline(t time.Time) error    { return lc.SetReadDeadline(t) }

// acceptEventLoops accepts connections on ln and deals them to the event
// loops in turn; it returns as Serve does.
func (s *Server) acceptEventLoops(ln net.Listener) error {
	// A TCPListener's own RawConn cannot wait to read; a duplicate of
	// its descriptor, as an os.File, can. It keeps the socket listening:
	// stopListening closes it with the listener.
	lf, err := ln.(*net.TCPListener).File()
	if err != nil {
		// Shutdown may close the listener before this goroutine gets
		// here (a SIGTERM right after start): that is a clean stop.
		if s.closing.Load() {
			return http.ErrServerClosed
		}
		return err
	}
	defer lf.Close()
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	s.loopFiles[lf] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.loopFiles, lf)
		s.mu.Unlock()
	}()
	rc, err := lf.SyscallConn()
	if err != nil {
		return err
	}
	laddr := ln.Addr()
	var delay time.Duration
	for next := 0; ; {
		var nfd int
		var sa unix.Sockaddr
		var aerr error
		err := rc.Read(func(fd uintptr) bool {
			nfd, sa, aerr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
			return aerr != unix.EAGAIN
		})
		if err == nil {
			err = aerr
		}
		if err != nil {
			if s.closing.Load() {
				return http.ErrServerClosed
			}
			switch {
			case errors.Is(err, unix.ECONNABORTED), errors.Is(err, unix.EINTR):
				continue
			case errors.Is(err, unix.EMFILE), errors.Is(err, unix.ENFILE), errors.Is(err, unix.ENOBUFS), errors.Is(err, unix.ENOMEM):
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed; retrying", "err", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return os.NewSyscallError("accept4", err)
		}
		delay = 0
		// What Go sets on the connections it accepts.
		unix.SetsockoptInt(nfd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		unix.SetsockoptInt(nfd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
		unix.SetsockoptInt(nfd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 15)
		unix.SetsockoptInt(nfd, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, 15)
		unix.SetsockoptInt(nfd, unix.IPPROTO_TCP, unix.TCP_KEEPCNT, 9)
		lc := &loopConn{fd: nfd, laddr: laddr, raddr: sockaddrToTCP(sa), in: make([]byte, bufSize), headStart: time.Now()}
		fc := &conn{s: s, c: lc}
		fc.remote = lc.raddr.String()
		fc.w.hdr = http.Header{}
		lc.fc = fc
		fc.idle.Store(true)
		l := s.loops[next%len(s.loops)]
		next++
		s.mu.Lock()
		if s.closing.Load() {
			s.mu.Unlock()
			unix.Close(nfd)
			return http.ErrServerClosed
		}
		s.conns[fc] = struct{}{}
		l.mu.Lock()
		l.incoming = append(l.incoming, lc)
		l.mu.Unlock()
		s.mu.Unlock()
		l.wakeUp()
	}
}

func sockaddrToTCP(sa unix.Sockaddr) net.Addr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IPv4(sa.Addr[0], sa.Addr[1], sa.Addr[2], sa.Addr[3]), Port: sa.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: append(net.IP(nil), sa.Addr[:]...), Port: sa.Port}
	}
	return &net.TCPAddr{}
}

// rawIO reads or writes a non-blocking socket. The loop's own thread
// makes it without the runtime's system call bookkeeping: through
// unix.Read and unix.Write, a write the kernel preempted (the client it
// woke ran first) let sysmon take the loop's P, and the loop then waited
// for one, often milliseconds.
func rawIO(trap uintptr, fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

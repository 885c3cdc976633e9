//go:build linux

package checker

// Lanes: the front's event loops (Linux, TCP listeners).
//
// With a goroutine per connection, a goroutine whose client has its next
// request ready when it reads never parks, so its P does not poll the
// network and the connections queued behind it wait: on two cores shared
// with the clients, p90 and p99 were several times nginx's, and under CPU
// contention (bench/range/run.sh with SERVER_NICE=10) p99 was 15-25 ms
// against nginx's 1-5 ms. A lane is what nginx's worker is: one goroutine
// on its own OS thread that waits in epoll_wait for all of its
// connections and answers each ready one in turn, so no connection waits
// behind another for more than one answer. Measured (run.sh, 10M keys,
// medians of 3 rounds): at nice 10, p99 2.8 / 3.6 / 3.4 ms at 8 / 32 / 64
// connections, where a goroutine per connection had 16.6 / 22.9 / 26.3.
//
// Handlers run on the lane's thread: one that blocks (an index page read
// from a slow disk) holds up the lane's other connections, as a blocking
// read holds up an nginx worker's. The lean routes answer from memory or
// the page cache; private queries (POST) go to goroutines.
//
// A lane answers only the steady state: complete simple requests (those
// the lean path takes, bodyless) whose answers the socket takes at once.
// Anything else (a request the lean path does not take, a POST, an EOF
// after part of a head, an answer the socket buffer did not take) moves
// the connection, with the bytes it read and the output not yet sent, to
// a goroutine of the front (frontConn.serve), which keeps every rule of
// the lean path and the hand-off to net/http from then on.
//
// A lane blocks in epoll_wait through syscall.Syscall, not a raw system
// call: the runtime then hands the lane's P to other goroutines while it
// waits. (A raw wait looks like a running goroutine: sysmon preempts it
// every 10 ms, and an idle server built that way burned ~6% of a core.)

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// lanesSupported reports whether ln can be served by lanes.
func lanesSupported(ln net.Listener) bool {
	_, ok := ln.(*net.TCPListener)
	return ok
}

type lane struct {
	f    *Front
	ep   int // epoll
	wake int // eventfd: new connections, shutdown

	mu       sync.Mutex
	incoming []*laneConn

	conns  map[int32]*laneConn // the lane goroutine's own
	events [128]syscall.EpollEvent
	// again holds connections to read again without waiting for an
	// edge (epollET): their last read filled the buffer, was
	// interrupted, or came with the peer's FIN, and the socket may have
	// more to say that no new edge will announce.
	again []*laneConn
	// bw buffers the answers of the connection being served: a lane
	// serves one connection at a time and flushes before the next.
	bw *bufio.Writer
}

// laneConn is a connection in a lane. It is also the frontConn's net.Conn
// while there: writes go to the socket without blocking (what the socket
// does not take waits in pending), and Close and an expired read
// deadline shut the socket down, which the lane sees and closes.
type laneConn struct {
	fc *frontConn
	fd int

	mu   sync.Mutex // fd's lifetime against Close from other goroutines
	gone bool       // the fd is closed or given to a goroutine

	laddr, raddr net.Addr

	in          []byte // read buffer
	start, have int    // in[start:have] is read and not yet answered
	last        time.Time
	headStart   time.Time // when a partly read head began; zero if none
	pending     []byte    // output the socket did not take
}

var errLaneRead = errors.New("front: lane connections are not read through Read")

func (lc *laneConn) Read([]byte) (int, error) { return 0, errLaneRead }

func (lc *laneConn) Write(p []byte) (int, error) {
	if len(lc.pending) > 0 {
		lc.pending = append(lc.pending, p...)
		return len(p), nil
	}
	n := len(p)
	for len(p) > 0 {
		m, err := rawIO(syscall.SYS_WRITE, lc.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			lc.pending = append(lc.pending, p...)
			return n, nil
		case err != nil:
			return n - len(p), err
		}
		p = p[m:]
	}
	return n, nil
}

// Close shuts the socket down; the lane closes it when it sees that.
func (lc *laneConn) Close() error {
	lc.mu.Lock()
	if !lc.gone {
		syscall.Shutdown(lc.fd, syscall.SHUT_RDWR)
	}
	lc.mu.Unlock()
	return nil
}

func (lc *laneConn) LocalAddr() net.Addr  { return lc.laddr }
func (lc *laneConn) RemoteAddr() net.Addr { return lc.raddr }

// SetReadDeadline with a time already past (how Shutdown wakes an idle
// connection) closes the connection; the lane keeps its own timeouts.
func (lc *laneConn) SetReadDeadline(t time.Time) error {
	if !t.IsZero() && !t.After(time.Now()) {
		return lc.Close()
	}
	return nil
}

func (lc *laneConn) SetWriteDeadline(time.Time) error { return nil } // a lane never waits to write
func (lc *laneConn) SetDeadline(t time.Time) error    { return lc.SetReadDeadline(t) }

// defaultLanes is one lane fewer than GOMAXPROCS, and at least one. The
// P left over runs the rest of the process (the goroutine front,
// net/http, the collector), and while there is an idle P the runtime
// leaves a waiting lane its own: with as many lanes as Ps, sysmon took
// the P of every lane that waited more than 20 us and the lane had to get
// one back when it woke. On this project's 2-core machines, with wrk on
// the same cores (bench/range/run.sh, 32 and 64 connections), one lane
// used 11-12 us of CPU a request against 14-17 us for two, and its p99
// was about half.
func defaultLanes() int {
	return max(1, runtime.GOMAXPROCS(0)-1)
}

// startLanes starts f.Lanes lanes (defaultLanes for 0), once.
func (f *Front) startLanes() error {
	f.laneOnce.Do(func() {
		n := f.Lanes
		if n == 0 {
			n = defaultLanes()
		}
		var ls []*lane
		for range n {
			l, err := newLane(f)
			if err != nil {
				for _, l := range ls {
					syscall.Close(l.ep)
					syscall.Close(l.wake)
				}
				f.laneErr = err
				return
			}
			ls = append(ls, l)
		}
		f.mu.Lock()
		f.lanes = ls
		f.mu.Unlock()
		for _, l := range ls {
			f.laneWG.Add(1)
			go l.run()
		}
	})
	return f.laneErr
}

func newLane(f *Front) (*lane, error) {
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	r, _, e := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if e != 0 {
		syscall.Close(ep)
		return nil, os.NewSyscallError("eventfd2", e)
	}
	l := &lane{f: f, ep: ep, wake: int(r), conns: map[int32]*laneConn{}, bw: bufio.NewWriterSize(nil, 4<<10)}
	if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, l.wake, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(l.wake)}); err != nil {
		syscall.Close(ep)
		syscall.Close(l.wake)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return l, nil
}

// wakeUp makes the lane look at its incoming connections and at f.closing.
func (l *lane) wakeUp() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	syscall.Write(l.wake, one[:])
}

// acceptLanes accepts connections on ln and deals them to the lanes in
// turn; it returns as Serve does.
func (f *Front) acceptLanes(ln net.Listener) error {
	// A TCPListener's own RawConn cannot wait to read; a duplicate of
	// its descriptor, as an os.File, can. It keeps the socket listening:
	// stopListening closes it with the listener.
	lf, err := ln.(*net.TCPListener).File()
	if err != nil {
		return err
	}
	defer lf.Close()
	f.mu.Lock()
	if f.closing.Load() {
		f.mu.Unlock()
		return http.ErrServerClosed
	}
	f.laneFiles[lf] = struct{}{}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.laneFiles, lf)
		f.mu.Unlock()
	}()
	rc, err := lf.SyscallConn()
	if err != nil {
		return err
	}
	laddr := ln.Addr()
	var delay time.Duration
	for next := 0; ; {
		var nfd int
		var sa syscall.Sockaddr
		var aerr error
		err := rc.Read(func(fd uintptr) bool {
			nfd, sa, aerr = syscall.Accept4(int(fd), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
			return aerr != syscall.EAGAIN
		})
		if err == nil {
			err = aerr
		}
		if err != nil {
			if f.closing.Load() {
				return http.ErrServerClosed
			}
			switch {
			case errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EINTR):
				continue
			case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE), errors.Is(err, syscall.ENOBUFS), errors.Is(err, syscall.ENOMEM):
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				f.s.log.Warn("accept failed; retrying", "err", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return os.NewSyscallError("accept4", err)
		}
		delay = 0
		// What Go sets on the connections it accepts.
		syscall.SetsockoptInt(nfd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		syscall.SetsockoptInt(nfd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1)
		syscall.SetsockoptInt(nfd, syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, 15)
		syscall.SetsockoptInt(nfd, syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, 15)
		syscall.SetsockoptInt(nfd, syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT, 9)
		lc := &laneConn{fd: nfd, laddr: laddr, raddr: sockaddrToTCP(sa), in: make([]byte, frontBufSize)}
		fc := &frontConn{f: f, c: lc}
		fc.remote = lc.raddr.String()
		fc.w.hdr = http.Header{}
		lc.fc = fc
		fc.idle.Store(true)
		l := f.lanes[next%len(f.lanes)]
		next++
		f.mu.Lock()
		if f.closing.Load() {
			f.mu.Unlock()
			syscall.Close(nfd)
			return http.ErrServerClosed
		}
		f.conns[fc] = struct{}{}
		l.mu.Lock()
		l.incoming = append(l.incoming, lc)
		l.mu.Unlock()
		f.mu.Unlock()
		l.wakeUp()
	}
}

func sockaddrToTCP(sa syscall.Sockaddr) net.Addr {
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: net.IPv4(sa.Addr[0], sa.Addr[1], sa.Addr[2], sa.Addr[3]), Port: sa.Port}
	case *syscall.SockaddrInet6:
		return &net.TCPAddr{IP: append(net.IP(nil), sa.Addr[:]...), Port: sa.Port}
	}
	return &net.TCPAddr{}
}

// laneTick is how often a lane looks for timed-out connections.
func (f *Front) laneTick() time.Duration {
	return max(min(time.Second, f.idle/4, f.readHeader/4), 10*time.Millisecond)
}

func (l *lane) run() {
	defer l.f.laneWG.Done()
	defer func() {
		syscall.Close(l.ep)
		syscall.Close(l.wake)
	}()
	// The lane's thread is its own: when the lane waits, the runtime
	// hands its P to other goroutines, and the lane takes an idle one
	// back when it wakes.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f := l.f
	tick := f.laneTick()
	lastSweep := time.Now()
	for {
		wait := tick
		if f.closing.Load() {
			wait = 20 * time.Millisecond
		}
		timeout := int(wait / time.Millisecond)
		if len(l.again) > 0 {
			timeout = 0 // they are ready now
		}
		n, err := syscall.EpollWait(l.ep, l.events[:], timeout)
		if err != nil && err != syscall.EINTR {
			f.s.log.Error("lane: epoll_wait failed", "err", err)
			time.Sleep(10 * time.Millisecond)
		}
		now := time.Now()
		for i := range max(n, 0) {
			fd := l.events[i].Fd
			if fd == int32(l.wake) {
				var b [8]byte
				syscall.Read(l.wake, b[:])
				l.admit(now)
				continue
			}
			if lc := l.conns[fd]; lc != nil {
				l.serve(lc, now)
				// The peer's FIN came with this edge: read again to
				// see the end of the stream (no later edge says so).
				if l.events[i].Events&(syscall.EPOLLRDHUP|syscall.EPOLLHUP|syscall.EPOLLERR) != 0 && l.conns[fd] == lc {
					l.again = append(l.again, lc)
				}
			}
		}
		if again := l.again; len(again) > 0 {
			l.again = nil
			for _, lc := range again {
				if l.conns[int32(lc.fd)] == lc {
					l.serve(lc, now)
				}
			}
			clear(again)
			if l.again == nil {
				l.again = again[:0]
			}
		}
		if now.Sub(lastSweep) >= wait {
			l.sweep(now)
			lastSweep = now
		}
		if f.closing.Load() {
			l.admit(now)
			for _, lc := range l.conns {
				if lc.fc.idle.Load() {
					l.close(lc)
				}
			}
			if len(l.conns) == 0 {
				return
			}
		}
	}
}

// admit registers the connections dealt to the lane.
func (l *lane) admit(now time.Time) {
	l.mu.Lock()
	in := l.incoming
	l.incoming = nil
	l.mu.Unlock()
	for _, lc := range in {
		lc.last = now
		if err := syscall.EpollCtl(l.ep, syscall.EPOLL_CTL_ADD, lc.fd, &syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | epollET, Fd: int32(lc.fd)}); err != nil {
			l.f.s.log.Warn("lane: epoll_ctl failed; serving the connection from a goroutine", "err", err)
			l.detach(lc, false)
			continue
		}
		l.conns[int32(lc.fd)] = lc
	}
}

// sweep closes connections idle for IdleTimeout, and those whose head
// has taken ReadHeaderTimeout so far (as the goroutine front does).
func (l *lane) sweep(now time.Time) {
	f := l.f
	for _, lc := range l.conns {
		switch {
		case lc.start == lc.have && now.Sub(lc.last) > f.idle:
			l.close(lc)
		case !lc.headStart.IsZero() && now.Sub(lc.headStart) > f.readHeader:
			l.close(lc)
		}
	}
}

// serve reads what lc's socket has and answers the complete requests.
func (l *lane) serve(lc *laneConn, now time.Time) {
	fc := lc.fc
	defer func() {
		if p := recover(); p != nil {
			// ServeHTTP recovers its own panics; this is the front's
			// own, or http.ErrAbortHandler: drop the connection.
			if p != http.ErrAbortHandler {
				l.f.s.log.Error("panic in the connection front", "panic", p)
			}
			l.close(lc)
		}
	}()
	m, err := rawIO(syscall.SYS_READ, lc.fd, lc.in[lc.have:])
	if err == syscall.EAGAIN {
		return
	}
	if err == syscall.EINTR {
		l.again = append(l.again, lc) // the edge is spent: read it again
		return
	}
	if err != nil || m <= 0 {
		if err == nil && lc.have > lc.start {
			// The client ended inside a head: the goroutine front
			// answers that as it always does.
			l.detach(lc, false)
			return
		}
		l.close(lc)
		return
	}
	full := m == len(lc.in)-lc.have
	lc.have += m
	lc.last = now
	fc.idle.Store(false)
	l.bw.Reset(lc)
	fc.bw = l.bw
	for lc.start < lc.have {
		b := lc.in[lc.start:lc.have]
		i := bytes.Index(b, crlf2)
		if i < 0 {
			if lc.start == 0 && lc.have == len(lc.in) || hasBareLF(b) {
				// A head bigger than the buffer, or not one the lean
				// path takes.
				l.detach(lc, false)
				return
			}
			if lc.headStart.IsZero() {
				lc.headStart = now
			}
			break
		}
		head := b[:i+4]
		if hasBareLF(head) || !fc.parse(head) || fc.bodyLen > 0 {
			l.detach(lc, false)
			return
		}
		lc.start += len(head)
		lc.headStart = time.Time{}
		fc.respond()
		if benchDelay > 0 {
			spin(benchDelay)
		}
		fc.served++
		if fc.werr != nil {
			l.close(lc)
			return
		}
		if fc.w.close {
			if fc.bw.Flush() != nil {
				l.close(lc)
			} else if len(lc.pending) > 0 {
				l.detach(lc, true)
			} else {
				l.close(lc)
			}
			return
		}
	}
	if lc.start == lc.have {
		lc.start, lc.have = 0, 0
	} else if lc.start > 0 {
		lc.have = copy(lc.in, lc.in[lc.start:lc.have])
		lc.start = 0
	}
	if fc.bw.Buffered() > 0 && fc.bw.Flush() != nil {
		l.close(lc)
		return
	}
	fc.bw = nil
	if len(lc.pending) > 0 {
		l.detach(lc, false)
		return
	}
	fc.idle.Store(lc.have == 0)
	if full {
		l.again = append(l.again, lc)
	}
}

// close closes lc and forgets it.
func (l *lane) close(lc *laneConn) {
	l.remove(lc)
	lc.mu.Lock()
	lc.gone = true
	syscall.Close(lc.fd)
	lc.mu.Unlock()
	lc.fc.bw = nil
	l.f.forget(lc.fc)
}

func (l *lane) remove(lc *laneConn) {
	if l.conns[int32(lc.fd)] == lc {
		syscall.EpollCtl(l.ep, syscall.EPOLL_CTL_DEL, lc.fd, nil)
		delete(l.conns, int32(lc.fd))
	}
}

// detach moves lc to a goroutine of the front, with what it read and has
// not answered and what it answered and the socket has not taken; with
// closeAfter, the goroutine only sends that output and closes.
func (l *lane) detach(lc *laneConn, closeAfter bool) {
	fc := lc.fc
	if fc.bw != nil {
		if fc.bw.Flush() != nil {
			l.close(lc)
			return
		}
		fc.bw = nil
	}
	l.remove(lc)
	in := bytes.Clone(lc.in[lc.start:lc.have])
	out := lc.pending
	f := l.f
	f.mu.Lock()
	lc.mu.Lock()
	file := os.NewFile(uintptr(lc.fd), "")
	nc, err := net.FileConn(file) // a duplicate of the descriptor
	file.Close()
	lc.gone = true
	if err == nil {
		fc.c = &replayConn{Conn: nc, pending: in}
	}
	lc.mu.Unlock()
	f.mu.Unlock()
	if err != nil {
		f.s.log.Warn("lane: could not hand a connection to a goroutine", "err", err)
		f.forget(fc)
		return
	}
	fc.idle.Store(false)
	f.detaches.Add(1)
	go fc.resume(out, closeAfter)
}

// resume serves a connection a lane gave up, after sending out.
func (fc *frontConn) resume(out []byte, closeAfter bool) {
	if len(out) > 0 || closeAfter {
		fc.c.SetWriteDeadline(time.Now().Add(fc.f.write))
		if _, err := fc.c.Write(out); err != nil || closeAfter {
			fc.c.Close()
			fc.f.forget(fc)
			return
		}
	}
	fc.serve()
}

// rawIO reads or writes a non-blocking socket. The lane's own thread
// makes it without the runtime's system call bookkeeping: through
// syscall.Read and Write, a write the kernel preempted (the client it
// woke ran first) let sysmon take the lane's P, and the lane then waited
// for one, often milliseconds.
func rawIO(trap uintptr, fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, e := syscall.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// epollET registers connections edge-triggered. Level-triggered epoll
// puts back every connection it returned and, at the next wait, returns
// the ones ready again ahead of those that became ready meanwhile: a
// connection the lane served last time jumps the queue, and the tail
// grows. Edge-triggered, the ready list is in the order the requests
// came.
const epollET = 1 << 31 // syscall.EPOLLET is negative in package syscall

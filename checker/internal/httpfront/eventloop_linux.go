//go:build linux

package httpfront

// Event loops (Linux, TCP listeners).
//
// With a goroutine per connection, a goroutine whose client has its next
// request ready when it reads never parks, so its P does not poll the
// network and the connections queued behind it wait: on two cores shared
// with the clients, p90 and p99 were several times nginx's, and under CPU
// contention (bench/range/run.sh with SERVER_NICE=10) p99 was 15-25 ms
// against nginx's 1-5 ms. An event loop is what nginx's worker is: one
// goroutine on its own OS thread that waits in epoll_wait for all of its
// connections and answers each ready one in turn, so no connection waits
// behind another for more than one answer. Measured (run.sh, 10M keys,
// medians of 3 rounds): at nice 10, p99 2.8 / 3.6 / 3.4 ms at 8 / 32 / 64
// connections, where a goroutine per connection had 16.6 / 22.9 / 26.3.
//
// Handlers run on the loop's thread: one that blocks (an index page read
// from a slow disk) holds up the loop's other connections, as a blocking
// read holds up an nginx worker's. So an event loop serves requests
// without a body (what Config.Take lets through should answer from
// memory or the page cache), and a request with a small body that came
// whole with its head only where Config.LoopBody says its handler
// answers from memory; any other request with a body goes to a
// goroutine.
//
// An event loop answers only the steady state: complete simple requests
// (those the lean path takes, bodyless) whose answers the socket takes at once.
// Anything else (a request the lean path does not take, a POST, an EOF
// after part of a head, an answer the socket buffer did not take) moves
// the connection, with the bytes it read and the output not yet sent, to
// a goroutine (conn.serve), which keeps every rule of the lean path and
// the hand-off to net/http from then on.
//
// Connections are registered edge-triggered (EPOLLET). Level-triggered
// epoll puts back every connection it returned and, at the next wait,
// returns the ones ready again ahead of those that became ready
// meanwhile: a connection the loop served last time jumps the queue, and
// the tail grows. Edge-triggered, the ready list is in the order the
// requests came.
//
// An event loop blocks in epoll_wait through unix.EpollWait, a system
// call the runtime is told of, not a raw one: the runtime then hands the
// loop's P to other goroutines while it waits. (A raw wait looks like a running goroutine: sysmon preempts it
// every 10 ms, and an idle server built that way burned ~6% of a core.)

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// eventLoopsSupported reports whether ln can be served by event loops.
func eventLoopsSupported(ln net.Listener) bool {
	_, ok := ln.(*net.TCPListener)
	return ok
}

type eventLoop struct {
	s    *Server
	ep   int // epoll
	wake int // eventfd: new connections, shutdown

	mu       sync.Mutex
	incoming []*loopConn

	conns  map[int32]*loopConn // the loop goroutine's own
	events [128]unix.EpollEvent
	// again holds connections to read again without waiting for an
	// edge (EPOLLET): their last read filled the buffer, was
	// interrupted, or came with the peer's FIN, and the socket may have
	// more to say that no new edge will announce.
	again []*loopConn
	// bw buffers the answers of the connection being served: a loop
	// serves one connection at a time and flushes before the next.
	bw *bufio.Writer
}

// defaultEventLoops is one fewer than GOMAXPROCS, and at least one. The
// P left over runs the rest of the process (the goroutines of the lean
// path, net/http, the collector), and while there is an idle P the
// runtime leaves a waiting loop its own: with as many event loops as Ps,
// sysmon took the P of every loop that waited more than 20 us and the
// loop had to get one back when it woke. On this project's 2-core machines, with wrk on
// the same cores (bench/range/run.sh, 32 and 64 connections), one loop
// used 11-12 us of CPU a request against 14-17 us for two, and its p99
// was about half.
func defaultEventLoops() int {
	return max(1, runtime.GOMAXPROCS(0)-1)
}

// startEventLoops starts s.EventLoops event loops (defaultEventLoops for
// 0), once.
func (s *Server) startEventLoops() error {
	s.loopOnce.Do(func() {
		n := s.EventLoops
		if n == 0 {
			n = defaultEventLoops()
		}
		var ls []*eventLoop
		for range n {
			l, err := newEventLoop(s)
			if err != nil {
				for _, l := range ls {
					unix.Close(l.ep)
					unix.Close(l.wake)
				}
				s.loopErr = err
				return
			}
			ls = append(ls, l)
		}
		s.mu.Lock()
		s.loops = ls
		s.mu.Unlock()
		for _, l := range ls {
			go l.run()
		}
	})
	return s.loopErr
}

func newEventLoop(s *Server) (*eventLoop, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(ep)
		return nil, os.NewSyscallError("eventfd2", err)
	}
	l := &eventLoop{s: s, ep: ep, wake: wake, conns: map[int32]*loopConn{}, bw: bufio.NewWriterSize(nil, 4<<10)}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, l.wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(l.wake)}); err != nil {
		unix.Close(ep)
		unix.Close(l.wake)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return l, nil
}

// wakeUp makes the loop look at its incoming connections and at s.closing.
func (l *eventLoop) wakeUp() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(l.wake, one[:])
}

// loopTick is how often a loop looks for timed-out connections.
func (s *Server) loopTick() time.Duration {
	return max(min(time.Second, s.idle/4, s.readHeader/4), 10*time.Millisecond)
}

func (l *eventLoop) run() {
	defer func() {
		unix.Close(l.ep)
		unix.Close(l.wake)
	}()
	// The loop's thread is its own: when the loop waits, the runtime
	// hands its P to other goroutines, and the loop takes an idle one
	// back when it wakes.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s := l.s
	tick := s.loopTick()
	lastSweep := time.Now()
	for {
		wait := tick
		if s.closing.Load() {
			wait = 20 * time.Millisecond
		}
		timeout := int(wait / time.Millisecond)
		if len(l.again) > 0 {
			timeout = 0 // they are ready now
		}
		n, err := unix.EpollWait(l.ep, l.events[:], timeout)
		if err != nil && err != unix.EINTR {
			s.log.Error("event loop: epoll_wait failed", "err", err)
			time.Sleep(10 * time.Millisecond)
		}
		now := time.Now()
		for i := range max(n, 0) {
			fd := l.events[i].Fd
			if fd == int32(l.wake) {
				var b [8]byte
				unix.Read(l.wake, b[:])
				l.admit(now)
				continue
			}
			if lc := l.conns[fd]; lc != nil {
				l.serve(lc, now)
				// The peer's FIN came with this edge: read again to
				// see the end of the stream (no later edge says so).
				if l.events[i].Events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 && l.conns[fd] == lc {
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
		if s.closing.Load() {
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

// admit registers the connections dealt to the loop.
func (l *eventLoop) admit(now time.Time) {
	l.mu.Lock()
	in := l.incoming
	l.incoming = nil
	l.mu.Unlock()
	for _, lc := range in {
		lc.last = now
		if err := unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, lc.fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(lc.fd)}); err != nil {
			l.s.log.Warn("event loop: epoll_ctl failed; serving the connection from a goroutine", "err", err)
			l.detach(lc, false)
			continue
		}
		l.conns[int32(lc.fd)] = lc
	}
}

// sweep closes connections idle for IdleTimeout, and those whose head
// has taken ReadHeaderTimeout so far (as a goroutine of the lean path
// does): from the accept for a connection's first request, as net/http
// counts it, so a connection that never sends a byte lasts
// ReadHeaderTimeout, not IdleTimeout.
func (l *eventLoop) sweep(now time.Time) {
	s := l.s
	for _, lc := range l.conns {
		switch {
		case !lc.headStart.IsZero():
			if now.Sub(lc.headStart) > s.readHeader {
				l.close(lc)
			}
		case lc.start == lc.have && now.Sub(lc.last) > s.idle:
			l.close(lc)
		}
	}
}

// serve reads what lc's socket has and answers the complete requests.
func (l *eventLoop) serve(lc *loopConn, now time.Time) {
	fc := lc.fc
	defer func() {
		if p := recover(); p != nil {
			// A handler's panic, or the front's own: drop the
			// connection, as net/http does.
			if p != http.ErrAbortHandler {
				l.s.log.Error("panic in the connection front", "panic", p)
			}
			l.close(lc)
		}
	}()
	m, err := rawIO(unix.SYS_READ, lc.fd, lc.in[lc.have:])
	if err == unix.EAGAIN {
		return
	}
	if err == unix.EINTR {
		l.again = append(l.again, lc) // the edge is spent: read it again
		return
	}
	if err != nil || m <= 0 {
		if err == nil && lc.have > lc.start {
			// The client ended inside a head: a goroutine answers
			// that as the lean path always does.
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
		if len(lc.pending) > 0 {
			// The socket takes no more: answer nothing else until it
			// drains. The goroutine the connection goes to below
			// sends what is pending (blocking, as net/http writes as
			// it goes) before it reads the next request, so a client
			// that pipelines and never reads holds at most one answer
			// and a buffer of output, not one per request it sent.
			break
		}
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
		if hasBareLF(head) || !fc.parse(head) || fc.bodyLen > 0 && !l.body(fc, b[len(head):]) {
			l.detach(lc, false)
			return
		}
		lc.start += len(head) + fc.bodyLen
		lc.headStart = time.Time{}
		fc.respond()
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

// body gives fc's request the body that follows its head in rest, and
// reports whether the loop serves it: only a body of at most MaxLoopBody
// bytes, all in rest, of a request Config.LoopBody accepts.
func (l *eventLoop) body(fc *conn, rest []byte) bool {
	n := fc.bodyLen
	if l.s.body == nil || n > MaxLoopBody || len(rest) < n || !l.s.body(&fc.req) {
		return false
	}
	fc.body = append(fc.body[:0], rest[:n]...)
	fc.bodyR = body{b: fc.body}
	fc.req.Body = &fc.bodyR
	return true
}

// close closes lc and forgets it.
func (l *eventLoop) close(lc *loopConn) {
	l.remove(lc)
	lc.mu.Lock()
	lc.gone = true
	unix.Close(lc.fd)
	lc.mu.Unlock()
	lc.fc.bw = nil
	l.s.forget(lc.fc)
}

func (l *eventLoop) remove(lc *loopConn) {
	if l.conns[int32(lc.fd)] == lc {
		unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, lc.fd, nil)
		delete(l.conns, int32(lc.fd))
	}
}

// detach moves lc to a goroutine of the lean path, with what it read and has
// not answered and what it answered and the socket has not taken; with
// closeAfter, the goroutine only sends that output and closes.
func (l *eventLoop) detach(lc *loopConn, closeAfter bool) {
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
	s := l.s
	s.mu.Lock()
	lc.mu.Lock()
	file := os.NewFile(uintptr(lc.fd), "")
	nc, err := net.FileConn(file) // a duplicate of the descriptor
	file.Close()
	lc.gone = true
	if err == nil {
		fc.c = &replayConn{Conn: nc, pending: in}
	}
	lc.mu.Unlock()
	s.mu.Unlock()
	if err != nil {
		s.log.Warn("event loop: could not hand a connection to a goroutine", "err", err)
		s.forget(fc)
		return
	}
	fc.idle.Store(false)
	fc.headStart = lc.headStart // the head's timeout runs on
	go fc.resume(out, closeAfter)
}

// resume serves a connection a loop gave up, after sending out.
func (fc *conn) resume(out []byte, closeAfter bool) {
	if len(out) > 0 || closeAfter {
		fc.c.SetWriteDeadline(time.Now().Add(fc.s.write))
		if _, err := fc.c.Write(out); err != nil || closeAfter {
			fc.c.Close()
			fc.s.forget(fc)
			return
		}
	}
	fc.serve()
}

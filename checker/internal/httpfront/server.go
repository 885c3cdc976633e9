// Package httpfront serves an HTTP handler over HTTP/1.1 with a lean path
// for simple keep-alive requests, and hands everything else to net/http.
//
// Measured on this project's 2-core machines (bench/range/run.sh), nearly
// all of a range request's cost under net/http was net/http's own per
// request work (request and header allocation, the background read
// goroutine, response buffering), not the range lookup; it held the range
// endpoint below nginx serving the same ranges as static files. A
// [Server] reads simple requests straight off the connection's buffer,
// hands them to the handler with a reused request, header map and
// ResponseWriter, and writes the response with a cached Date. Whatever it
// does not recognise as simple it hands, with the bytes already read, to
// the [http.Server] it was made with, which serves the connection from
// then on, so every odd case is answered by net/http itself. The tests
// check that the two paths give the same bytes, request by request. On
// Linux, the connections of TCP listeners are served by event loops that
// answer the lean path's requests and give a connection to a goroutine
// for anything else.
//
// The handler does not know which path serves it: it gets an ordinary
// [http.ResponseWriter] and [http.Request] either way, and writes
// ordinary headers and bytes.
//
// # The lean path
//
// It takes a request when all of these hold, and hands it off otherwise:
//   - lines end in CRLF;
//   - the request line is "GET", "HEAD" or "POST", an origin-form target
//     without '%' or control bytes, and exactly "HTTP/1.1";
//   - the head (request line and headers) fits in the connection's 4 KiB
//     read buffer;
//   - exactly one Host header; no Transfer-Encoding, Expect or Upgrade
//     header; no Content-Length but on a POST, which has exactly one, of
//     at most 64 KiB; no obsolete line folding; header names are tokens
//     and values hold no control bytes but tab;
//   - [Config.Take] accepts the request.
//
// A request without a body carries only the headers [Config.Headers]
// names; one with a body carries them all.
//
// Limits are the http.Server's, counted as net/http counts them:
// ReadHeaderTimeout from the accept for a connection's first request,
// IdleTimeout between requests and then ReadHeaderTimeout from the first
// byte of a head that arrives in pieces (once a request: a head handed to
// net/http midway keeps what is left of it), ReadTimeout for a body,
// WriteTimeout for writing responses (the idle and write deadlines are
// refreshed at most once a second, so each may run up to a second
// short). A connection whose socket takes no more output is answered no
// further until it does, so a client that pipelines and never reads
// makes the server hold about one answer.
package httpfront

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Config says which requests the lean path of a [Server] takes, and what
// it gives their handler.
type Config struct {
	// Take reports whether the lean path may serve r; it hands the
	// others to net/http. r has its method (GET, HEAD or POST), URL,
	// Host and the headers the handler gets. Take is called before the
	// body is read and must not keep r. nil takes every request.
	Take func(r *http.Request) bool
	// Headers names the request headers handlers read (canonical form,
	// at most 8): a request without a body carries those and no other,
	// which spares a copy of each header nobody reads (User-Agent, ...).
	// A value sent again on the next request of a connection is reused,
	// not copied. nil gives every header to every request.
	Headers []string
	// Logger receives what goes wrong in the front itself (a failed
	// accept, a panic outside the handler); nil means slog.Default().
	Logger *slog.Logger
	// LoopBody reports whether an event loop may serve r, a request the
	// lean path takes that has a body of at most [MaxLoopBody] bytes,
	// already read whole, on the loop's own thread rather than moving
	// the connection to a goroutine: only for handlers that answer from
	// memory, in well under a millisecond of CPU. nil serves no body on
	// an event loop.
	LoopBody func(r *http.Request) bool
}

// MaxLoopBody is the largest request body an event loop serves itself
// (Config.LoopBody).
const MaxLoopBody = 256

// maxNamedHeaders bounds Config.Headers: each costs a comparison per
// header line.
const maxNamedHeaders = 8

// Server serves an [http.Server]'s handler on listeners: the lean path
// for simple requests, the http.Server itself for the rest. Create it
// with [New].
type Server struct {
	// EventLoops is the number of event loops serving the connections
	// of TCP listeners on Linux: 0 for one fewer than GOMAXPROCS (at
	// least one), negative for none (a goroutine per connection, as on
	// other systems and other listeners). Set it before Serve.
	EventLoops int

	handler http.Handler
	take    func(*http.Request) bool
	body    func(*http.Request) bool // Config.LoopBody
	named   []string                 // Config.Headers, canonical
	lower   []string                 // the same, lower case, for matching
	log     *slog.Logger
	hs      *http.Server // what the lean path hands off
	q       *connQueue

	idle, readHeader, read, write time.Duration

	startOnce sync.Once

	mu      sync.Mutex
	lns     map[*net.Listener]struct{}
	conns   map[*conn]struct{}
	closing atomic.Bool

	loopOnce  sync.Once
	loopErr   error
	loops     []*eventLoop          // under mu once started
	loopFiles map[*os.File]struct{} // listening sockets the loops accept on
}

// New returns a Server for hs: hs.Handler answers every request (nil
// means [http.DefaultServeMux]), hs's timeouts are the lean path's, and hs
// serves the connections the lean path hands off. Call [Server.Serve]
// with a listener, never hs's own Serve or ListenAndServe, and
// [Server.Shutdown] or [Server.Close] to stop. New panics if c.Headers
// names more than 8 headers.
func New(hs *http.Server, c Config) *Server {
	if len(c.Headers) > maxNamedHeaders {
		panic("httpfront: more than 8 named headers")
	}
	h := hs.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	s := &Server{
		handler: h, take: c.Take, body: c.LoopBody, log: c.Logger, hs: hs, q: newConnQueue(),
		// net/http's fallbacks: ReadTimeout when the others are zero.
		idle: cmp.Or(hs.IdleTimeout, hs.ReadTimeout), readHeader: cmp.Or(hs.ReadHeaderTimeout, hs.ReadTimeout),
		read: hs.ReadTimeout, write: hs.WriteTimeout,
		lns: map[*net.Listener]struct{}{}, conns: map[*conn]struct{}{},
		loopFiles: map[*os.File]struct{}{},
	}
	if c.Headers != nil {
		s.named = make([]string, len(c.Headers))
		s.lower = make([]string, len(c.Headers))
		for i, n := range c.Headers {
			s.named[i] = http.CanonicalHeaderKey(n)
			s.lower[i] = strings.ToLower(n)
		}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// Serve accepts connections on ln until [Server.Shutdown] or
// [Server.Close], and then returns [http.ErrServerClosed]; other errors
// are returned as they come. Serve closes ln.
func (s *Server) Serve(ln net.Listener) error {
	s.startOnce.Do(func() {
		s.q.addr = ln.Addr()
		go s.hs.Serve(s.q) // returns when q is closed
	})
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	s.lns[&ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.lns, &ln)
		s.mu.Unlock()
		ln.Close()
	}()
	if s.EventLoops >= 0 && eventLoopsSupported(ln) {
		err := s.startEventLoops()
		if err == nil {
			return s.acceptEventLoops(ln)
		}
		s.log.Warn("no event loops; serving a goroutine per connection", "err", err)
	}
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// As net/http does: back off on EMFILE and the like.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed; retrying", "err", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		fc := &conn{s: s, c: c, headStart: time.Now()}
		s.mu.Lock()
		if s.closing.Load() {
			s.mu.Unlock()
			c.Close()
			return http.ErrServerClosed
		}
		s.conns[fc] = struct{}{}
		s.mu.Unlock()
		go fc.serve()
	}
}

// Shutdown stops the server gracefully, as [http.Server.Shutdown] does:
// it closes the listeners, then closes connections as they become idle,
// and returns once none is left or ctx is done (with ctx's error).
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopListening()
	hsDone := make(chan error, 1)
	go func() { hsDone <- s.hs.Shutdown(ctx) }()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		s.mu.Lock()
		n := len(s.conns)
		for fc := range s.conns {
			if fc.idle.Load() {
				// Wake its read; it sees closing and leaves.
				fc.c.SetReadDeadline(time.Now())
			}
		}
		s.mu.Unlock()
		if n == 0 {
			return <-hsDone
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Close closes the listeners and every connection at once.
func (s *Server) Close() error {
	s.stopListening()
	s.mu.Lock()
	for fc := range s.conns {
		fc.c.Close()
	}
	s.mu.Unlock()
	return s.hs.Close()
}

func (s *Server) stopListening() {
	s.mu.Lock()
	s.closing.Store(true)
	for ln := range s.lns {
		(*ln).Close()
	}
	for lf := range s.loopFiles {
		lf.Close()
	}
	for _, l := range s.loops {
		l.wakeUp()
	}
	s.mu.Unlock()
	s.q.Close()
}

func (s *Server) forget(fc *conn) {
	s.mu.Lock()
	delete(s.conns, fc)
	s.mu.Unlock()
}

// connQueue is a net.Listener whose connections are those the lean path
// hands off.
type connQueue struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
	addr net.Addr
}

func newConnQueue() *connQueue {
	return &connQueue{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (q *connQueue) push(c net.Conn) bool {
	select {
	case q.ch <- c:
		return true
	case <-q.done:
		return false
	}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.ch:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

func (q *connQueue) Addr() net.Addr {
	if q.addr == nil {
		return &net.TCPAddr{}
	}
	return q.addr
}

// replayConn is a connection whose first reads return bytes already read
// from it.
type replayConn struct {
	net.Conn
	pending []byte
	// headDeadline, if set, is the latest read deadline the first
	// SetReadDeadline sets: net/http's first, for the head of the
	// connection's first request, is ReadHeaderTimeout from when it
	// got the connection, and the head began earlier.
	headDeadline time.Time
}

func (c *replayConn) SetReadDeadline(t time.Time) error {
	if !c.headDeadline.IsZero() {
		if t.IsZero() || t.After(c.headDeadline) {
			t = c.headDeadline
		}
		c.headDeadline = time.Time{}
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

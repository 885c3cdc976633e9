package httpfront

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// bufSize is the read buffer of a connection on the lean path: a head
// that does not fit goes to net/http, whose limit is 16 KiB by default.
const bufSize = 4 << 10

// conn is one connection on the lean path.
type conn struct {
	s    *Server
	c    net.Conn
	idle atomic.Bool // waiting for the first byte of a request

	br *bufio.Reader
	bw *bufio.Writer

	rdl, wdl time.Time // when the read and write deadlines were last pushed out
	// headStart is when the head being read began, for
	// ReadHeaderTimeout, as net/http counts it: the accept for a
	// connection's first request, (about) its first byte for the next
	// ones. Zero between requests, and until a head is seen not to be
	// in the buffer whole.
	headStart time.Time

	req     http.Request
	reqHdr  http.Header // the request's header map, reused
	host    string      // the last request's Host
	remote  string      // the connection's remote address
	url     url.URL
	w       responseWriter
	served  int                       // requests answered on this connection
	bodyLen int                       // Content-Length of the request
	body    []byte                    // the request body
	bodyR   body                      // reads body
	keys    []string                  // header names, for sorting
	lastHdr [maxNamedHeaders][]string // the named headers of the last request, by Config.Headers index
	out     []byte                    // the response head
	vec     [2][]byte                 // the head and the body of a big response
	nb      net.Buffers               // vec as written by writev (consumed by WriteTo)
	werr    error                     // a failed direct write: the connection is done
}

var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, bufSize) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}
)

// serve runs the lean path on the connection until it ends or is handed
// off.
func (fc *conn) serve() {
	s := fc.s
	fc.br = readers.Get().(*bufio.Reader)
	// The connection's own Read and Write, on purpose. Reading and
	// writing the socket with raw system calls saved ~1-3 us of CPU a
	// request, but the runtime then cannot tell a thread that the kernel
	// preempted inside a write (the client it woke runs first) from one
	// running Go code, so the P and the goroutines queued on it wait for
	// that thread: with the server at a lower priority than its clients
	// (the contention bench/range/run.sh sets up with SERVER_NICE=10),
	// p99 at 8 connections was 60 ms with raw calls and 16 ms without.
	fc.br.Reset(fc.c)
	fc.bw = writers.Get().(*bufio.Writer)
	fc.bw.Reset(fc.c)
	if fc.remote == "" {
		// (An event loop's connection has its address from accept:
		// asked again here, after the loop gave it up, a peer gone
		// meanwhile has none.)
		if a := fc.c.RemoteAddr(); a != nil {
			fc.remote = a.String()
		}
	}
	if fc.w.hdr == nil {
		fc.w.hdr = http.Header{}
	}
	handedOff := false
	defer func() {
		if p := recover(); p != nil {
			// A handler's panic, or the front's own: drop the
			// connection, as net/http does.
			if p != http.ErrAbortHandler {
				s.log.Error("panic in the connection front", "panic", p)
			}
		}
		s.forget(fc)
		if !handedOff {
			fc.c.Close()
		}
		fc.br.Reset(nil)
		fc.bw.Reset(nil)
		readers.Put(fc.br)
		writers.Put(fc.bw)
	}()
	for {
		head, ok := fc.readHead()
		if !ok {
			fc.bw.Flush()
			return
		}
		if head == nil || !fc.parse(head) {
			if fc.bw.Flush() != nil {
				return
			}
			handedOff = fc.handOff()
			return
		}
		fc.br.Discard(len(head))
		fc.headStart = time.Time{}
		if fc.bodyLen > 0 && !fc.readBody() {
			fc.bw.Flush()
			return
		}
		fc.respond()
		fc.served++
		if fc.werr != nil {
			return
		}
		if cut, _ := fc.cutShort(); cut || fc.w.close || s.closing.Load() {
			fc.bw.Flush()
			return
		}
		if fc.br.Buffered() == 0 {
			// Pipelined requests are answered in one write.
			if fc.bw.Flush() != nil {
				return
			}
		}
	}
}

var crlf2 = []byte("\r\n\r\n")

// errWrite marks a connection whose buffered answers failed to go out.
var errWrite = errors.New("httpfront: write failed")

// readHead returns the next request head (through its blank line) from
// the read buffer, reading as needed. It returns nil, true for a head
// that does not fit the buffer (hand off), and false when the connection
// is done: closed, timed out, failed, or the server is shutting down.
func (fc *conn) readHead() ([]byte, bool) {
	s := fc.s
	if fc.br.Buffered() == 0 {
		if s.closing.Load() {
			return nil, false
		}
		if !fc.headStart.IsZero() {
			// A connection's first request: net/http gives it
			// ReadHeaderTimeout from the accept, not IdleTimeout.
			fc.c.SetReadDeadline(fc.headStart.Add(s.readHeader))
			fc.rdl = time.Time{}
		} else if now := time.Now(); now.Sub(fc.rdl) > time.Second {
			fc.c.SetReadDeadline(now.Add(s.idle))
			fc.rdl = now
		}
		fc.idle.Store(true)
		if s.closing.Load() { // Shutdown may have looked before idle was set
			fc.idle.Store(false)
			return nil, false
		}
		_, err := fc.br.Peek(1)
		fc.idle.Store(false)
		if err != nil {
			return nil, false
		}
	}
	if fc.served > 0 && fc.br.Buffered() < 4 {
		// As net/http between requests: wait for 4 bytes, and close
		// silently on fewer.
		if fc.bw.Buffered() > 0 && fc.bw.Flush() != nil {
			return nil, false
		}
		if _, err := fc.br.Peek(4); err != nil {
			return nil, false
		}
	}
	headerDeadline := false
	for {
		n := fc.br.Buffered()
		b, _ := fc.br.Peek(n)
		if i := bytes.Index(b, crlf2); i >= 0 {
			b = b[:i+4]
			if hasBareLF(b) {
				return nil, true
			}
			return b, true
		}
		if fc.headStart.IsZero() {
			fc.headStart = time.Now()
		}
		if n == fc.br.Size() || hasBareLF(b) {
			return nil, true // too big, or lines end in a bare LF: net/http's
		}
		if !headerDeadline {
			// The head arrives in pieces: it has ReadHeaderTimeout
			// from its start to complete.
			fc.c.SetReadDeadline(fc.headStart.Add(s.readHeader))
			fc.rdl = time.Time{} // the idle deadline must be set again
			headerDeadline = true
		}
		// Answers to earlier pipelined requests go out before waiting.
		if fc.bw.Buffered() > 0 && fc.bw.Flush() != nil {
			return nil, false
		}
		if _, err := fc.br.Peek(n + 1); err != nil {
			if n > 0 && !isTimeout(err) && (fc.served == 0 || n >= 4) {
				// A partial head: net/http says what is wrong. (After a
				// first request, it closes silently on fewer than 4
				// bytes, as here.)
				return nil, true
			}
			return nil, false
		}
	}
}

// hasBareLF reports a line feed not preceded by a carriage return.
func hasBareLF(b []byte) bool {
	for i := bytes.IndexByte(b, '\n'); i >= 0; {
		if i == 0 || b[i-1] != '\r' {
			return true
		}
		j := bytes.IndexByte(b[i+1:], '\n')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// readBody reads the request body, within ReadTimeout when it is not
// all in the buffer yet. A body cut short by the client's end or a
// timeout is served as net/http serves it: the handler reads what came
// and then the error (io.ErrUnexpectedEOF for an early end), and the
// connection closes after the answer (see [conn.cutShort] for what the
// answer says). readBody reports false only when the connection failed
// otherwise.
func (fc *conn) readBody() bool {
	n := fc.bodyLen
	if cap(fc.body) < n {
		fc.body = make([]byte, n)
	}
	fc.body = fc.body[:n]
	if fc.br.Buffered() < n {
		if fc.bw.Buffered() > 0 && fc.bw.Flush() != nil {
			return false
		}
		fc.c.SetReadDeadline(time.Now().Add(fc.s.read))
		fc.rdl = time.Time{}
	}
	got, err := io.ReadFull(fc.br, fc.body)
	fc.bodyR = body{b: fc.body[:got]}
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.ErrUnexpectedEOF
		} else if !isTimeout(err) {
			return false
		}
		fc.bodyR.err = err
	}
	fc.req.Body = &fc.bodyR
	return true
}

// body is a request body as read: in full, or cut short by err.
type body struct {
	b       []byte
	err     error // after b: nil means io.EOF
	errSeen bool  // a Read returned err
}

func (r *body) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		if r.err != nil {
			r.errSeen = true
			return 0, r.err
		}
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func (r *body) Close() error { return nil }

// cutShort reports whether the request's body was cut short, and if so
// whether the answer says "Connection: close", as net/http's does: not
// when the client's end cut it and the handler read up to that (net/http
// then holds the body done), and so in every other case, the connection
// closing after the answer all the same.
func (fc *conn) cutShort() (cut, sayClose bool) {
	if fc.req.Body != &fc.bodyR || fc.bodyR.err == nil {
		return false, false
	}
	return true, !(fc.bodyR.errSeen && fc.bodyR.err == io.ErrUnexpectedEOF)
}

// handOff passes the connection, with the bytes read but not served, to
// the net/http server, and what is left of the head's ReadHeaderTimeout
// (net/http would start it afresh). It reports false if the server is
// closing (the connection is then closed by the caller).
func (fc *conn) handOff() bool {
	var pending []byte
	if n := fc.br.Buffered(); n > 0 {
		b, _ := fc.br.Peek(n)
		pending = bytes.Clone(b)
	}
	rc := &replayConn{Conn: fc.c, pending: pending}
	if s := fc.s; s.readHeader > 0 {
		start := fc.headStart
		if start.IsZero() {
			start = time.Now()
		}
		rc.headDeadline = start.Add(s.readHeader)
	}
	fc.c.SetDeadline(time.Time{})
	return fc.s.q.push(rc)
}

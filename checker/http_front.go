package checker

// The connection front of a Server: a lean HTTP/1.1 keep-alive loop for
// the hot routes, and net/http for everything else.
//
// Measured on this project's 2-core machines (bench/range/run.sh), nearly
// all of a range request's cost under net/http was net/http's own per
// request work (request and header allocation, the background read
// goroutine, response buffering), not the range lookup; it held the range
// endpoint below nginx serving the same ranges as static files. The front
// reads simple requests straight off the connection's buffer, hands them
// to the same Server.ServeHTTP with a reused request, header map and
// ResponseWriter, and writes the response with a cached Date. Whatever it
// does not recognise as simple it hands, with the bytes already read, to a
// net/http.Server that serves the connection from then on, so every odd
// case is answered by net/http itself. http_front_test.go checks the two
// paths give the same responses, request by request. On Linux, the
// connections of TCP listeners are served by lanes, event loops that
// answer the lean path's requests and give a connection to a goroutine of
// this file for anything else (http_front_lanes_linux.go).
//
// The lean path takes a request when all of these hold, and hands it off
// otherwise:
//   - lines end in CRLF;
//   - the request line is "GET" or "HEAD" (or "POST" for a private
//     query), an origin-form target without '%' or control bytes, and
//     exactly "HTTP/1.1";
//   - the head (request line and headers) fits in the connection's 4 KiB
//     read buffer;
//   - exactly one Host header; no Transfer-Encoding, Expect or Upgrade
//     header; no Content-Length but on a POST, which has exactly one, of
//     at most 64 KiB; no obsolete line folding; header names are tokens
//     and values hold no control bytes but tab;
//   - the route is a range, /v1/datasets, /v1/stats, /healthz or
//     /openapi.json, or for a POST the private query.
//
// Limits match [Server.HTTPServer]: IdleTimeout between requests,
// ReadHeaderTimeout for a head that arrives in pieces, WriteTimeout for
// writing responses (the deadlines are refreshed at most once a second,
// so each may run up to a second short).

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// frontBufSize is the read buffer of a connection on the lean path: a
// head that does not fit goes to net/http, whose limit is 16 KiB.
const frontBufSize = 4 << 10

// Front serves a [Server] on listeners. Create it with [Server.Front].
type Front struct {
	// Lanes is the number of event loops serving the connections of
	// TCP listeners on Linux (see http_front_lanes_linux.go): 0 for one
	// fewer than GOMAXPROCS (at least one), negative for none (a
	// goroutine per connection, as on other systems and other
	// listeners). Set it before Serve.
	Lanes int

	s  *Server
	hs *http.Server // what the lean path hands off
	q  *connQueue

	idle, readHeader, read, write time.Duration

	startOnce sync.Once
	hsErr     chan error

	mu      sync.Mutex
	lns     map[*net.Listener]struct{}
	conns   map[*frontConn]struct{}
	closing atomic.Bool

	handOffs atomic.Int64 // connections handed to net/http (tests)

	laneOnce  sync.Once
	laneErr   error
	lanes     []*lane               // under mu once started
	laneFiles map[*os.File]struct{} // listening sockets the lanes accept on
	laneWG    sync.WaitGroup        // running lanes (tests)
	detaches  atomic.Int64          // connections lanes gave to goroutines (tests)
}

// Front returns the connection front of s: call [Front.Serve] with a
// listener, and [Front.Shutdown] or [Front.Close] to stop. The limits are
// those of [Server.HTTPServer], which also serves what the lean path hands
// off.
func (s *Server) Front() *Front {
	hs := s.HTTPServer("")
	return &Front{
		s: s, hs: hs, q: newConnQueue(),
		idle: hs.IdleTimeout, readHeader: hs.ReadHeaderTimeout, read: hs.ReadTimeout, write: hs.WriteTimeout,
		hsErr: make(chan error, 1),
		lns:   map[*net.Listener]struct{}{}, conns: map[*frontConn]struct{}{},
		laneFiles: map[*os.File]struct{}{},
	}
}

// Serve accepts connections on ln until [Front.Shutdown] or [Front.Close],
// and then returns [http.ErrServerClosed]; other errors are returned as
// they come. Serve closes ln.
func (f *Front) Serve(ln net.Listener) error {
	f.startOnce.Do(func() {
		f.q.addr = ln.Addr()
		go func() { f.hsErr <- f.hs.Serve(f.q) }()
	})
	f.mu.Lock()
	if f.closing.Load() {
		f.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	f.lns[&ln] = struct{}{}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.lns, &ln)
		f.mu.Unlock()
		ln.Close()
	}()
	if f.Lanes >= 0 && lanesSupported(ln) {
		err := f.startLanes()
		if err == nil {
			return f.acceptLanes(ln)
		}
		f.s.log.Warn("no event loops; serving a goroutine per connection", "err", err)
	}
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if f.closing.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// As net/http does: back off on EMFILE and the like.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				f.s.log.Warn("accept failed; retrying", "err", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		fc := &frontConn{f: f, c: c}
		f.mu.Lock()
		if f.closing.Load() {
			f.mu.Unlock()
			c.Close()
			return http.ErrServerClosed
		}
		f.conns[fc] = struct{}{}
		f.mu.Unlock()
		go fc.serve()
	}
}

// Shutdown stops the front gracefully, as [http.Server.Shutdown] does:
// it closes the listeners, then closes connections as they become idle,
// and returns once none is left or ctx is done (with ctx's error).
func (f *Front) Shutdown(ctx context.Context) error {
	f.stopListening()
	hsDone := make(chan error, 1)
	go func() { hsDone <- f.hs.Shutdown(ctx) }()
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		f.mu.Lock()
		n := len(f.conns)
		for fc := range f.conns {
			if fc.idle.Load() {
				// Wake its read; it sees closing and leaves.
				fc.c.SetReadDeadline(time.Now())
			}
		}
		f.mu.Unlock()
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
func (f *Front) Close() error {
	f.stopListening()
	f.mu.Lock()
	for fc := range f.conns {
		fc.c.Close()
	}
	f.mu.Unlock()
	return f.hs.Close()
}

func (f *Front) stopListening() {
	f.mu.Lock()
	f.closing.Store(true)
	for ln := range f.lns {
		(*ln).Close()
	}
	for lf := range f.laneFiles {
		lf.Close()
	}
	for _, l := range f.lanes {
		l.wakeUp()
	}
	f.mu.Unlock()
	f.q.Close()
}

func (f *Front) forget(fc *frontConn) {
	f.mu.Lock()
	delete(f.conns, fc)
	f.mu.Unlock()
}

// frontConn is one connection on the lean path.
type frontConn struct {
	f    *Front
	c    net.Conn
	idle atomic.Bool // waiting for the first byte of a request

	br *bufio.Reader
	bw *bufio.Writer

	rdl, wdl time.Time // when the read and write deadlines were last pushed out

	req     http.Request
	reqHdr  http.Header // the request's header map, reused
	host    string      // the last request's Host
	remote  string      // the connection's remote address
	url     url.URL
	w       frontWriter
	served  int         // requests answered on this connection
	bodyLen int         // Content-Length of the request
	body    []byte      // the request body
	bodyR   frontBody   // reads body
	keys    []string    // header names, for sorting
	lastHdr [4][]string // Accept, Add-Padding, If-None-Match, Content-Type of the last request
	out     []byte      // the response head
	vec     [2][]byte   // the head and the body of a big response
	nb      net.Buffers // vec as written by writev (consumed by WriteTo)
	werr    error       // a failed direct write: the connection is done
}

var (
	frontReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, frontBufSize) }}
	frontWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}
)

func (fc *frontConn) serve() {
	f := fc.f
	fc.br = frontReaders.Get().(*bufio.Reader)
	// The connection's own Read and Write, on purpose. Reading and
	// writing the socket with raw system calls saved ~1-3 us of CPU a
	// request, but the runtime then cannot tell a thread that the kernel
	// preempted inside a write (the client it woke runs first) from one
	// running Go code, so the P and the goroutines queued on it wait for
	// that thread: with the server at a lower priority than its clients
	// (the contention bench/range/run.sh sets up with SERVER_NICE=10),
	// p99 at 8 connections was 60 ms with raw calls and 16 ms without.
	fc.br.Reset(fc.c)
	fc.bw = frontWriters.Get().(*bufio.Writer)
	fc.bw.Reset(fc.c)
	fc.remote = fc.c.RemoteAddr().String()
	fc.w.hdr = http.Header{}
	handedOff := false
	defer func() {
		if p := recover(); p != nil {
			// ServeHTTP recovers its own panics; this is the front's
			// own, or http.ErrAbortHandler: drop the connection.
			if p != http.ErrAbortHandler {
				f.s.log.Error("panic in the connection front", "panic", p)
			}
		}
		f.forget(fc)
		if !handedOff {
			fc.c.Close()
		}
		fc.br.Reset(nil)
		fc.bw.Reset(nil)
		frontReaders.Put(fc.br)
		frontWriters.Put(fc.bw)
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
		if fc.bodyLen > 0 && !fc.readBody() {
			fc.bw.Flush()
			return
		}
		fc.respond()
		fc.served++
		if fc.werr != nil {
			return
		}
		if fc.w.close || f.closing.Load() {
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

// errFrontWrite marks a connection whose buffered answers failed to go out.
var errFrontWrite = errors.New("front: write failed")

// readHead returns the next request head (through its blank line) from
// the read buffer, reading as needed. It returns nil, true for a head
// that does not fit the buffer (hand off), and false when the connection
// is done: closed, timed out, failed, or the front is shutting down.
func (fc *frontConn) readHead() ([]byte, bool) {
	f := fc.f
	if fc.br.Buffered() == 0 {
		if f.closing.Load() {
			return nil, false
		}
		if now := time.Now(); now.Sub(fc.rdl) > time.Second {
			fc.c.SetReadDeadline(now.Add(f.idle))
			fc.rdl = now
		}
		fc.idle.Store(true)
		if f.closing.Load() { // Shutdown may have looked before idle was set
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
		if n == fc.br.Size() || hasBareLF(b) {
			return nil, true // too big, or lines end in a bare LF: net/http's
		}
		if !headerDeadline {
			// The head arrives in pieces: it has ReadHeaderTimeout to
			// complete.
			fc.c.SetReadDeadline(time.Now().Add(f.readHeader))
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

// parse fills fc.req from head and reports whether the lean path takes
// the request (see the top of this file).
func (fc *frontConn) parse(head []byte) bool {
	line, rest, ok := bytes.Cut(head, []byte("\r\n"))
	if !ok {
		return false
	}
	method, line, ok1 := bytes.Cut(line, []byte(" "))
	target, proto, ok2 := bytes.Cut(line, []byte(" "))
	if !ok1 || !ok2 || string(proto) != "HTTP/1.1" {
		return false
	}
	var m string
	switch string(method) {
	case http.MethodGet:
		m = http.MethodGet
	case http.MethodHead:
		m = http.MethodHead
	case http.MethodPost:
		m = http.MethodPost
	default:
		return false
	}
	if len(target) == 0 || target[0] != '/' {
		return false
	}
	for _, c := range target {
		if c <= ' ' || c == 0x7f || c == '%' || c == '#' || c >= 0x80 {
			return false
		}
	}
	uri := string(target)
	path, rawQuery, hasQuery := strings.Cut(uri, "?")
	switch route := routeOf(path); {
	case m == http.MethodPost:
		if route != routePrivateQuery {
			return false
		}
	case route == routeRange, route == routeDatasets, route == routeStats, route == routeHealth, route == routeOpenAPI:
	default:
		return false
	}

	clear(fc.w.hdr)
	h := fc.reqHdr
	if h == nil {
		h = http.Header{}
		fc.reqHdr = h
	}
	clear(h)
	hosts := 0
	connClose := false
	bodyLen := -1
	for len(rest) > 2 {
		var hl []byte
		hl, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		if len(hl) == 0 {
			break
		}
		colon := bytes.IndexByte(hl, ':')
		if colon <= 0 {
			return false
		}
		name, value := hl[:colon], bytes.Trim(hl[colon+1:], " \t")
		for _, c := range name {
			if !isTokenByte(c) {
				return false // obs-fold, spaces before the colon, ...
			}
		}
		for _, c := range value {
			if c < ' ' && c != '\t' || c == 0x7f {
				return false
			}
		}
		switch {
		case asciiEqualFold(name, "host"):
			hosts++
			if fc.host != string(value) { // the same host as last time: no copy
				fc.host = string(value)
			}
		case asciiEqualFold(name, "connection"):
			v := string(value)
			for len(v) > 0 {
				var tok string
				tok, v, _ = strings.Cut(v, ",")
				tok = strings.Trim(tok, " \t")
				switch {
				case strings.EqualFold(tok, "close"):
					connClose = true
				case strings.EqualFold(tok, "upgrade"):
					return false
				}
			}
		case asciiEqualFold(name, "content-length"):
			if m != http.MethodPost || bodyLen >= 0 {
				return false
			}
			if bodyLen = parseContentLength(value); bodyLen < 0 {
				return false
			}
		case asciiEqualFold(name, "transfer-encoding"), asciiEqualFold(name, "expect"), asciiEqualFold(name, "upgrade"):
			return false
		case asciiEqualFold(name, "content-type"):
			fc.addHeader(h, "Content-Type", value, 3)
		case asciiEqualFold(name, "accept"):
			fc.addHeader(h, "Accept", value, 0)
		case asciiEqualFold(name, "add-padding"):
			fc.addHeader(h, "Add-Padding", value, 1)
		case asciiEqualFold(name, "if-none-match"):
			fc.addHeader(h, "If-None-Match", value, 2)
		default:
			if m == http.MethodPost {
				// A private query's handler may read any header (a
				// ClientID from a proxy's header): all of them, as
				// net/http gives. Evaluation dwarfs the copies.
				k := textproto.CanonicalMIMEHeaderKey(string(name))
				h[k] = append(h[k], string(value))
			}
		}
	}
	if hosts != 1 || !validHost(fc.host) {
		return false
	}
	if m == http.MethodPost && bodyLen < 0 {
		return false // a body of unknown length
	}
	fc.bodyLen = max(bodyLen, 0)
	fc.url = url.URL{Path: path}
	if hasQuery {
		fc.url.RawQuery = rawQuery
	}
	// A fresh request each time: nothing a handler set on the last one
	// (Form, a context, ...) carries over.
	fc.req = http.Request{
		Method: m, URL: &fc.url, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: http.NoBody, ContentLength: int64(fc.bodyLen), Close: connClose,
		Host: fc.host, RemoteAddr: fc.remote, RequestURI: uri,
	}
	fc.w.reset(m == http.MethodHead, connClose)
	return true
}

// frontMaxBody caps the request bodies the lean path reads (a private
// query of DefaultMaxElements is ~4 KiB); longer ones go to net/http.
const frontMaxBody = 64 << 10

// parseContentLength parses a Content-Length the lean path takes: 1 to 7
// digits, at most frontMaxBody; -1 otherwise.
func parseContentLength(v []byte) int {
	if len(v) == 0 || len(v) > 7 {
		return -1
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	if n > frontMaxBody {
		return -1
	}
	return n
}

// readBody reads the request body, within ReadTimeout when it is not
// all in the buffer yet. A body cut short by the client's end or a
// timeout is served as net/http serves it: the handler reads what came
// and then the error (io.ErrUnexpectedEOF for an early end), and the
// connection closes after the answer. readBody reports false only when
// the connection failed otherwise.
func (fc *frontConn) readBody() bool {
	n := fc.bodyLen
	if cap(fc.body) < n {
		fc.body = make([]byte, n)
	}
	fc.body = fc.body[:n]
	if fc.br.Buffered() < n {
		if fc.bw.Buffered() > 0 && fc.bw.Flush() != nil {
			return false
		}
		fc.c.SetReadDeadline(time.Now().Add(fc.f.read))
		fc.rdl = time.Time{}
	}
	got, err := io.ReadFull(fc.br, fc.body)
	fc.bodyR = frontBody{b: fc.body[:got]}
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.ErrUnexpectedEOF
		} else if !isTimeout(err) {
			return false
		}
		fc.bodyR.err = err
		fc.w.close = true
	}
	fc.req.Body = &fc.bodyR
	return true
}

// frontBody is a request body as read: in full, or cut short by err.
type frontBody struct {
	b   []byte
	err error // after b: nil means io.EOF
}

func (r *frontBody) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func (r *frontBody) Close() error { return nil }

// addHeader adds a header the handlers read. A client tends to send the
// same value on every request of a connection: the value of the previous
// request is kept (slot) and reused when it matches, without a copy.
func (fc *frontConn) addHeader(h http.Header, name string, value []byte, slot int) {
	if _, dup := h[name]; !dup {
		if prev := fc.lastHdr[slot]; prev != nil && prev[0] == string(value) {
			h[name] = prev
			return
		}
		v := []string{string(value)}
		fc.lastHdr[slot] = v
		h[name] = v
		return
	}
	h[name] = append(slices.Clip(h[name]), string(value))
}

// respond runs the request through the Server and writes the response.
func (fc *frontConn) respond() {
	f := fc.f
	f.s.ServeHTTP(&fc.w, &fc.req)
	w := &fc.w
	if w.status == 0 {
		w.status = http.StatusOK
	}
	h := w.hdr
	computedLength := false // net/http's own Content-Length goes last
	if bodyAllowedForStatus(w.status) {
		if _, ok := h["Content-Length"]; !ok {
			computedLength = true
		}
	} else {
		delete(h, "Content-Length")
		delete(h, "Content-Type")
	}
	out := fc.out[:0]
	out = append(out, "HTTP/1.1 "...)
	out = strconv.AppendInt(out, int64(w.status), 10)
	out = append(out, ' ')
	out = append(out, http.StatusText(w.status)...)
	out = append(out, "\r\n"...)
	if w.close || f.closing.Load() {
		w.close = true
	}
	// The handler's headers sorted, then those net/http adds itself, in
	// its order (Connection, Date, a computed Content-Length): the same
	// bytes as net/http, but for the Date.
	fc.keys = fc.keys[:0]
	for k := range h {
		fc.keys = append(fc.keys, k)
	}
	slices.Sort(fc.keys)
	for _, k := range fc.keys {
		for _, v := range h[k] {
			out = append(out, k...)
			out = append(out, ": "...)
			n := len(out)
			out = append(out, v...)
			for i := n; i < len(out); i++ {
				if out[i] == '\r' || out[i] == '\n' {
					out[i] = ' ' // as net/http does: no header splitting
				}
			}
			out = append(out, "\r\n"...)
		}
	}
	if w.close {
		out = append(out, "Connection: close\r\n"...)
	}
	now := time.Now()
	out = append(out, "Date: "...)
	out = appendHTTPDate(out, now)
	out = append(out, "\r\n"...)
	if computedLength {
		out = append(out, "Content-Length: "...)
		out = strconv.AppendInt(out, int64(len(w.body)), 10)
		out = append(out, "\r\n"...)
	}
	out = append(out, "\r\n"...)
	fc.out = out
	if now.Sub(fc.wdl) > time.Second {
		fc.c.SetWriteDeadline(now.Add(f.write))
		fc.wdl = now
	}
	var body []byte
	if !w.head && bodyAllowedForStatus(w.status) {
		body = w.body
	}
	if len(out)+len(body) <= fc.bw.Available() {
		fc.bw.Write(out)
		fc.bw.Write(body)
	} else {
		// Too big for what is left of the buffer (a private answer is
		// ~5 KiB): what is buffered, answers to earlier pipelined
		// requests, goes first; then the head and the body in one
		// writev rather than a buffer-sized write and the rest.
		if fc.bw.Buffered() > 0 && fc.bw.Flush() != nil {
			fc.werr = errFrontWrite
		} else {
			fc.vec = [2][]byte{out, body}
			fc.nb = fc.vec[:]
			if _, err := fc.nb.WriteTo(fc.c); err != nil {
				fc.werr = err
			}
			fc.vec = [2][]byte{}
		}
	}
	// Big buffers are not kept for a connection's idle life.
	if cap(w.body) > 64<<10 {
		w.body = nil
	}
	if cap(fc.out) > 16<<10 {
		fc.out = nil
	}
	if cap(fc.body) > 8<<10 {
		fc.body = nil
	}
}

// handOff passes the connection, with the bytes read but not served, to
// the net/http server. It reports false if the front is closing (the
// connection is then closed by the caller).
func (fc *frontConn) handOff() bool {
	var pending []byte
	if n := fc.br.Buffered(); n > 0 {
		b, _ := fc.br.Peek(n)
		pending = bytes.Clone(b)
	}
	fc.c.SetDeadline(time.Time{})
	fc.f.handOffs.Add(1)
	return fc.f.q.push(&replayConn{Conn: fc.c, pending: pending})
}

// frontWriter is the http.ResponseWriter of the lean path: it keeps the
// body until the handler returns.
type frontWriter struct {
	hdr    http.Header
	status int
	body   []byte
	head   bool // a HEAD request: the body is measured, not sent
	close  bool
}

func (w *frontWriter) reset(head, close bool) {
	w.status = 0
	w.body = w.body[:0]
	w.head = head
	w.close = close
}

func (w *frontWriter) Header() http.Header { return w.hdr }

func (w *frontWriter) statusCode() int { return w.status }

func (w *frontWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *frontWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if !bodyAllowedForStatus(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.body = append(w.body, p...)
	return len(p), nil
}

func bodyAllowedForStatus(code int) bool {
	return !(code >= 100 && code <= 199 || code == http.StatusNoContent || code == http.StatusNotModified)
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
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// appendHTTPDate appends now in the HTTP date format, formatting once a
// second.
func appendHTTPDate(dst []byte, now time.Time) []byte {
	sec := now.Unix()
	d := httpDate.Load()
	if d == nil || d.sec != sec {
		d = &cachedDate{sec: sec, b: now.UTC().AppendFormat(nil, http.TimeFormat)}
		httpDate.Store(d)
	}
	return append(dst, d.b...)
}

type cachedDate struct {
	sec int64
	b   []byte
}

var httpDate atomic.Pointer[cachedDate]

// isTokenByte reports a tchar of RFC 9110.
func isTokenByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// validHost accepts the characters of a host[:port] (registered names,
// IPv4 and bracketed IPv6); anything else goes to net/http.
func validHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '.', c == ':', c == '[', c == ']', c == '_':
		default:
			return false
		}
	}
	return true
}

func asciiEqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

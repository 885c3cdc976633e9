package httpfront

import (
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// respond runs the request through the handler and writes the response.
func (fc *conn) respond() {
	s := fc.s
	s.handler.ServeHTTP(&fc.w, &fc.req)
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
	if _, sayClose := fc.cutShort(); sayClose || s.closing.Load() {
		w.close = true
	}
	// The handler's headers sorted, then those net/http adds itself, in
	// the order of its extraHeader.Write (Date, a computed Content-Length,
	// Connection): the same bytes as net/http, but for the Date.
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
	now := time.Now()
	out = append(out, "Date: "...)
	out = appendHTTPDate(out, now)
	out = append(out, "\r\n"...)
	if computedLength {
		out = append(out, "Content-Length: "...)
		out = strconv.AppendInt(out, int64(len(w.body)), 10)
		out = append(out, "\r\n"...)
	}
	if w.close {
		out = append(out, "Connection: close\r\n"...)
	}
	out = append(out, "\r\n"...)
	fc.out = out
	if now.Sub(fc.wdl) > time.Second {
		fc.c.SetWriteDeadline(now.Add(s.write))
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
			fc.werr = errWrite
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

// responseWriter is the http.ResponseWriter of the lean path: it keeps
// the body until the handler returns.
type responseWriter struct {
	hdr    http.Header
	status int
	body   []byte
	head   bool // a HEAD request: the body is measured, not sent
	close  bool
}

func (w *responseWriter) reset(head, close bool) {
	w.status = 0
	w.body = w.body[:0]
	w.head = head
	w.close = close
}

func (w *responseWriter) Header() http.Header { return w.hdr }

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *responseWriter) Write(p []byte) (int, error) {
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

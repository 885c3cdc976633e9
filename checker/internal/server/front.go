package server

import (
	"context"
	"net"
	"net/http"
	"sync"

	"github.com/phonecheck/phonecheck/checker/internal/httpfront"
)

// EventServer serves a [Server] on listeners, faster than net/http alone:
// simple keep-alive HTTP/1.1 requests to the range, info and private
// query routes take a lean path (served by event loops on Linux), and
// everything else is served by net/http as [Server.HTTPServer] configures
// it, with the same answers byte for byte but the Date. Create it with
// [Server.EventServer].
type EventServer struct {
	// EventLoops is the number of event loops serving the connections
	// of TCP listeners on Linux: 0 for one fewer than GOMAXPROCS (at
	// least one), negative for none (a goroutine per connection, as on
	// other systems and other listeners). Set it before Serve.
	EventLoops int

	once sync.Once
	srv  *httpfront.Server
}

// EventServer returns an EventServer for s: call [EventServer.Serve]
// with a listener, and [EventServer.Shutdown] or [EventServer.Close] to
// stop. The limits are those of [Server.HTTPServer].
func (s *Server) EventServer() *EventServer { return s.EventServerOf(s.HTTPServer("")) }

// EventServerOf returns an EventServer for hs, whose handler answers as s does: s, or
// a wrapper of it that reads no request header s does not read.
func (s *Server) EventServerOf(hs *http.Server) *EventServer {
	return &EventServer{srv: httpfront.New(hs, httpfront.Config{Take: leanRequest, Headers: leanHeaders, Logger: s.log, LoopBody: loopBody})}
}

// loopBody reports the requests with a body an event loop may serve on
// its own thread: the private query, whose answer is computed from
// memory (~60-120 us of CPU for one element). On a connection that sends
// one query at a time, serving it there spares the hand-off of the
// connection to a goroutine, and every later query the goroutine's
// wake-ups and the runtime's system-call bookkeeping.
func loopBody(r *http.Request) bool { return routeOf(r.URL.Path) == routePrivateQuery }

// leanRequest reports the requests the lean path may serve: GET and HEAD
// on the routes answered from memory or the page cache, and the private
// query's POST. The rest (/metrics, errors of method and route, ...)
// goes to net/http.
func leanRequest(r *http.Request) bool {
	switch routeOf(r.URL.Path) {
	case routeRange, routeDatasets, routeStats, routeHealth, routeOpenAPI:
		return r.Method != http.MethodPost
	case routePrivateQuery:
		return r.Method == http.MethodPost
	}
	return false
}

// leanHeaders are the request headers a Server reads on a request
// without a body; it gets no other on the lean path. Origin is among
// them so that a page's GET gets its CORS headers on the lean path as
// on net/http (preflights, OPTIONS, are handed off); Access-Control-Request-*
// come with preflights only.
var leanHeaders = []string{"Accept", "Add-Padding", "If-None-Match", "Content-Type", "Origin"}

// Serve accepts connections on ln until [EventServer.Shutdown] or
// [EventServer.Close], and then returns [http.ErrServerClosed]; other errors
// are returned as they come. Serve closes ln.
func (f *EventServer) Serve(ln net.Listener) error {
	f.once.Do(func() { f.srv.EventLoops = f.EventLoops })
	return f.srv.Serve(ln)
}

// Shutdown stops the event server gracefully, as [http.Server.Shutdown] does:
// it closes the listeners, then closes connections as they become idle,
// and returns once none is left or ctx is done (with ctx's error).
func (f *EventServer) Shutdown(ctx context.Context) error { return f.srv.Shutdown(ctx) }

// Close closes the listeners and every connection at once.
func (f *EventServer) Close() error { return f.srv.Close() }

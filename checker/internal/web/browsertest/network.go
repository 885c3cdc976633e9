package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Request is one request the page made, as the DevTools protocol saw it,
// with its response once there is one. A redirect is one Request per hop.
type Request struct {
	ID     string // the protocol's request id; redirect hops share it
	Type   string // the resource type: "Document", "Script", "Fetch", "XHR", ...
	Method string
	URL    string // without the fragment
	// Header is what the page and Blink put on the request.
	Header http.Header
	// SentHeader is what went on the wire, with what the network stack
	// adds (Host, Connection, Accept-Encoding, cookies...); nil when the
	// protocol reported no such detail (a request that never reached the
	// network).
	SentHeader http.Header
	// Body is the request body, byte for byte (nil if none).
	Body []byte
	// BodyErr says why Body could not be read, when it could not.
	BodyErr string

	Status         int // 0 until a response came
	ResponseHeader http.Header
	// Failed is the protocol's reason when the request did not complete:
	// a network error, or "csp" and the like when the browser blocked it.
	Failed string

	bodyPending  bool // a Network.getRequestPostData is on its way
	bodyFetched  bool // the body came from Network.getRequestPostData
	extraPromise bool // the response said extra info would come
}

func (r *Request) clone() Request {
	c := *r
	c.Header = r.Header.Clone()
	c.SentHeader = r.SentHeader.Clone()
	c.ResponseHeader = r.ResponseHeader.Clone()
	c.Body = bytes.Clone(r.Body)
	return c
}

func (r Request) String() string {
	s := r.Method + " " + r.URL
	if r.Status != 0 {
		s += fmt.Sprintf(" -> %d", r.Status)
	}
	if r.Failed != "" {
		s += " failed: " + r.Failed
	}
	return s
}

// toHeader turns the protocol's headers (values joined by newlines) into
// an http.Header.
func toHeader(h network.Headers) http.Header {
	out := make(http.Header, len(h))
	for k, v := range h {
		s, ok := v.(string)
		if !ok {
			s = fmt.Sprint(v)
		}
		for _, line := range strings.Split(s, "\n") {
			out.Add(k, line)
		}
	}
	return out
}

// Requests returns copies of the requests the page made since the start or
// the last ResetRequests, in the order they started. It first waits
// (briefly) for what the browser still owes on finished requests: bodies
// being fetched and the wire headers of answered requests.
func (b *Browser) Requests() []Request {
	b.t.Helper()
	b.flush()
	deadline := time.Now().Add(2 * time.Second)
	for {
		b.mu.Lock()
		owed := false
		for _, r := range b.reqs {
			if r.bodyPending || r.extraPromise && r.SentHeader == nil {
				owed = true
				break
			}
		}
		if !owed || time.Now().After(deadline) {
			out := make([]Request, len(b.reqs))
			for i, r := range b.reqs {
				out[i] = r.clone()
			}
			b.mu.Unlock()
			return out
		}
		b.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
}

// ResetRequests forgets the requests recorded so far.
func (b *Browser) ResetRequests() {
	b.t.Helper()
	b.flush()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reqs = nil
	clear(b.byID)
	clear(b.early)
}

func (b *Browser) onRequest(ev *network.EventRequestWillBeSent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if prev := b.byID[ev.RequestID]; prev != nil && ev.RedirectResponse != nil {
		prev.Status = int(ev.RedirectResponse.Status)
		prev.ResponseHeader = toHeader(ev.RedirectResponse.Headers)
	}
	q := ev.Request
	r := &Request{
		ID:     string(ev.RequestID),
		Type:   string(ev.Type),
		Method: q.Method,
		URL:    q.URL,
		Header: toHeader(q.Headers),
	}
	if h, ok := b.early[ev.RequestID]; ok {
		r.SentHeader = toHeader(h)
		delete(b.early, ev.RequestID)
	}
	if q.HasPostData {
		// The entries hold the body, decoded from base64, unless it is
		// too long for the event; then ask for it, off this goroutine.
		for _, e := range q.PostDataEntries {
			r.Body = append(r.Body, e.Bytes...)
		}
		if len(r.Body) == 0 {
			r.bodyPending = true
			go b.fetchBody(r, ev.RequestID)
		}
	}
	b.reqs = append(b.reqs, r)
	b.byID[ev.RequestID] = r
}

// fetchBody asks the browser for the body of r.
func (b *Browser) fetchBody(r *Request, id network.RequestID) {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetRequestPostData, network.GetRequestPostDataParams{RequestID: id})
	b.mu.Lock()
	defer b.mu.Unlock()
	r.bodyPending, r.bodyFetched = false, true
	if err != nil {
		r.BodyErr = "Network.getRequestPostData: " + err.Error()
		return
	}
	// The result is decoded from base64 when the browser sent it so.
	r.Body = res.PostData
}

func (b *Browser) onRequestExtra(ev *network.EventRequestWillBeSentExtraInfo) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// The extra info may come before or after its request.
	if r := b.byID[ev.RequestID]; r != nil && r.SentHeader == nil {
		r.SentHeader = toHeader(ev.Headers)
		return
	}
	b.early[ev.RequestID] = maps.Clone(ev.Headers)
}

func (b *Browser) onResponse(ev *network.EventResponseReceived) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r := b.byID[ev.RequestID]; r != nil {
		r.Status = int(ev.Response.Status)
		r.ResponseHeader = toHeader(ev.Response.Headers)
		r.extraPromise = ev.HasExtraInfo
	}
}

func (b *Browser) onFailed(ev *network.EventLoadingFailed) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// A fetch whose answer had no body to read (a 204) ends "canceled"
	// after its response: that is no failure.
	if r := b.byID[ev.RequestID]; r != nil && !(ev.Canceled && r.Status != 0) {
		r.Failed = ev.ErrorText
		if ev.BlockedReason != "" {
			r.Failed = strings.TrimSpace(r.Failed + " " + string(ev.BlockedReason))
		}
	}
}

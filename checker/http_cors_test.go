package checker

import (
	"fmt"
	"strings"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/checker/internal/rawhttptest"
)

// TestFrontCORSMatchesNetHTTP: a page's requests get the same CORS
// answers on the lean path as on net/http, in each front mode: the lean
// path must never answer a request with an Origin without the CORS
// headers net/http would give it.
func TestFrontCORSMatchesNetHTTP(t *testing.T) {
	forFrontModes(t, testFrontCORSMatchesNetHTTP)
}

func testFrontCORSMatchesNetHTTP(t *testing.T, tune func(*EventServer)) {
	const listed, unlisted = "https://app.example.org", "https://evil.example.net"
	ixs := newPrivateIndexes(t)
	ixs.Plain = testIndex(t, 3000, "")
	k := ixs.Key
	s, err := NewServerOf(ixs, ServerOptions{Logger: quietLogger(), AllowOrigins: []string{listed},
		Private: PrivateHandlerOptions{Rate: -1, MaxElements: 4}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	fast, front := startFront(t, s, tune)
	ref := startNetHTTP(t, s)

	get := func(target string, hdr ...string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: phonecheck.test\r\n" + strings.Join(hdr, "") + "\r\n"
	}
	origin := func(o string) string { return "Origin: " + o + "\r\n" }
	preflight := func(target, o, method, headers string) string {
		return "OPTIONS " + target + " HTTP/1.1\r\nHost: phonecheck.test\r\n" + origin(o) +
			"Access-Control-Request-Method: " + method + "\r\nAccess-Control-Request-Headers: " + headers + "\r\n\r\n"
	}
	_, elems, err := blind(k.Public(), [][]byte{oprfInput(Key(testBoth[0]))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	body := wire.AppendRequest(nil, &wire.Request{Bits: 12, Prefix: Key(testBoth[0]) >> 52, Elements: elems})
	post := func(hdr ...string) string {
		return "POST " + PrivateQueryPath + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n" +
			fmt.Sprintf("Content-Length: %d\r\n", len(body)) + strings.Join(hdr, "") + "\r\n" + string(body)
	}
	cases := []struct {
		name, raw string
		methods   []string
		lean      bool
		sameBody  bool
		acao      []string // Access-Control-Allow-Origin of each answer
	}{
		{"range", get("/range/ABCDE", origin(listed)), nil, true, true, []string{listed}},
		{"range padded json", get("/range/ABCDE", origin(listed), "Add-Padding: true\r\n", "Accept: application/json\r\n"), nil, true, true, []string{listed}},
		{"range unlisted", get("/range/ABCDE", origin(unlisted)), nil, true, true, []string{""}},
		{"range null", get("/range/ABCDE", origin("null")), nil, true, true, []string{""}},
		{"range two origins", get("/range/ABCDE", origin(listed), origin(listed)), nil, true, true, []string{""}},
		{"range no origin", get("/range/ABCDE"), nil, true, true, []string{""}},
		{"bad prefix", get("/range/XYZ", origin(listed)), nil, true, true, []string{listed}},
		{"head", "HEAD /range/ABCDE HTTP/1.1\r\nHost: x\r\n" + origin(listed) + "\r\n", []string{"HEAD"}, true, true, []string{listed}},
		{"if-none-match", get("/range/ABCDE", origin(listed), "If-None-Match: *\r\n"), nil, true, true, []string{listed}},
		{"datasets", get("/v1/datasets", origin(listed)), nil, true, true, []string{listed}},
		{"stats", get("/v1/stats", origin(listed)), nil, true, true, []string{listed}},
		{"openapi", get("/openapi.json", origin(unlisted)), nil, true, true, []string{"*"}},
		{"key", get(PrivateKeyPath, origin(unlisted)), nil, false, true, []string{"*"}},
		{"not found", get("/nope", origin(listed)), nil, false, true, []string{listed}},
		{"healthz", get("/healthz", origin(listed)), nil, true, true, []string{""}},
		{"preflight range", preflight("/range/ABCDE", listed, "GET", "add-padding"), []string{"OPTIONS"}, false, true, []string{listed}},
		{"preflight query", preflight(PrivateQueryPath, listed, "POST", "content-type"), []string{"OPTIONS"}, false, true, []string{listed}},
		{"preflight unlisted", preflight("/range/ABCDE", unlisted, "GET", "add-padding"), []string{"OPTIONS"}, false, true, []string{""}},
		{"query", post(origin(listed), "Add-Padding: true\r\n"), []string{"POST"}, true, false, []string{listed}},
		{"query unlisted", post(origin(unlisted)), []string{"POST"}, true, true, []string{""}},
		{"query no origin", post(), []string{"POST"}, true, false, []string{""}},
		// A value of the previous request is reused on a connection: an
		// Origin must not outlive its request, nor another's be kept.
		{"pipelined", get("/range/ABCDE", origin(listed)) + get("/range/ABCDE") + get("/range/ABCDE", origin(unlisted)) +
			get("/range/ABCDE", origin(listed)) + post() + post(origin(listed)),
			[]string{"GET", "GET", "GET", "GET", "POST", "POST"}, true, false, []string{listed, "", "", listed, "", listed}},
	}
	for _, c := range cases {
		methods := c.methods
		if methods == nil {
			methods = []string{"GET"}
		}
		before := front.handOffs.Load()
		a, aliveA := rawhttptest.Exchange(t, fast, c.raw, methods...)
		if handed := front.handOffs.Load() > before; handed == c.lean {
			t.Errorf("%s: handed off %v, want %v", c.name, handed, !c.lean)
		}
		b, aliveB := rawhttptest.Exchange(t, ref, c.raw, methods...)
		rawhttptest.Compare(t, c.name, a, b, c.sameBody)
		if aliveA != aliveB {
			t.Errorf("%s: connection open after the answer: front %v, net/http %v", c.name, aliveA, aliveB)
		}
		for i, r := range a {
			if got := r.Header.Get("Access-Control-Allow-Origin"); got != c.acao[i] {
				t.Errorf("%s #%d: Access-Control-Allow-Origin %q, want %q", c.name, i, got, c.acao[i])
			}
			if r.Header.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("%s #%d: Access-Control-Allow-Credentials", c.name, i)
			}
		}
	}
}

// TestFrontCORSRateLimited: a listed page reads a 429 and its Retry-After
// on the lean path as on net/http.
func TestFrontCORSRateLimited(t *testing.T) {
	const listed = "http://localhost:3000"
	ixs := newPrivateIndexes(t)
	s, err := NewServerOf(ixs, ServerOptions{Logger: quietLogger(), AllowOrigins: []string{listed},
		Private: PrivateHandlerOptions{Rate: 1e-6, Burst: 1, MaxElements: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	fast, front := startFront(t, s, nil)
	ref := startNetHTTP(t, s)
	_, elems, err := blind(ixs.Key.Public(), [][]byte{oprfInput(Key(testBoth[0]))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	body := wire.AppendRequest(nil, &wire.Request{Elements: elems})
	raw := "POST " + PrivateQueryPath + " HTTP/1.1\r\nHost: x\r\nOrigin: " + listed + "\r\nContent-Type: application/octet-stream\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + string(body)
	// Both serve the same limits: the first query spends 127.0.0.1's one
	// evaluation, the others are refused.
	if out, _ := rawhttptest.Exchange(t, fast, raw, "POST"); out[0].Status != 200 {
		t.Fatalf("first query: %d %s", out[0].Status, out[0].Body)
	}
	before := front.handOffs.Load()
	a, _ := rawhttptest.Exchange(t, fast, raw, "POST")
	b, _ := rawhttptest.Exchange(t, ref, raw, "POST")
	if front.handOffs.Load() != before {
		t.Error("a 429 was handed off")
	}
	rawhttptest.Compare(t, "429", a, b, true)
	h := a[0].Header
	if a[0].Status != 429 || h.Get("Retry-After") == "" || h.Get("Access-Control-Allow-Origin") != listed ||
		!strings.Contains(h.Get("Access-Control-Expose-Headers"), "Retry-After") {
		t.Errorf("429: %d %v, want one a page can read, with its Retry-After", a[0].Status, h)
	}
}

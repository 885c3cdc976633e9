package checker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
)

// newPrivateIndexes seals a small fictional index under a new key.
func newPrivateIndexes(t testing.TB) Indexes {
	t.Helper()
	k, err := GenerateOPRFKey()
	if err != nil {
		t.Fatal(err)
	}
	ix, _ := testPrivateIndex(t, k, 12, testDS{"leak-a", append(append([]string{}, testBoth...), testOnlyA...)},
		testDS{"leak-b", testBoth})
	return Indexes{Private: ix, Key: k}
}

// newMixedServer serves a plain index and a private one.
func newMixedServer(t testing.TB) *Server {
	t.Helper()
	ixs := newPrivateIndexes(t)
	ixs.Plain = testIndex(t, 10, "")
	s, err := NewServerOf(ixs, ServerOptions{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func privateQuery(t testing.TB, h http.Handler, k *OPRFKey, key uint64) *httptest.ResponseRecorder {
	t.Helper()
	_, elems, err := blind(k.Public(), [][]byte{oprfInput(key)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	body := wire.AppendRequest(nil, &wire.Request{Bits: 12, Prefix: key >> 52, Elements: elems})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", PrivateQueryPath, bytes.NewReader(body)))
	return w
}

// TestServerModes: a private server answers the private routes and the
// operational ones, and 404 on the ranges; a plain one 404 on the private
// routes; both when given both.
func TestServerModes(t *testing.T) {
	ixs := newPrivateIndexes(t)
	priv, err := NewServerOf(ixs, ServerOptions{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer priv.Close()
	plain := newTestServer(t, 10)
	mixed := newMixedServer(t)
	for _, tc := range []struct {
		name         string
		s            *Server
		method, path string
		code         int
	}{
		{"private", priv, "GET", "/range/ABCDE", 404},
		{"private", priv, "GET", "/range/XY", 404}, // off before malformed
		{"private", priv, "GET", PrivateKeyPath, 200},
		{"private", priv, "HEAD", PrivateKeyPath, 200},
		{"private", priv, "GET", PrivateQueryPath, 405},
		{"private", priv, "POST", PrivateKeyPath, 405},
		{"private", priv, "GET", "/v1/datasets", 200},
		{"private", priv, "GET", "/v1/stats", 200},
		{"private", priv, "GET", "/healthz", 200},
		{"private", priv, "GET", "/metrics", 200},
		{"plain", plain, "GET", PrivateKeyPath, 404},
		{"plain", plain, "POST", PrivateQueryPath, 404},
		{"mixed", mixed, "GET", "/range/ABCDE", 200},
		{"mixed", mixed, "GET", PrivateKeyPath, 200},
	} {
		w := do(t, tc.s, tc.method, tc.path)
		if w.Code != tc.code {
			t.Errorf("%s: %s %s: %d, want %d: %s", tc.name, tc.method, tc.path, w.Code, tc.code, w.Body)
		}
		if tc.code == 405 {
			want := "GET, HEAD"
			if tc.path == PrivateQueryPath {
				want = "POST"
			}
			if got := w.Header().Get("Allow"); got != want {
				t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, want)
			}
		}
		if tc.code == 404 && !strings.Contains(w.Body.String(), "off on this server") {
			t.Errorf("%s %s: 404 does not say the mode is off: %s", tc.method, tc.path, w.Body)
		}
	}

	if w := privateQuery(t, priv, ixs.Key, Key(testBoth[0])); w.Code != 200 {
		t.Fatalf("query: %d %s", w.Code, w.Body)
	}
	var si ServerInfo
	if err := json.Unmarshal(do(t, priv, "GET", "/v1/datasets").Body.Bytes(), &si); err != nil {
		t.Fatal(err)
	}
	// A private server lists the lengths a client chooses from (8, the
	// range lengths below B, B: here B = 12) and says it pads.
	if !si.Private || si.Index.HashScheme != PrivateScheme || !slices.Equal(si.PrefixBits, []int{8, 12}) || !si.Padding || len(si.Datasets) != 2 ||
		si.Datasets[0].Name != "leak-a" || si.Datasets[0].Keys != 4 {
		t.Errorf("private /v1/datasets: %+v", si)
	}
	if err := json.Unmarshal(do(t, mixed, "GET", "/v1/datasets").Body.Bytes(), &si); err != nil {
		t.Fatal(err)
	}
	if !si.Private || si.Index.HashScheme != HashScheme || len(si.PrefixBits) == 0 {
		t.Errorf("mixed /v1/datasets: %+v", si)
	}
	// /v1/stats: per dataset and country, no index-wide countries (sealing
	// does not keep them); with NoCountryStats, the key count only.
	if body := do(t, priv, "GET", "/v1/stats").Body.String(); strings.Contains(body, `"countries"`) || !strings.Contains(body, `"datasets"`) {
		t.Errorf("private /v1/stats: %s", body)
	}
	quiet, err := NewServerOf(ixs, ServerOptions{Logger: quietLogger(), NoCountryStats: true})
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.Close()
	if w := do(t, quiet, "GET", "/v1/stats"); w.Code != 200 || strings.TrimSpace(w.Body.String()) != `{"keys":4}` {
		t.Errorf("/v1/stats with NoCountryStats: %d %s", w.Code, w.Body)
	}
	metrics := do(t, priv, "GET", "/metrics").Body.String()
	for _, want := range []string{"phonecheck_private_elements_total 1", `route="/v1/private/query"`, "phonecheck_index_keys 4"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestSwapPrivate: a swap rotates key and index together, refuses a
// mismatched pair, and keeps every client's rate limit.
func TestSwapPrivate(t *testing.T) {
	a := newPrivateIndexes(t)
	s, err := NewServerOf(a, ServerOptions{Logger: quietLogger(), Private: PrivateHandlerOptions{Rate: 0.001, MaxElements: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if w := privateQuery(t, s, a.Key, 7); w.Code != 200 {
		t.Fatalf("first query: %d %s", w.Code, w.Body)
	}
	if w := privateQuery(t, s, a.Key, 7); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("second query: %d %s", w.Code, w.Body)
	}
	b := newPrivateIndexes(t)
	if err := s.SwapIndexes(Indexes{Private: b.Private, Key: a.Key}); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("swap to a mismatched pair: %v", err)
	}
	if err := s.SwapIndexes(b); err != nil {
		t.Fatal(err)
	}
	var cfg PrivateConfig
	if err := json.Unmarshal(do(t, s, "GET", PrivateKeyPath).Body.Bytes(), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.KeyID != b.Key.ID() {
		t.Errorf("after the swap the key is %s, want %s", cfg.KeyID, b.Key.ID())
	}
	if w := privateQuery(t, s, b.Key, 7); w.Code != http.StatusTooManyRequests {
		t.Errorf("a swap reset the rate limit: %d", w.Code)
	}
	// The client verifies against the new key.
	ts := httptest.NewServer(s)
	defer ts.Close()
	pc := &PrivateClient{BaseURL: ts.URL, PublicKey: a.Key.Public(), MaxWait: -1}
	if _, err := pc.Check(context.Background(), testBoth[0], ""); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("a client pinned to the old key: %v", err)
	}
}

// TestPrivateDecodeHints: the key document says the server takes decode
// hints, and a query with the client's hints, with garbage in their place,
// or without any gets the same evaluation, with a proof that checks.
func TestPrivateDecodeHints(t *testing.T) {
	ixs := newPrivateIndexes(t)
	s, err := NewServerOf(ixs, ServerOptions{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", PrivateKeyPath, nil))
	var cfg wire.Config
	if err := json.Unmarshal(w.Body.Bytes(), &cfg); err != nil || !cfg.DecodeHints {
		t.Fatalf("key document %s: decode_hints not true (%v)", w.Body.Bytes(), err)
	}
	pub := ixs.Key.Public().p
	key := Key(testBoth[0])
	var want []uint64
	for i, kind := range []string{"none", "honest", "garbage", "short"} {
		q, err := wire.NewQuery(pub, 12, key>>52, []uint64{key})
		if err != nil {
			t.Fatal(err)
		}
		switch kind {
		case "honest":
			q.AddDecodeHints()
		case "garbage":
			q.Request.Hints = bytes.Repeat([]byte{0x5a}, len(q.Request.Elements))
		case "short":
			q.Request.Hints = make([]byte, 8) // not sent: AppendRequest drops it
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("POST", PrivateQueryPath, bytes.NewReader(wire.AppendRequest(nil, &q.Request))))
		if w.Code != http.StatusOK {
			t.Fatalf("%s hints: %d %s", kind, w.Code, w.Body.String())
		}
		resp, err := wire.ParseResponse(w.Body.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		outs, err := q.Outputs(resp)
		if err != nil {
			t.Fatalf("%s hints: %v", kind, err)
		}
		if i == 0 {
			want = outs
		} else if !slices.Equal(outs, want) {
			t.Fatalf("%s hints: output %x, without hints %x", kind, outs, want)
		}
	}
}

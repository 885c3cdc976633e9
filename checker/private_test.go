package checker

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/private"

	"github.com/phonecheck/phonecheck/checker/internal/private/wire"

	"github.com/phonecheck/phonecheck/checker/phone"
	"github.com/phonecheck/phonecheck/hashset"
)

type testDS struct {
	name string
	nums []string // E.164
}

// testPlainIndex builds a plain index in memory.
func testPlainIndex(t testing.TB, ds ...testDS) *hashset.Reader {
	t.Helper()
	b := hashset.NewBuilder(hashset.Options{KeyScheme: HashScheme})
	g := b.Group("US")
	for _, d := range ds {
		id, err := b.AddDataset(hashset.Dataset{Name: d.name, Date: "2026-01"})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range d.nums {
			b.Add(Key(n), id, g)
		}
	}
	var buf bytes.Buffer
	if _, err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	r, err := hashset.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// testPrivateIndex seals a plain index built from ds under k, in memory.
func testPrivateIndex(t testing.TB, k *OPRFKey, bits int, ds ...testDS) (*PrivateIndex, *hashset.Reader) {
	t.Helper()
	plain := testPlainIndex(t, ds...)
	var buf bytes.Buffer
	if _, err := Seal(context.Background(), plain, &buf, SealOptions{Key: k, BucketBits: bits}); err != nil {
		t.Fatal(err)
	}
	r, err := hashset.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	ix, err := NewPrivate(r, k)
	if err != nil {
		t.Fatal(err)
	}
	return ix, plain
}

// fictionalSpace is every US number NXX-555-0100..0199 for NXX 201..999:
// the 555-01XX lines are reserved for fiction. 79,900 numbers.
func fictionalSpace() []string {
	var out []string
	for area := 201; area <= 999; area++ {
		for line := 100; line <= 199; line++ {
			out = append(out, fmt.Sprintf("+1%d5550%d", area, line))
		}
	}
	return out
}

// sealKeys is Seal's inner loop under k, without the index around it.
func (k *OPRFKey) sealKeys(keys []uint64, b, workers int) []uint64 {
	return private.SealKeys(k.k, keys, b, workers)
}

// lookupBucket returns the bucket section the server writes, decoded.
func (p *PrivateIndex) lookupBucket(prefix uint64, nbits int, pad bool) (*wire.Bucket, error) {
	sec, err := p.p.AppendBucket(nil, prefix, nbits, pad)
	if err != nil {
		return nil, err
	}
	return wire.ParseBucket(sec, nbits, pad)
}

// privateServer is an httptest server over a sealed index of 2,000 of the
// fictional numbers (1,500 in "leak-a", 700 in "leak-b", 200 in both).
func privateServer(t *testing.T, opts PrivateHandlerOptions) (*httptest.Server, *OPRFKey, *PrivateIndex, []string, []string) {
	t.Helper()
	k, err := GenerateOPRFKey()
	if err != nil {
		t.Fatal(err)
	}
	space := fictionalSpace()
	rng := rand.New(rand.NewPCG(3, 4))
	rng.Shuffle(len(space), func(i, j int) { space[i], space[j] = space[j], space[i] })
	// Keep numbers that normalize: not every NXX is an assigned area code.
	var valid []string
	for _, e := range space {
		if _, err := phone.Normalize(e, ""); err == nil {
			valid = append(valid, e)
			if len(valid) == 2100 {
				break
			}
		}
	}
	space = valid
	a, b := space[:1500], space[1300:2000]
	ix, _ := testPrivateIndex(t, k, 20, testDS{"leak-a", a}, testDS{"leak-b", b})
	h, err := NewPrivateHandler(ix, k, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, k, ix, space[:2000], space[2000:2100]
}

func datasetNames(ds []Dataset) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Name)
	}
	return out
}

func wantSets(e164 string, exposed []string) []string {
	i := slices.Index(exposed, e164)
	switch {
	case i < 0:
		return nil
	case i < 1300:
		return []string{"leak-a"}
	case i < 1500:
		return []string{"leak-a", "leak-b"}
	}
	return []string{"leak-b"}
}

func TestPrivateRoundTrip(t *testing.T) {
	srv, k, _, exposed, clean := privateServer(t, PrivateHandlerOptions{PadOnlyWhenAsked: true, Rate: -1})
	ctx := context.Background()
	sample := []string{exposed[0], exposed[1400], exposed[1999], clean[0], clean[1]}
	for _, pad := range []bool{true, false} {
		for _, bits := range []int{0, 16} {
			c := &PrivateClient{BaseURL: srv.URL, PublicKey: k.Public(), NoPadding: !pad, PrefixBits: bits}
			for _, e := range sample {
				res, err := c.Check(ctx, e, "")
				if err != nil {
					t.Fatal(err)
				}
				want := wantSets(e, exposed)
				if res.Exposed != (want != nil) || !slices.Equal(datasetNames(res.Datasets), want) {
					t.Errorf("pad=%v bits=%d %s: exposed %v %v, want %v", pad, bits, phone.Redact(e), res.Exposed, datasetNames(res.Datasets), want)
				}
				if res.Mode != ModePrivate || res.Padded != pad || res.KeyID != k.ID() {
					t.Errorf("result says mode %q padded %v key %s", res.Mode, res.Padded, res.KeyID)
				}
				// 0: the length K chooses (20 for a US number, 16 for
				// a Canadian one), of those a client sends a server of
				// 20-bit buckets.
				want20, _ := ChoosePrefix(res.Number, 0, PrefixOffer{Bits: []int{LargerPrefixBits, 12, 16, 20}, BucketBits: 20})
				if wantBits := cmp(bits, want20.Bits); res.PrefixBits != wantBits || res.Prefix != Key(e)>>(64-wantBits) || res.Choice.Bits != wantBits {
					t.Errorf("prefix %x/%d, choice %+v", res.Prefix, res.PrefixBits, res.Choice)
				}
			}
		}
	}
	// Unpinned: the client fetches the key.
	c := &PrivateClient{BaseURL: srv.URL}
	res, err := c.Check(ctx, exposed[5], "")
	if err != nil || !res.Exposed {
		t.Fatalf("unpinned: %v %v", res.Exposed, err)
	}
	// Batch: many numbers, duplicates, in order.
	var ns []phone.Number
	for _, e := range append(append(slices.Clone(exposed[1200:1600]), clean...), exposed[0], exposed[0]) {
		n, err := phone.Normalize(e, "")
		if err != nil {
			t.Fatal(err)
		}
		ns = append(ns, n)
	}
	c = &PrivateClient{BaseURL: srv.URL, PublicKey: k.Public(), BatchSize: 50}
	rs, err := c.LookupBatch(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		want := wantSets(ns[i].E164, exposed)
		if r.Number != ns[i] || r.Exposed != (want != nil) || !slices.Equal(datasetNames(r.Datasets), want) {
			t.Fatalf("batch %d %s: exposed %v %v, want %v", i, phone.Redact(ns[i].E164), r.Exposed, datasetNames(r.Datasets), want)
		}
	}
}

func cmp(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// TestPaddingHidesOccupancy: padded answers for an empty and a full
// bucket have the same size; the default server pads even unasked.
func TestPaddingHidesOccupancy(t *testing.T) {
	srv, k, ix, exposed, _ := privateServer(t, PrivateHandlerOptions{Rate: -1})
	full := Key(exposed[0]) >> 44
	empty := uint64(0)
	for ; empty < 1<<20; empty++ {
		if es, _ := ix.Index().Range(empty, 20); len(es) == 0 {
			break
		}
	}
	var sizes []int
	for _, prefix := range []uint64{full, empty} {
		body := wire.AppendRequest(nil, &wire.Request{Bits: 20, Prefix: prefix})
		code, data, _ := post(t, srv.URL, body, nil)
		if code != 200 {
			t.Fatalf("HTTP %d: %s", code, data)
		}
		r, err := wire.ParseResponse(data)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Padded || r.KeyID != k.Public().idBytes() {
			t.Errorf("unasked answer not padded")
		}
		sizes = append(sizes, len(data))
	}
	if sizes[0] != sizes[1] {
		t.Errorf("padded sizes differ: %v", sizes)
	}
}

func post(t *testing.T, url string, body []byte, hdr map[string]string) (int, []byte, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+PrivateQueryPath, bytes.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data, resp.Header
}

// TestPrivateErrors: every documented error answer.
func TestPrivateErrors(t *testing.T) {
	srv, k, ix, exposed, _ := privateServer(t, PrivateHandlerOptions{MaxElements: 4, Rate: -1})
	_, good, _ := blind(k.Public(), [][]byte{[]byte("x")}, nil)
	req := func(bits int, elems ...[]byte) []byte {
		return wire.AppendRequest(nil, &wire.Request{Bits: bits, Prefix: 0, Elements: bytes.Join(elems, nil)})
	}
	cases := []struct {
		name string
		body []byte
		code int
	}{
		{"identity element", req(20, make([]byte, 32)), 400},
		{"garbage element", req(20, bytes.Repeat([]byte{0xff}, 32)), 400},
		{"second element bad", req(0, good, make([]byte, 32)), 400},
		{"wrong length", append(req(20, good)[:3+3+2], good[:31]...), 400},
		{"count says more", append(req(20)[:6], append([]byte{0, 2}, good...)...), 400},
		{"version 2", append([]byte{2}, req(20, good)[1:]...), 400},
		{"suite 9", append([]byte{1, 9}, req(20, good)[2:]...), 400},
		{"prefix longer than B", req(24, good), 400},
		{"nothing asked", req(0), 400},
		{"empty body", nil, 400},
		{"too many elements", req(0, good, good, good, good, good), 413},
		{"body too large", append(req(0, good), make([]byte, 1000)...), 413},
	}
	for _, c := range cases {
		code, data, hdr := post(t, srv.URL, c.body, nil)
		var j struct {
			Error string `json:"error"`
		}
		if code != c.code || json.Unmarshal(data, &j) != nil || j.Error == "" || hdr.Get("Content-Type") != "application/json" {
			t.Errorf("%s: HTTP %d %q, want %d with a JSON error", c.name, code, data, c.code)
		}
	}
	// Rate limit: burst 4 (= max elements) at 0.001/s.
	h, _ := NewPrivateHandler(ix, k, PrivateHandlerOptions{MaxElements: 4, Rate: 0.001})
	srv = httptest.NewServer(h)
	defer srv.Close()
	var codes []int
	var retry string
	for range 4 {
		code, data, hdr := post(t, srv.URL, req(0, good, good), nil)
		codes = append(codes, code)
		if code == 429 {
			retry = hdr.Get("Retry-After")
			var j map[string]string
			if json.Unmarshal(data, &j) != nil || j["error"] == "" {
				t.Errorf("429 without JSON error: %s", data)
			}
		}
	}
	if codes[len(codes)-1] != 429 {
		t.Errorf("no 429 after the burst: %v", codes)
	}
	if s, err := strconv.Atoi(retry); err != nil || s < 1 {
		t.Errorf("Retry-After %q", retry)
	}
	// A bucket-only request costs no evaluation: still served.
	if code, data, _ := post(t, srv.URL, req(20), nil); code != 200 {
		t.Errorf("bucket-only request after the limit: %d %s", code, data)
	}
	// The client reports 429 as a ServerError when it will not wait.
	c := &PrivateClient{BaseURL: srv.URL, PublicKey: k.Public(), MaxWait: -1}
	_, err := c.Check(context.Background(), exposed[0], "")
	var se *ServerError
	if !errors.As(err, &se) || se.Status != 429 || se.RetryAfter < 1 {
		t.Errorf("client on 429: %v", err)
	}
	// Wrong method.
	resp, err := http.Get(srv.URL + PrivateQueryPath)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != 405 {
			t.Errorf("GET query: %d", resp.StatusCode)
		}
	}
}

// TestWrongKey: a server under another key is refused, by key id and, if
// the server lies about its key id, by the proof.
func TestWrongKey(t *testing.T) {
	srv, k, ix, exposed, _ := privateServer(t, PrivateHandlerOptions{Rate: -1})
	other, _ := GenerateOPRFKey()
	ctx := context.Background()

	c := &PrivateClient{BaseURL: srv.URL, PublicKey: other.Public()}
	if _, err := c.Check(ctx, exposed[0], ""); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("pinned other key: %v, want ErrKeyMismatch", err)
	}
	if _, err := NewPrivateHandler(ix, other, PrivateHandlerOptions{}); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("handler with another key: %v", err)
	}
	// A lying server: evaluates under k, claims other's key everywhere.
	real, _ := NewPrivateHandler(ix, k, PrivateHandlerOptions{Rate: -1})
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == PrivateKeyPath {
			cfg := PrivateConfig{Version: 1, Suite: OPRFSuite, Mode: "voprf", PublicKey: fmt.Sprintf("%x", other.Public().Bytes()),
				KeyID: other.ID(), BucketBits: 20, MaxElements: 8, Datasets: rangeDatasets(ix.Datasets()), Sets: [][]int{{0}, {0, 1}, {1}}}
			json.NewEncoder(w).Encode(cfg)
			return
		}
		rec := httptest.NewRecorder()
		real.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		id := other.Public().idBytes()
		copy(body[4:12], id[:])
		w.Write(body)
	}))
	defer liar.Close()
	c = &PrivateClient{BaseURL: liar.URL}
	if _, err := c.Check(ctx, exposed[0], ""); !errors.Is(err, ErrProof) {
		t.Errorf("lying server: %v, want ErrProof", err)
	}
}

func TestOpenPrivateChecksKey(t *testing.T) {
	k, _ := GenerateOPRFKey()
	other, _ := GenerateOPRFKey()
	plain := testPlainIndex(t, testDS{"a", fictionalSpace()[:50]})
	path := filepath.Join(t.TempDir(), "p.idx")
	rep, err := SealFile(context.Background(), plain, path, SealOptions{Key: k, BucketBits: 16})
	if err != nil {
		t.Fatal(err)
	}
	if rep.PlainKeys != 50 || rep.Keys != 50 || rep.KeyID != k.ID() {
		t.Errorf("report %+v", rep)
	}
	ix, err := OpenPrivate(path, k)
	if err != nil {
		t.Fatal(err)
	}
	ix.Close()
	if _, err := OpenPrivate(path, other); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("other key: %v, want ErrKeyMismatch", err)
	}
	if _, err := NewPrivate(plain, nil); !errors.Is(err, ErrNotPrivate) {
		t.Errorf("plain index as private: %v", err)
	}
	// Sealing a private index again is refused.
	p2, _ := hashset.Open(path)
	defer p2.Close()
	if _, err := Seal(context.Background(), p2, io.Discard, SealOptions{Key: k}); !errors.Is(err, ErrScheme) {
		t.Errorf("sealing a private index: %v", err)
	}
}

// TestHarvest is the proof the issue asks for: given only what the
// endpoints serve (every bucket's contents), a brute force over a small
// region's number space recovers the exposed numbers in plain mode and
// none in private mode.
func TestHarvest(t *testing.T) {
	space := fictionalSpace()
	var exposed []string
	for i := 0; i < len(space); i += 400 {
		exposed = append(exposed, space[i])
	}
	k, _ := GenerateOPRFKey()
	ix, plain := testPrivateIndex(t, k, 20, testDS{"leak", exposed})

	// Plain mode serves every range: collect all of it.
	served := map[uint64]bool{}
	for c := uint64(0); c < 256; c++ {
		es, _ := plain.Range(c, 8)
		for _, e := range es {
			served[e.Key] = true
		}
	}
	var found []string
	for _, cand := range space { // ~80k SHA-256: milliseconds
		if served[Key(cand)] {
			found = append(found, cand)
		}
	}
	if !slices.Equal(found, exposed) {
		t.Fatalf("plain mode: brute force found %d of %d exposed numbers", len(found), len(exposed))
	}

	// Private mode serves every bucket (unpadded, the attacker's best
	// case): all private keys.
	priv := map[uint64]bool{}
	buckets := map[uint64]bool{}
	for c := uint64(0); c < 256; c++ {
		es, _ := ix.Index().Range(c, 8)
		for _, e := range es {
			priv[e.Key] = true
			buckets[e.Key>>44] = true
		}
	}
	// The attacker hashes every candidate and tries every way of matching
	// it without the key: the plain key itself, the plain key's bits in
	// the tag's place, and an OPRF under a key of their own.
	attacker, _ := GenerateOPRFKey()
	s := attacker.newSealer()
	var narrowed int
	var hits []string
	for i, cand := range space {
		key := Key(cand)
		if buckets[key>>44] {
			narrowed++
		}
		if priv[key] || priv[wire.PrivateKey(key, key<<20, 20)] {
			hits = append(hits, cand)
		}
		if i%40 == 0 && priv[wire.PrivateKey(key, s.output(key), 20)] { // a sample: 2,000 OPRF evaluations
			hits = append(hits, cand)
		}
	}
	if len(hits) != 0 {
		t.Fatalf("private mode: brute force matched %d numbers", len(hits))
	}
	// Control: the same brute force with the server's key (a leaked key)
	// recovers them all, so the harness can tell.
	keys := make([]uint64, len(exposed))
	for i, e := range exposed {
		keys[i] = Key(e)
	}
	for i, pk := range k.sealKeys(keys, 20, 2) {
		if !priv[pk] {
			t.Fatalf("control: exposed number %d not found with the real key", i)
		}
	}
	// What an unpadded private index does leak: which buckets are
	// non-empty. On this sparse index (200 keys in 2^20 buckets) that
	// narrows the space; served padded (the default), it does not.
	t.Logf("plain: %d/%d recovered; private: 0 recovered; unpadded bucket occupancy narrows %d candidates to %d",
		len(found), len(exposed), len(space), narrowed)
}

func TestSealProvenanceAndReport(t *testing.T) {
	k, _ := GenerateOPRFKey()
	space := fictionalSpace()
	plain := testPlainIndex(t, testDS{"a", space[:300]}, testDS{"b", space[200:400]})
	var buf bytes.Buffer
	var progressed bool
	rep, err := Seal(context.Background(), plain, &buf, SealOptions{Key: k, BucketBits: 12, Workers: 3,
		Progress: func(done, total int64) { progressed = done == total }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.PlainKeys != 400 || rep.Keys+rep.Collisions != 400 || rep.Sets != 3 || !progressed || rep.BucketBits != 12 {
		t.Errorf("report %+v progressed %v", rep, progressed)
	}
	r, _ := hashset.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	ix, err := NewPrivate(r, k)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Verify(); err != nil {
		t.Fatal(err)
	}
	if ix.Index().Meta().Datasets[0].Stats["country:US"] != 300 {
		t.Errorf("per-country counts not carried: %v", ix.Index().Meta().Datasets[0].Stats)
	}
	// Every plain key is found under its private key with its provenance.
	s := k.newSealer()
	for i, e := range space[:400] {
		key := Key(e)
		ds, ok := r.Contains(wire.PrivateKey(key, s.output(key), 12))
		want := []int{0}
		if i >= 200 && i < 300 {
			want = []int{0, 1}
		} else if i >= 300 {
			want = []int{1}
		}
		if !ok || !slices.Equal(ds, want) {
			t.Fatalf("number %d: %v %v, want %v", i, ok, ds, want)
		}
	}
	_ = binary.BigEndian
}

// TestInfoDemoShared: sealing carries the demo mark under the header key
// the plain build writes.
func TestInfoDemoShared(t *testing.T) {
	if InfoDemo != private.InfoDemo {
		t.Errorf("InfoDemo %q, private.InfoDemo %q", InfoDemo, private.InfoDemo)
	}
}

package wire_test

// Fuzz targets of the parsers of untrusted bytes: the request (the
// server's), the answer, the bucket section and the key document (the
// client's, which runs in browsers too). Each is seeded from the wire
// vectors (testdata/vectors at the module root), valid and invalid, and
// asserts what a parse that succeeds must give, not only that it does not
// panic. `go test` runs the seeds; fuzz with
//
//	go test -run '^$' -fuzz FuzzParseResponse -fuzztime 45s ./checker/internal/private/wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/checker/internal/vectors"
)

func loadVectors(f *testing.F) *vectors.File {
	f.Helper()
	v, err := vectors.Load()
	if err != nil {
		f.Fatal(err)
	}
	return v
}

func unhex(f *testing.F, s string) []byte {
	f.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

func FuzzParseRequest(f *testing.F) {
	v := loadVectors(f)
	for _, q := range v.Queries {
		f.Add(unhex(f, q.Request), uint16(v.Index.MaxElements))
	}
	for _, r := range v.BadRequests {
		f.Add(unhex(f, r.Request), uint16(r.MaxElements))
	}
	f.Fuzz(func(t *testing.T, b []byte, maxElements uint16) {
		req, err := wire.ParseRequest(b, int(maxElements))
		if err != nil {
			if req != nil || !errors.Is(err, wire.ErrWire) && !errors.Is(err, wire.ErrTooMany) {
				t.Fatalf("error %v with request %v", err, req)
			}
			return
		}
		switch {
		case req.Bits < 0 || req.Bits > 32:
			t.Fatalf("prefix of %d bits", req.Bits)
		case req.Prefix>>req.Bits != 0:
			t.Fatalf("prefix %x wider than %d bits", req.Prefix, req.Bits)
		case len(req.Elements)%oprf.ElementSize != 0 || req.Count() > int(maxElements):
			t.Fatalf("%d bytes of elements, max %d", len(req.Elements), maxElements)
		case req.Bits == 0 && req.Count() == 0:
			t.Fatal("neither a prefix nor elements")
		}
		// One encoding per request: it re-encodes to the same bytes.
		if enc := wire.AppendRequest(nil, req); !bytes.Equal(enc, b) {
			t.Fatalf("re-encoded as %x, was %x", enc, b)
		}
		if int64(len(b)) > wire.MaxRequestSize(int(maxElements)) {
			t.Fatalf("%d bytes accepted, larger than MaxRequestSize(%d)", len(b), maxElements)
		}
	})
}

// checkBucket asserts what a parsed bucket section of bits bits from
// section must hold.
func checkBucket(t *testing.T, bk *wire.Bucket, bits int, section []byte) {
	t.Helper()
	if bk.Bits != bits || len(bk.Entries) > wire.MaxResponseEntries {
		t.Fatalf("%d bits, %d entries", bk.Bits, len(bk.Entries))
	}
	if bits > 0 && bits < 64 {
		for _, e := range bk.Entries {
			if e>>(64-bits) != 0 {
				t.Fatalf("entry %x wider than %d bits", e, 64-bits)
			}
		}
	}
	switch {
	case bk.IDBytes < 0 || bk.IDBytes > 2:
		t.Fatalf("set ids of %d bytes", bk.IDBytes)
	case bk.IDBytes == 0 && bk.Sets != nil, bk.IDBytes > 0 && len(bk.Sets) != len(bk.Entries):
		t.Fatalf("%d set ids of %d bytes for %d entries", len(bk.Sets), bk.IDBytes, len(bk.Entries))
	case bk.IDBytes == 1:
		for _, s := range bk.Sets {
			if s > 0xff {
				t.Fatalf("set id %d in one byte", s)
			}
		}
	}
	// Re-encoded, the section is as long as the input (only the padding
	// bits of the last entry byte may differ) and parses to the same.
	enc := wire.AppendBucketSection(nil, bk, bits)
	if len(enc) != len(section) {
		t.Fatalf("re-encoded in %d bytes, was %d", len(enc), len(section))
	}
	again, err := wire.ParseBucket(enc, bits, bk.Padded)
	if err != nil {
		t.Fatalf("re-encoded section does not parse: %v", err)
	}
	if !reflect.DeepEqual(again, bk) {
		t.Fatalf("re-parsed %+v, was %+v", again, bk)
	}
}

func FuzzParseResponse(f *testing.F) {
	v := loadVectors(f)
	for _, q := range v.Queries {
		f.Add(unhex(f, q.Response))
	}
	for _, r := range v.BadResponses {
		f.Add(unhex(f, r.Response))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := wire.ParseResponse(b)
		if err != nil {
			if r != nil || !errors.Is(err, wire.ErrWire) {
				t.Fatalf("error %v with response %v", err, r)
			}
			return
		}
		n := len(r.Evaluated) / oprf.ElementSize
		switch {
		case r.Bits < 0 || r.Bits > 32:
			t.Fatalf("prefix of %d bits", r.Bits)
		case len(r.Evaluated)%oprf.ElementSize != 0:
			t.Fatalf("%d bytes of evaluated elements", len(r.Evaluated))
		case n > 0 && len(r.Proof) != oprf.ProofSize, n == 0 && r.Proof != nil:
			t.Fatalf("%d elements with a proof of %d bytes", n, len(r.Proof))
		case r.Bucket == nil:
			t.Fatal("no bucket section")
		case r.Bits == 0 && len(r.Bucket.Entries) > 0:
			t.Fatal("bucket entries without a prefix")
		case r.Bucket.Padded != r.Padded:
			t.Fatal("bucket padding differs from the answer's")
		case [8]byte(b[4:12]) != r.KeyID:
			t.Fatal("key id is not bytes 4..12")
		}
		head := wire.ResponseHeaderSize + len(r.Evaluated) + len(r.Proof)
		checkBucket(t, r.Bucket, r.Bits, b[head:])
		// The head re-encodes to the same bytes but for the flags' unknown
		// bits, which a client ignores.
		enc := wire.AppendResponseHead(nil, r)
		want := bytes.Clone(b[:head])
		want[3] &= 1
		if !bytes.Equal(enc, want) {
			t.Fatalf("head re-encoded as %x, was %x", enc, b[:head])
		}
	})
}

func FuzzParseBucket(f *testing.F) {
	v := loadVectors(f)
	for _, q := range v.Queries {
		if q.Bucket != nil {
			f.Add(unhex(f, q.Bucket.Section), uint8(q.Bits), q.Padded)
		}
	}
	for _, r := range v.BadResponses {
		// The tail of each bad answer, read as a section of 20 bits.
		if b := unhex(f, r.Response); len(b) > wire.ResponseHeaderSize+96 {
			f.Add(b[wire.ResponseHeaderSize+96:], uint8(v.Index.BucketBits), true)
		}
	}
	f.Add([]byte{0, 0, 0, 0, 0}, uint8(0), false)
	f.Add([]byte{0, 0, 0, 1, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 1}, uint8(0), false)
	f.Add([]byte{0, 0, 0, 1, 1, 0xff, 0}, uint8(64), false)
	f.Fuzz(func(t *testing.T, b []byte, bits uint8, padded bool) {
		// The client passes p of 0..32 (an answer's, or the key
		// document's B); the parser must not panic on others either.
		bk, err := wire.ParseBucket(b, int(bits), padded)
		if err != nil {
			if bk != nil || !errors.Is(err, wire.ErrWire) {
				t.Fatalf("error %v with bucket %v", err, bk)
			}
			return
		}
		if bits > 32 {
			t.Fatalf("a bucket of %d bits accepted, %d entries", bits, len(bk.Entries))
		}
		checkBucket(t, bk, int(bits), b)
	})
}

func FuzzParseConfig(f *testing.F) {
	v := loadVectors(f)
	for _, d := range v.KeyDocuments {
		f.Add([]byte(d.Document), d.ContentType, d.BaseURL)
	}
	f.Add([]byte(v.Index.KeyDocument), "application/json", "http://localhost:8080/")
	f.Add([]byte(v.Index.KeyDocument), "application/json", "://bad base")
	f.Fuzz(func(t *testing.T, data []byte, contentType, baseURL string) {
		cfg, pub, err := wire.ParseConfig(data, contentType, baseURL)
		if err != nil {
			var ue *url.Error
			if cfg != nil || pub != nil || vectors.ClassifyConfigError(err) == "" && !errors.As(err, &ue) {
				t.Fatalf("error %v (%T) with config %v", err, err, cfg)
			}
			return
		}
		switch {
		case cfg.Version != wire.Version || cfg.Suite != oprf.Suite || cfg.Mode != "voprf":
			t.Fatalf("accepted version %d suite %q mode %q", cfg.Version, cfg.Suite, cfg.Mode)
		case cfg.BucketBits < 1 || cfg.BucketBits > 32 || cfg.MaxElements < 1:
			t.Fatalf("accepted bucket bits %d, max elements %d", cfg.BucketBits, cfg.MaxElements)
		case pub.ID() != cfg.KeyID || !strings.EqualFold(hex.EncodeToString(pub.Bytes()), cfg.PublicKey):
			t.Fatalf("key id %s, public key %s: not the key's", cfg.KeyID, cfg.PublicKey)
		}
		for _, b := range cfg.StaticBucketBits {
			if b < 1 || b > cfg.BucketBits {
				t.Fatalf("static buckets of %d bits", b)
			}
		}
		if cfg.EvaluateURL != "" {
			u, err := url.Parse(cfg.EvaluateURL)
			if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
				t.Fatalf("evaluate_url %q", cfg.EvaluateURL)
			}
		}
		// The resolved document reads the same again: a resolved
		// evaluate_url is absolute, so resolving it again changes nothing.
		again, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		cfg2, pub2, err := wire.ParseConfig(again, "application/json", baseURL)
		if err != nil {
			t.Fatalf("re-encoded document refused: %v\n%s", err, again)
		}
		if !pub2.Equal(pub) || !reflect.DeepEqual(cfg2, cfg) {
			t.Fatalf("re-parsed %+v, was %+v", cfg2, cfg)
		}
	})
}

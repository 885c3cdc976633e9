package vectors

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
)

// The negative vectors: requests, answers and key documents a conforming
// implementation refuses, each with its error class.

func (g *gen) badRequests() error {
	good := g.mustHex(g.queries["lookup-0"].Request) // p = 20, n = 1
	el := good[len(good)-32:]
	add := func(name string, req []byte, class string) {
		g.f.BadRequests = append(g.f.BadRequests, BadRequest{Name: name, Request: hx(req), MaxElements: maxElements, Error: class})
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	set := func(i int, v byte) []byte { b := slices.Clone(good); b[i] = v; return b }
	identity := make([]byte, 32)
	nonCanonical := bytes.Repeat([]byte{0xff}, 32)
	add("empty", nil, ErrClassWire)
	add("truncated-header", good[:2], ErrClassWire)
	add("wrong-version", set(0, 2), ErrClassWire)
	add("wrong-suite", set(1, 2), ErrClassWire)
	add("p-over-32", cat([]byte{1, 1, 33, 0, 0, 0, 0, 0}, []byte{0, 1}, el), ErrClassWire)
	add("truncated-prefix", good[:4], ErrClassWire)
	add("truncated-n", good[:7], ErrClassWire)
	add("prefix-wider-than-p", cat([]byte{1, 1, 4, 0x10, 0, 1}, el), ErrClassWire)
	add("elements-short", good[:len(good)-1], ErrClassWire)
	add("trailing-byte", cat(good, []byte{0}), ErrClassWire)
	add("n-says-two-one-sent", cat(good[:6], []byte{0, 2}, el), ErrClassWire)
	add("neither-prefix-nor-elements", []byte{1, 1, 0, 0, 0}, ErrClassWire)
	add("n-over-max", cat(good[:6], []byte{0, maxElements + 1}, bytes.Repeat(el, maxElements+1)), ErrClassTooMany)
	add("n-over-max-no-elements", cat(good[:6], []byte{0xff, 0xff}), ErrClassTooMany)
	add("p-over-bucket-bits", cat([]byte{1, 1, bucketBits + 1, 0, 0, 0, 0, 1}, el), ErrClassPrefixTooLong)
	add("identity-element", cat(good[:8], identity), ErrClassBadElement)
	add("non-canonical-element", cat(good[:8], nonCanonical), ErrClassBadElement)
	add("second-element-bad", cat([]byte{1, 1, 0, 0, 2}, el, nonCanonical), ErrClassBadElement)
	return nil
}

func (g *gen) mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func (g *gen) badResponses() error {
	q := g.queries["lookup-0"]
	good := g.mustHex(q.Response)
	parsed, err := wire.ParseResponse(good)
	if err != nil {
		return err
	}
	add := func(name, query string, resp []byte, class string) {
		g.f.BadResponses = append(g.f.BadResponses, BadResponse{Name: name, Query: query, Response: hx(resp), Error: class})
	}
	set := func(i int, v byte) []byte { b := slices.Clone(good); b[i] = v; return b }
	re := func(f func(r *wire.Response)) []byte {
		r := *parsed
		bk := *parsed.Bucket
		bk.Sets = slices.Clone(bk.Sets)
		r.Bucket = &bk
		r.Evaluated = slices.Clone(r.Evaluated)
		r.Proof = slices.Clone(r.Proof)
		f(&r)
		return wire.AppendResponse(nil, &r)
	}
	const evEnd = wire.ResponseHeaderSize + 32
	const prEnd = evEnd + 64
	add("empty", q.Name, nil, ErrClassWire)
	add("truncated-header", q.Name, good[:13], ErrClassWire)
	add("truncated-evaluated", q.Name, good[:evEnd-1], ErrClassWire)
	add("truncated-proof", q.Name, good[:prEnd-1], ErrClassWire)
	add("truncated-bucket-head", q.Name, good[:prEnd+4], ErrClassWire)
	add("truncated-entries", q.Name, good[:len(good)-len(parsed.Bucket.Entries)*parsed.Bucket.IDBytes-1], ErrClassWire)
	add("trailing-byte", q.Name, append(slices.Clone(good), 0), ErrClassWire)
	add("wrong-version", q.Name, set(0, 2), ErrClassWire)
	add("wrong-suite", q.Name, set(1, 2), ErrClassWire)
	add("p-over-32", q.Name, set(2, 33), ErrClassWire)
	add("set-id-width-3", q.Name, set(prEnd+4, 3), ErrClassWire)
	big := slices.Clone(good[:prEnd])
	big = binary.BigEndian.AppendUint32(big, wire.MaxResponseEntries+1)
	big = append(big, 0)
	add("m-over-max", q.Name, big, ErrClassWire)
	add("answered-other-p", q.Name, re(func(r *wire.Response) {
		r.Bits = 16
		for i := range r.Bucket.Entries {
			r.Bucket.Entries[i] &= 1<<44 - 1
		}
	}), ErrClassWire)
	add("answered-two-elements", q.Name, re(func(r *wire.Response) { r.Evaluated = append(r.Evaluated, r.Evaluated...) }), ErrClassWire)
	add("answered-no-elements", q.Name, re(func(r *wire.Response) { r.Evaluated, r.Proof = nil, nil }), ErrClassWire)
	add("other-key-id", q.Name, re(func(r *wire.Response) { r.KeyID[0] ^= 1 }), ErrClassKeyMismatch)
	add("identity-evaluated", q.Name, re(func(r *wire.Response) { clear(r.Evaluated) }), ErrClassBadElement)
	add("non-canonical-evaluated", q.Name, re(func(r *wire.Response) {
		for i := range r.Evaluated {
			r.Evaluated[i] = 0xff
		}
	}), ErrClassBadElement)
	other := g.mustHex(g.queries["lookup-1"].Evaluated[0])
	add("another-evaluation", q.Name, re(func(r *wire.Response) { copy(r.Evaluated, other) }), ErrClassProof)
	add("proof-c-flipped", q.Name, re(func(r *wire.Response) { r.Proof[0] ^= 1 }), ErrClassProof)
	add("proof-s-flipped", q.Name, re(func(r *wire.Response) { r.Proof[32] ^= 1 }), ErrClassProof)
	add("proof-s-non-canonical", q.Name, re(func(r *wire.Response) {
		for i := 32; i < 64; i++ {
			r.Proof[i] = 0xff
		}
	}), ErrClassProof)
	// The number's entry with a set id the key document lacks.
	e := q.Numbers[0]
	want := wire.PrivateKey(keyscheme.Key(e), g.outs[e], bucketBits) & (^uint64(0) >> bucketBits)
	add("set-id-out-of-range", q.Name, re(func(r *wire.Response) {
		for i, v := range r.Bucket.Entries {
			if v == want {
				r.Bucket.Sets[i] = uint16(len(g.sets))
			}
		}
	}), ErrClassSetOutOfRange)
	// An evaluation-only answer with bucket entries.
	eq := g.queries["evaluate-batch"]
	eg := g.mustHex(eq.Response)
	add("entries-without-prefix", eq.Name, append(binary.BigEndian.AppendUint32(slices.Clone(eg[:len(eg)-5]), 1), 0, 0, 0, 0, 0, 0, 0, 0, 0), ErrClassWire)
	// A bucket file whose n is not 0 but holds no element.
	bq := g.queries["bucket-only-padded"]
	bg := g.mustHex(bq.Response)
	add("bucket-file-n-1", bq.Name, func() []byte { b := slices.Clone(bg); b[13] = 1; return b }(), ErrClassWire)
	return nil
}

func (g *gen) keyDocuments(doc string) error {
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		return err
	}
	with := func(kv ...any) string {
		c := map[string]any{}
		for k, v := range m {
			c[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(c, kv[i].(string))
			} else {
				c[kv[i].(string)] = kv[i+1]
			}
		}
		b, _ := json.Marshal(c)
		return string(b)
	}
	add := func(name, base, ct, d string) error {
		kd := KeyDocument{Name: name, BaseURL: base, ContentType: ct, Document: d}
		cfg, _, err := wire.ParseConfig([]byte(d), ct, base)
		if err == nil {
			kd.Valid, kd.EvaluateURL = true, cfg.EvaluateURL
		} else {
			kd.Error = ClassifyConfigError(err)
			if kd.Error == "" {
				return fmt.Errorf("vectors: key document %s: unclassified error %v", name, err)
			}
		}
		g.f.KeyDocuments = append(g.f.KeyDocuments, kd)
		return nil
	}
	identity := strings.Repeat("00", 32)
	otherKey, err := oprf.DeriveKey(keySeed, []byte(keyInfo+" other"))
	if err != nil {
		return err
	}
	docs := []struct{ name, base, ct, doc string }{
		{"server", baseURL, ctJSON, doc},
		{"split-relative-evaluate-url", baseURL + "/export/", ctJSON, with("evaluate_url", "../eval", "static_bucket_bits", []int{bucketBits})},
		{"split-absolute-evaluate-url", baseURL, ctJSON, with("evaluate_url", "https://eval.phonecheck.example/base", "static_bucket_bits", []int{16, bucketBits})},
		{"unknown-fields-ignored", baseURL, ctJSON, with("comment", "fields a client does not know are ignored")},
		{"html-fallback", baseURL, "text/html; charset=utf-8", "<!doctype html><title>Not here</title>"},
		{"empty-body", baseURL, "text/plain", ""},
		{"broken-json", baseURL, ctJSON, doc[:len(doc)-1]},
		{"wrong-version", baseURL, ctJSON, with("version", 2)},
		{"wrong-suite", baseURL, ctJSON, with("suite", "P256-SHA256")},
		{"wrong-mode", baseURL, ctJSON, with("mode", "oprf")},
		{"bucket-bits-0", baseURL, ctJSON, with("bucket_bits", 0)},
		{"bucket-bits-33", baseURL, ctJSON, with("bucket_bits", 33)},
		{"max-elements-0", baseURL, ctJSON, with("max_elements", 0)},
		{"public-key-not-hex", baseURL, ctJSON, with("public_key", "zz")},
		{"public-key-short", baseURL, ctJSON, with("public_key", hx(g.pub.Bytes())[:62])},
		{"public-key-identity", baseURL, ctJSON, with("public_key", identity)},
		{"public-key-non-canonical", baseURL, ctJSON, with("public_key", strings.Repeat("ff", 32))},
		{"key-id-mismatch", baseURL, ctJSON, with("public_key", hx(otherKey.Public().Bytes()))},
		{"static-bits-over-bucket-bits", baseURL, ctJSON, with("evaluate_url", "https://eval.phonecheck.example", "static_bucket_bits", []int{bucketBits + 1})},
		{"evaluate-url-downgrade", baseURL, ctJSON, with("evaluate_url", "http://eval.phonecheck.example")},
		{"evaluate-url-not-http", baseURL, ctJSON, with("evaluate_url", "ftp://eval.phonecheck.example")},
		{"evaluate-url-query", baseURL, ctJSON, with("evaluate_url", "https://eval.phonecheck.example/?k=v")},
		{"version-as-string", baseURL, ctJSON, with("version", "1")},
	}
	for _, d := range docs {
		if err := add(d.name, d.base, d.ct, d.doc); err != nil {
			return err
		}
	}
	return nil
}

// ClassifyConfigError returns the error class of an error of
// [wire.ParseConfig], "" if it has none.
func ClassifyConfigError(err error) string {
	switch {
	case errors.Is(err, wire.ErrNoPrivateMode):
		return ErrClassNoPrivateMode
	case errors.Is(err, oprf.ErrBadElement):
		return ErrClassBadElement
	case errors.Is(err, wire.ErrWire):
		return ErrClassWire
	}
	return ""
}

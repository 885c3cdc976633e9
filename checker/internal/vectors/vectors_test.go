package vectors

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi/rangewire"
)

// TestVectorsUpToDate regenerates the vectors in memory: the committed
// file must be exactly what this code produces, so it cannot rot.
func TestVectorsUpToDate(t *testing.T) {
	got, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(Path())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the code produces (%d bytes, want %d); if the change is intended, run go generate ./checker/internal/vectors", RelPath, len(got), len(want))
	}
}

// The tests below read the committed file as an outside implementation
// would, and hold the parsers and decisions to it.

func load(t *testing.T) *File {
	t.Helper()
	f, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testKey(t *testing.T, f *File) (*oprf.Key, *wire.Config) {
	t.Helper()
	k, err := oprf.DeriveKey(unhex(t, f.Key.Seed), []byte(f.Key.Info))
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(k.Public().Bytes()) != f.Key.PublicKey || k.ID() != f.Key.KeyID {
		t.Fatalf("derived key %x (%s), vectors say %s (%s)", k.Public().Bytes(), k.ID(), f.Key.PublicKey, f.Key.KeyID)
	}
	kf, err := k.MarshalKeyFile("")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(kf), `"private_key": "`+f.Key.SecretKey+`"`) {
		t.Errorf("secret key %s is not the derived key's", f.Key.SecretKey)
	}
	cfg, pub, err := wire.ParseConfig([]byte(f.Index.KeyDocument), "application/json", baseURL)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(k.Public()) {
		t.Fatal("key document names another key")
	}
	return k, cfg
}

func TestVectorsNumbers(t *testing.T) {
	f := load(t)
	k, _ := testKey(t, f)
	for _, n := range f.Numbers {
		sum := sha256.Sum256([]byte(n.E164))
		plain := binary.BigEndian.Uint64(sum[:8])
		if hex.EncodeToString(sum[:8]) != n.PlainKey {
			t.Errorf("%s: plain key %x, vectors %s", n.E164, sum[:8], n.PlainKey)
		}
		input := append([]byte(oprf.InputLabel), sum[:8]...)
		if hex.EncodeToString(input) != n.Input || !bytes.Equal(oprf.Input(plain), input) {
			t.Errorf("%s: input", n.E164)
		}
		st, blinded, err := oprf.Blind(k.Public(), [][]byte{input}, [][]byte{unhex(t, n.Blind)})
		if err != nil || hex.EncodeToString(blinded) != n.Blinded {
			t.Fatalf("%s: blinded %x, %v; vectors %s", n.E164, blinded, err, n.Blinded)
		}
		ev, proof, err := k.Evaluate(blinded, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		outs, err := st.Finalize(ev, proof)
		if err != nil || hex.EncodeToString(outs[0]) != n.Output {
			t.Fatalf("%s: output %x, %v", n.E164, outs, err)
		}
		pk := wire.PrivateKey(plain, binary.BigEndian.Uint64(outs[0]), f.Index.BucketBits)
		if fmt.Sprintf("%016x", pk) != n.PrivateKey {
			t.Errorf("%s: private key %016x, vectors %s", n.E164, pk, n.PrivateKey)
		}
		in := slices.IndexFunc(f.Index.Members, func(m Member) bool { return m.E164 == n.E164 })
		if n.Exposed != (in >= 0) || in >= 0 && !slices.Equal(n.Datasets, f.Index.Members[in].Datasets) {
			t.Errorf("%s: exposed %v in %v, but the index says otherwise", n.E164, n.Exposed, n.Datasets)
		}
	}
}

// outputOf returns the first 8 bytes of a number's output, from the vectors.
func outputOf(t *testing.T, f *File, e164 string) (plain, out uint64) {
	t.Helper()
	for _, n := range f.Numbers {
		if n.E164 == e164 {
			return binary.BigEndian.Uint64(unhex(t, n.PlainKey)), binary.BigEndian.Uint64(unhex(t, n.Output))
		}
	}
	t.Fatalf("%s not in numbers", e164)
	return 0, 0
}

func TestVectorsQueries(t *testing.T) {
	f := load(t)
	k, cfg := testKey(t, f)
	for _, q := range f.Queries {
		t.Run(q.Name, func(t *testing.T) {
			// Server: the request parses, re-encodes to its bytes, and
			// the evaluation under proof_r gives the answer's head.
			reqBytes := unhex(t, q.Request)
			req, err := wire.ParseRequest(reqBytes, f.Index.MaxElements)
			if err != nil {
				t.Fatal(err)
			}
			if req.Bits != q.Bits || req.Count() != len(q.Numbers) || !bytes.Equal(wire.AppendRequest(nil, req), reqBytes) {
				t.Fatalf("request parsed as %d bits, %d elements", req.Bits, req.Count())
			}
			if q.Bits > 0 && hex.EncodeToString(binary.BigEndian.AppendUint64(nil, req.Prefix)[8-(q.Bits+7)/8:]) != q.Prefix {
				t.Errorf("prefix %x, vectors %s", req.Prefix, q.Prefix)
			}
			respBytes := unhex(t, q.Response)
			resp, err := wire.ParseResponse(respBytes)
			if err != nil {
				t.Fatal(err)
			}
			var blinds, inputs [][]byte
			for _, e := range q.Numbers {
				plain, _ := outputOf(t, f, e)
				for _, n := range f.Numbers {
					if n.E164 == e {
						blinds = append(blinds, unhex(t, n.Blind))
					}
				}
				inputs = append(inputs, oprf.Input(plain))
			}
			var st *oprf.BlindState
			if len(q.Numbers) > 0 {
				var elems []byte
				st, elems, err = oprf.Blind(k.Public(), inputs, blinds)
				if err != nil || !bytes.Equal(elems, req.Elements) {
					t.Fatalf("blinded elements differ from the request's: %v", err)
				}
				ev, proof, err := k.Evaluate(req.Elements, unhex(t, q.ProofR), true)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(ev, resp.Evaluated) || !bytes.Equal(proof, resp.Proof) || hex.EncodeToString(proof) != q.Proof {
					t.Fatal("evaluation under proof_r differs from the answer")
				}
				for i, e := range q.Evaluated {
					if e != hex.EncodeToString(ev[i*32:(i+1)*32]) {
						t.Errorf("evaluated[%d]", i)
					}
				}
			}
			// Client: the answer is for what was asked, its proof
			// verifies, and each number is decided as the vectors say.
			if err := wire.CheckResponse(resp, k.Public(), q.Bits, len(q.Numbers)); err != nil {
				t.Fatal(err)
			}
			if resp.Padded != q.Padded {
				t.Errorf("padded %v", resp.Padded)
			}
			if st != nil {
				outs, err := st.Finalize(resp.Evaluated, resp.Proof)
				if err != nil {
					t.Fatal(err)
				}
				for i, e := range q.Numbers {
					if _, out := outputOf(t, f, e); binary.BigEndian.Uint64(outs[i]) != out {
						t.Errorf("%s: output differs", e)
					}
				}
			}
			if q.Bucket != nil {
				sec := unhex(t, q.Bucket.Section)
				if !bytes.HasSuffix(respBytes, sec) {
					t.Fatal("bucket section is not the answer's tail")
				}
				bk, err := wire.ParseBucket(sec, q.Bits, q.Padded)
				if err != nil {
					t.Fatal(err)
				}
				if len(bk.Entries) != q.Bucket.M || bk.IDBytes != q.Bucket.W || !bytes.Equal(wire.AppendBucketSection(nil, bk, q.Bits), sec) {
					t.Errorf("bucket: %d entries, w %d", len(bk.Entries), bk.IDBytes)
				}
				for i, e := range bk.Entries {
					if fmt.Sprintf("%016x", e)[q.Bits/4:] != q.Bucket.Entries[i] || bk.Sets != nil && int(bk.Sets[i]) != q.Bucket.Sets[i] {
						t.Errorf("entry %d: %x", i, e)
					}
				}
				if !slices.IsSorted(bk.Entries) {
					t.Error("entries are not ascending")
				}
			}
			if q.BucketPath != "" && q.BucketPath != wire.BucketPath(req.Prefix, req.Bits) {
				t.Errorf("bucket path %s", q.BucketPath)
			}
			for _, d := range q.Decisions {
				plain, out := outputOf(t, f, d.E164)
				exposed, set, err := wire.Match(resp.Bucket, plain, out, cfg.BucketBits, cfg.Sets)
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, ds := range cfg.DatasetsOf(set) {
					names = append(names, ds.Name)
				}
				if exposed != d.Exposed || !slices.Equal(names, d.Datasets) {
					t.Errorf("%s: exposed %v in %v, vectors %v in %v", d.E164, exposed, names, d.Exposed, d.Datasets)
				}
			}
		})
	}
}

// ServerVerdict is the error class a server gives a request, "" if it
// answers it: parse, prefix length against B, each element.
func serverVerdict(k *oprf.Key, b []byte, maxElements, bucketBits int) string {
	req, err := wire.ParseRequest(b, maxElements)
	switch {
	case errors.Is(err, wire.ErrTooMany):
		return ErrClassTooMany
	case errors.Is(err, wire.ErrWire):
		return ErrClassWire
	case err != nil:
		return "unclassified: " + err.Error()
	case req.Bits > bucketBits:
		return ErrClassPrefixTooLong
	}
	if req.Count() > 0 {
		if _, _, err := k.Evaluate(req.Elements, nil, true); errors.Is(err, oprf.ErrBadElement) {
			return ErrClassBadElement
		} else if err != nil {
			return "unclassified: " + err.Error()
		}
	}
	return ""
}

func TestVectorsBadRequests(t *testing.T) {
	f := load(t)
	k, _ := testKey(t, f)
	for _, q := range f.Queries {
		if v := serverVerdict(k, unhex(t, q.Request), f.Index.MaxElements, f.Index.BucketBits); v != "" {
			t.Errorf("query %s refused: %s", q.Name, v)
		}
	}
	for _, r := range f.BadRequests {
		if v := serverVerdict(k, unhex(t, r.Request), r.MaxElements, f.Index.BucketBits); v != r.Error {
			t.Errorf("%s: %q, vectors %q", r.Name, v, r.Error)
		}
	}
}

// clientVerdict is the error class a client gives an answer to q, ""
// if it accepts it: parse, key id and shape, elements and proof, match.
func clientVerdict(t *testing.T, f *File, k *oprf.Key, cfg *wire.Config, q *Query, b []byte) string {
	resp, err := wire.ParseResponse(b)
	if err != nil {
		if errors.Is(err, wire.ErrWire) {
			return ErrClassWire
		}
		return "unclassified: " + err.Error()
	}
	if err := wire.CheckResponse(resp, k.Public(), q.Bits, len(q.Numbers)); errors.Is(err, wire.ErrKeyMismatch) {
		return ErrClassKeyMismatch
	} else if errors.Is(err, wire.ErrWire) {
		return ErrClassWire
	} else if err != nil {
		return "unclassified: " + err.Error()
	}
	if len(q.Numbers) > 0 {
		var blinds, inputs [][]byte
		for _, e := range q.Numbers {
			plain, _ := outputOf(t, f, e)
			inputs = append(inputs, oprf.Input(plain))
			for _, n := range f.Numbers {
				if n.E164 == e {
					blinds = append(blinds, unhex(t, n.Blind))
				}
			}
		}
		st, _, err := oprf.Blind(k.Public(), inputs, blinds)
		if err != nil {
			t.Fatal(err)
		}
		_, err = st.Finalize(resp.Evaluated, resp.Proof)
		switch {
		case errors.Is(err, oprf.ErrBadElement):
			return ErrClassBadElement
		case errors.Is(err, oprf.ErrProof):
			return ErrClassProof
		case err != nil:
			return "unclassified: " + err.Error()
		}
	}
	for _, d := range q.Decisions {
		plain, out := outputOf(t, f, d.E164)
		if _, _, err := wire.Match(resp.Bucket, plain, out, cfg.BucketBits, cfg.Sets); err != nil {
			return ErrClassSetOutOfRange
		}
	}
	return ""
}

func TestVectorsBadResponses(t *testing.T) {
	f := load(t)
	k, cfg := testKey(t, f)
	queries := map[string]*Query{}
	for i := range f.Queries {
		q := &f.Queries[i]
		queries[q.Name] = q
		if v := clientVerdict(t, f, k, cfg, q, unhex(t, q.Response)); v != "" {
			t.Errorf("query %s: answer refused: %s", q.Name, v)
		}
	}
	for _, r := range f.BadResponses {
		q := queries[r.Query]
		if q == nil {
			t.Fatalf("%s: no query %s", r.Name, r.Query)
		}
		if v := clientVerdict(t, f, k, cfg, q, unhex(t, r.Response)); v != r.Error {
			t.Errorf("%s: %q, vectors %q", r.Name, v, r.Error)
		}
	}
}

func TestVectorsKeyDocuments(t *testing.T) {
	f := load(t)
	testKey(t, f)
	for _, d := range f.KeyDocuments {
		cfg, _, err := wire.ParseConfig([]byte(d.Document), d.ContentType, d.BaseURL)
		switch {
		case d.Valid && err != nil:
			t.Errorf("%s: refused: %v", d.Name, err)
		case d.Valid && cfg.EvaluateURL != d.EvaluateURL:
			t.Errorf("%s: evaluate_url %q, vectors %q", d.Name, cfg.EvaluateURL, d.EvaluateURL)
		case !d.Valid && ClassifyConfigError(err) != d.Error:
			t.Errorf("%s: %v, vectors %q", d.Name, err, d.Error)
		}
	}
}

func TestVectorsRanges(t *testing.T) {
	f := load(t)
	var si rangewire.Info
	for _, d := range f.RangeDatasets {
		si.Datasets = append(si.Datasets, rangewire.DatasetInfo{Dataset: rangewire.Dataset{Name: d.Name, Date: d.Date}, Keys: d.Keys})
	}
	for _, r := range f.Ranges {
		es, index, err := rangewire.ParseRange([]byte(r.Body), r.ContentType, r.Prefix)
		if err != nil {
			t.Errorf("%s: %v", r.Name, err)
			continue
		}
		if index != r.IndexID || len(es) != len(r.Entries) {
			t.Errorf("%s: index %q, %d entries", r.Name, index, len(es))
			continue
		}
		for i, e := range es {
			w := r.Entries[i]
			if fmt.Sprintf("%016x", e.Key) != w.Key || e.Count != w.Count || !slices.Equal(e.Datasets, w.Datasets) || (e.Datasets == nil) != (w.Datasets == nil) {
				t.Errorf("%s: entry %d: %x %d %v", r.Name, i, e.Key, e.Count, e.Datasets)
			}
		}
		for _, d := range r.Decisions {
			m := rangewire.MatchKey(si, es, binary.BigEndian.Uint64(unhex(t, d.Key)))
			var names []string
			for _, ds := range m.Datasets {
				names = append(names, ds.Name)
			}
			if m.Exposed != d.Exposed || m.Count != d.Count || m.DatasetsKnown != d.DatasetsKnown || !slices.Equal(names, d.Datasets) {
				t.Errorf("%s: %s: %+v", r.Name, d.E164, m)
			}
		}
	}
	for _, r := range f.BadRanges {
		if _, _, err := rangewire.ParseRange([]byte(r.Body), r.ContentType, r.Prefix); err == nil {
			t.Errorf("%s: accepted", r.Name)
		}
	}
}

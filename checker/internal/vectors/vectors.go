// Package vectors generates the wire-format test vectors of the private
// mode and the range API, testdata/vectors/phonecheck-wire-v1.json at the
// root of the module: what an outside implementation (a browser client, a
// server in another language) checks itself against, and what the fuzz
// targets of the parsers start from.
//
// Everything is deterministic: the key is derived from a fixed seed (RFC
// 9497 DeriveKeyPair), blinds and proof randomness are fixed scalars, the
// numbers are fictional (NXX-555-0100..0199) and the decoys of padded
// answers are a function of the key and the prefix. [Generate] gives the
// same bytes on every run; a test holds the committed file to it.
//
// Regenerate with `go generate ./checker/internal/vectors`.
package vectors

//go:generate go run ./gen

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/private"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi/rangeenc"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi/rangewire"
	"github.com/phonecheck/phonecheck/hashset"
)

// RelPath is where the vectors file lives, relative to the module root.
const RelPath = "testdata/vectors/phonecheck-wire-v1.json"

// Path returns the absolute path of the vectors file in this source tree.
func Path() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", filepath.FromSlash(RelPath))
}

// Load reads and decodes the committed vectors file.
func Load() (*File, error) {
	data, err := os.ReadFile(Path())
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// Error classes of the negative vectors: what a conforming
// implementation must refuse the input as.
const (
	ErrClassWire          = "wire"             // malformed bytes or document (wire.ErrWire)
	ErrClassTooMany       = "too_many"         // more elements than max_elements (wire.ErrTooMany; HTTP 413)
	ErrClassPrefixTooLong = "prefix_too_long"  // p > bucket_bits (HTTP 400)
	ErrClassBadElement    = "bad_element"      // not a canonical ristretto255 encoding, or the identity (oprf.ErrBadElement)
	ErrClassProof         = "proof"            // the DLEQ proof does not verify (oprf.ErrProof)
	ErrClassKeyMismatch   = "key_mismatch"     // answered under another key id (wire.ErrKeyMismatch)
	ErrClassSetOutOfRange = "set_out_of_range" // a matching entry names a set id the key document lacks
	ErrClassNoPrivateMode = "no_private_mode"  // the key endpoint answered something that is not JSON
	ErrClassMalformed     = "malformed"        // a range answer that does not parse
)

// File is the vectors file.
type File struct {
	About         []string       `json:"about"`
	FormatVersion int            `json:"format_version"`
	Key           Key            `json:"key"`
	Index         Index          `json:"index"`
	Numbers       []Number       `json:"numbers"`
	Queries       []Query        `json:"queries"`
	BadRequests   []BadRequest   `json:"bad_requests"`
	BadResponses  []BadResponse  `json:"bad_responses"`
	KeyDocuments  []KeyDocument  `json:"key_documents"`
	Ranges        []Range        `json:"ranges"`
	BadRanges     []BadRange     `json:"bad_ranges"`
	RangeDatasets []DatasetEntry `json:"range_datasets"`
}

// Key is the test key. It is a test key: its secret is published.
type Key struct {
	Seed      string `json:"seed"` // hex, RFC 9497 DeriveKeyPair seed
	Info      string `json:"info"` // DeriveKeyPair info, as a string
	SecretKey string `json:"secret_key"`
	PublicKey string `json:"public_key"`
	KeyID     string `json:"key_id"`
}

// Index describes the tiny index the answers come from.
type Index struct {
	BucketBits  int      `json:"bucket_bits"`
	MaxElements int      `json:"max_elements"`
	Datasets    []string `json:"datasets"`
	Sets        [][]int  `json:"sets"`    // dataset indexes of each set id, as the key document lists them
	Members     []Member `json:"members"` // the numbers in the index
	KeyDocument string   `json:"key_document"`
	Note        string   `json:"note"`
}

// Member is a number of the index and the datasets holding it.
type Member struct {
	E164     string   `json:"e164"`
	Datasets []string `json:"datasets"`
}

// Number is one number's way from E.164 to its private key.
type Number struct {
	E164       string   `json:"e164"`
	PlainKey   string   `json:"plain_key"` // 8 bytes, SHA-256(E.164)[:8]
	Input      string   `json:"input"`     // OPRF input: "phonecheck-voprf-v1:" || plain key
	Blind      string   `json:"blind"`     // scalar, 32 bytes little-endian
	Blinded    string   `json:"blinded"`   // blinded element
	Output     string   `json:"output"`    // OPRF output, 64 bytes
	PrivateKey string   `json:"private_key"`
	Exposed    bool     `json:"exposed"`
	Datasets   []string `json:"datasets"`
}

// Query is one request and the server's answer.
type Query struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Numbers     []string   `json:"numbers"` // blinded in the request, in order (their blinds in "numbers")
	Bits        int        `json:"p"`
	Prefix      string     `json:"prefix"` // hex, right-aligned, ceil(p/8) bytes
	Padded      bool       `json:"padded"` // asked with Add-Padding: true
	ProofR      string     `json:"proof_r,omitempty"`
	Request     string     `json:"request"`
	BucketPath  string     `json:"bucket_path,omitempty"` // a bucket-only padded answer is this static file
	Response    string     `json:"response"`
	Evaluated   []string   `json:"evaluated"`
	Proof       string     `json:"proof,omitempty"`
	Bucket      *Bucket    `json:"bucket,omitempty"`
	Decisions   []Decision `json:"decisions"`
}

// Bucket is the decoded bucket section of an answer.
type Bucket struct {
	Section string   `json:"section"` // hex, from m to the end of the answer
	M       int      `json:"m"`
	W       int      `json:"w"`
	Entries []string `json:"entries"` // hex, the low 64-p bits of each private key
	Sets    []int    `json:"sets"`
}

// Decision is what a client concludes of one number from an answer.
type Decision struct {
	E164     string   `json:"e164"`
	Exposed  bool     `json:"exposed"`
	Datasets []string `json:"datasets"`
}

// BadRequest is a request a server refuses.
type BadRequest struct {
	Name        string `json:"name"`
	Request     string `json:"request"`
	MaxElements int    `json:"max_elements"`
	Error       string `json:"error"`
}

// BadResponse is an answer a client refuses, to the query named.
type BadResponse struct {
	Name     string `json:"name"`
	Query    string `json:"query"`
	Response string `json:"response"`
	Error    string `json:"error"`
}

// KeyDocument is a key document and the verdict on it.
type KeyDocument struct {
	Name        string `json:"name"`
	BaseURL     string `json:"base_url"`
	ContentType string `json:"content_type"`
	Document    string `json:"document"`
	Valid       bool   `json:"valid"`
	Error       string `json:"error,omitempty"`
	EvaluateURL string `json:"evaluate_url,omitempty"` // resolved against base_url
}

// Range is a range answer and what a client reads in it.
type Range struct {
	Name        string       `json:"name"`
	Prefix      string       `json:"prefix"`
	ContentType string       `json:"content_type"`
	Padded      bool         `json:"padded"`
	Body        string       `json:"body"`
	IndexID     string       `json:"index_id"`
	Entries     []RangeEntry `json:"entries"`
	Decisions   []RangeMatch `json:"decisions"`
}

// RangeEntry is one parsed entry.
type RangeEntry struct {
	Key      string `json:"key"`
	Count    int    `json:"count"`
	Datasets []int  `json:"datasets"` // null in the text form
}

// RangeMatch is what a range answer says of a number.
type RangeMatch struct {
	E164          string   `json:"e164"`
	Key           string   `json:"key"`
	Exposed       bool     `json:"exposed"`
	Count         int      `json:"count"`
	Datasets      []string `json:"datasets"`
	DatasetsKnown bool     `json:"datasets_known"`
}

// BadRange is a range answer a client refuses.
type BadRange struct {
	Name        string `json:"name"`
	Prefix      string `json:"prefix"`
	ContentType string `json:"content_type"`
	Body        string `json:"body"`
	Error       string `json:"error"`
}

// DatasetEntry is one dataset of GET /v1/datasets, which the JSON form's
// dataset indexes refer to.
type DatasetEntry struct {
	Name string `json:"name"`
	Date string `json:"date"`
	Keys int64  `json:"keys"`
}

// Parameters of the vectors.
const (
	bucketBits  = 20
	maxElements = 16
	keyInfo     = "phonecheck test vectors v1"
	datasetDate = "2026-01"
	ctText      = "text/plain; charset=utf-8"
	ctJSON      = "application/json"
	baseURL     = "https://phonecheck.example"
)

var (
	keySeed      = bytes.Repeat([]byte{0x70}, 32)
	datasetNames = []string{"fiction-a", "fiction-b"}
)

// fictional returns every US number NXX-555-0100..0199 for NXX 201..999:
// the 555-01XX lines are reserved for fiction.
func fictional() []string {
	var out []string
	for area := 201; area <= 999; area++ {
		for line := 100; line <= 199; line++ {
			out = append(out, fmt.Sprintf("+1%d5550%d", area, line))
		}
	}
	return out
}

// pickNumbers returns eight fictional numbers sharing the top 12 bits of
// the first one's key (so that they share a range and a 12-bit bucket),
// then one outside that prefix.
func pickNumbers() []string {
	all := fictional()
	top := keyscheme.Key(all[0]) >> 52
	var out, other []string
	for _, e := range all {
		if keyscheme.Key(e)>>52 == top {
			if len(out) < 8 {
				out = append(out, e)
			}
		} else if other == nil {
			other = []string{e}
		}
	}
	return append(out, other...)
}

// members: the first five picked numbers are in the index, in these
// datasets (three dataset sets, so set ids take one byte).
var memberDatasets = [][]int{{0, 1}, {0}, {1}, {0}, {0, 1}}

func scalar(a, b byte) []byte {
	s := make([]byte, 32)
	s[0], s[1] = a, b // small, canonical scalars
	return s
}

func hx(b []byte) string { return hex.EncodeToString(b) }

func hx64(v uint64) string { return hx(binary.BigEndian.AppendUint64(nil, v)) }

func names(ds []int) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, datasetNames[d])
	}
	return out
}

// gen holds the state of one generation.
type gen struct {
	k       *oprf.Key
	pub     *oprf.PublicKey
	plain   *hashset.Reader
	ix      *private.Index
	sets    [][]int
	f       *File
	numbers map[string]Number
	outs    map[string]uint64 // first 8 bytes of each number's output
	members map[string][]int
	queries map[string]Query
	ropt    byte // proof randomness counter
}

// Generate returns the bytes of the vectors file.
func Generate() ([]byte, error) {
	g := &gen{numbers: map[string]Number{}, outs: map[string]uint64{}, members: map[string][]int{}, queries: map[string]Query{}}
	if err := g.run(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(g.f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (g *gen) run() error {
	var err error
	if g.k, err = oprf.DeriveKey(keySeed, []byte(keyInfo)); err != nil {
		return err
	}
	g.pub = g.k.Public()
	kf, err := g.k.MarshalKeyFile("")
	if err != nil {
		return err
	}
	var sk struct {
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal(kf, &sk); err != nil {
		return err
	}
	nums := pickNumbers()
	for i, e := range nums[:len(memberDatasets)] {
		g.members[e] = memberDatasets[i]
	}
	if err := g.buildIndex(nums); err != nil {
		return err
	}
	f := &File{
		About: []string{
			"Test vectors of phonecheck's wire formats: the private mode (RFC 9497 VOPRF, ristretto255-SHA512) and the range API.",
			"Generated by checker/internal/vectors (go generate ./checker/internal/vectors); a test fails if this file differs from what the code produces.",
			"All byte strings are lowercase hex. The key is a test key derived from a fixed seed; blinds and proof randomness are fixed scalars: never do this outside vectors.",
			"Numbers are fictional (US NXX-555-0100..0199). plain_key = SHA-256(e164)[:8]; input = 'phonecheck-voprf-v1:' || plain_key; private_key = top bucket_bits bits of plain_key || top 64-bucket_bits bits of output.",
			"A client checks an answer in this order: parse (wire), key id / p / n as asked (key_mismatch, wire), each evaluated element (bad_element), the proof (proof), then compares its private key's low 64-p bits with the bucket entries (set_out_of_range if a matching entry's set id is not in sets).",
			"A server checks a request in this order: parse (wire; too_many when n > max_elements, before reading the elements), p <= bucket_bits (prefix_too_long), then each blinded element (bad_element).",
			"Range answers: text (application/octet-stream or text/plain: SUFFIX:COUNT lines, CRLF) or JSON (application/json); entries with count 0 are padding.",
		},
		FormatVersion: 1,
		Key: Key{Seed: hx(keySeed), Info: keyInfo, SecretKey: sk.PrivateKey,
			PublicKey: hx(g.pub.Bytes()), KeyID: g.pub.ID()},
		RangeDatasets: []DatasetEntry{},
	}
	g.f = f
	g.sets = nil
	for _, s := range g.ix.Sets() {
		g.sets = append(g.sets, s.Datasets)
	}
	doc, err := g.keyDocument()
	if err != nil {
		return err
	}
	f.Index = Index{BucketBits: bucketBits, MaxElements: maxElements, Datasets: datasetNames, Sets: g.sets, KeyDocument: doc,
		Note: "the server's key document (GET /v1/private/key) of this index; sets map a set id to dataset indexes"}
	for _, e := range nums[:len(memberDatasets)] {
		f.Index.Members = append(f.Index.Members, Member{E164: e, Datasets: names(g.members[e])})
	}
	for i, e := range nums {
		if err := g.number(i, e); err != nil {
			return err
		}
	}
	if err := g.allQueries(nums); err != nil {
		return err
	}
	if err := g.badRequests(); err != nil {
		return err
	}
	if err := g.badResponses(); err != nil {
		return err
	}
	if err := g.keyDocuments(doc); err != nil {
		return err
	}
	return g.ranges(nums)
}

func (g *gen) buildIndex(nums []string) error {
	b := hashset.NewBuilder(hashset.Options{KeyScheme: keyscheme.Name})
	grp := b.Group("US")
	for _, n := range datasetNames {
		if _, err := b.AddDataset(hashset.Dataset{Name: n, Date: datasetDate}); err != nil {
			return err
		}
	}
	for _, e := range nums {
		for _, d := range g.members[e] {
			b.Add(keyscheme.Key(e), d, grp)
		}
	}
	var buf bytes.Buffer
	if _, err := b.Write(&buf); err != nil {
		return err
	}
	plain, err := hashset.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		return err
	}
	g.plain = plain
	var sealed bytes.Buffer
	if _, err := private.Seal(context.Background(), plain, &sealed, private.SealOptions{Key: g.k, BucketBits: bucketBits, Workers: 1}); err != nil {
		return err
	}
	r, err := hashset.NewReader(bytes.NewReader(sealed.Bytes()), int64(sealed.Len()))
	if err != nil {
		return err
	}
	g.ix, err = private.New(r, g.k)
	if err != nil {
		return err
	}
	if !g.ix.DeterministicPadding() {
		return errors.New("vectors: the index pads at random")
	}
	return nil
}

// keyDocument is the key document a server of the index serves.
func (g *gen) keyDocument() (string, error) {
	cfg := wire.Config{
		Version: wire.Version, Suite: oprf.Suite, Mode: "voprf",
		PublicKey: hx(g.pub.Bytes()), KeyID: g.pub.ID(),
		BucketBits: bucketBits, MaxElements: maxElements,
		Input: g.ix.Reader().Meta().Info[private.InfoInput], Sets: g.sets,
	}
	for _, n := range datasetNames {
		cfg.Datasets = append(cfg.Datasets, rangewire.Dataset{Name: n, Date: datasetDate})
	}
	b, err := json.Marshal(cfg)
	return string(b), err
}

func (g *gen) number(i int, e string) error {
	key := keyscheme.Key(e)
	bl := scalar(byte(i+1), 0x42)
	st, blinded, err := oprf.Blind(g.pub, [][]byte{oprf.Input(key)}, [][]byte{bl})
	if err != nil {
		return err
	}
	ev, proof, err := g.k.Evaluate(blinded, scalar(byte(i+1), 0x77), true)
	if err != nil {
		return err
	}
	outs, err := st.Finalize(ev, proof)
	if err != nil {
		return err
	}
	out := binary.BigEndian.Uint64(outs[0][:8])
	g.outs[e] = out
	ds, exposed := g.members[e]
	n := &Number{E164: e, PlainKey: hx64(key), Input: hx(oprf.Input(key)), Blind: hx(bl), Blinded: hx(blinded),
		Output: hx(outs[0]), PrivateKey: hx64(wire.PrivateKey(key, out, bucketBits)), Exposed: exposed, Datasets: names(ds)}
	g.f.Numbers = append(g.f.Numbers, *n)
	g.numbers[e] = *n
	return nil
}

// query builds one exchange: blinds numbers, asks for the bucket of
// the first check number's prefix (p bits, or none if p = 0), and decides
// for each of check.
func (g *gen) query(name, desc string, numbers []string, p int, prefixOf string, padded bool, check []string) error {
	q := &Query{Name: name, Description: desc, Numbers: numbers, Bits: p, Padded: padded, Evaluated: []string{}, Decisions: []Decision{}}
	if numbers == nil {
		q.Numbers = []string{}
	}
	req := &wire.Request{Bits: p}
	if p > 0 {
		req.Prefix = keyscheme.Key(prefixOf) >> (64 - p)
		q.Prefix = hx(binary.BigEndian.AppendUint64(nil, req.Prefix)[8-(p+7)/8:])
	}
	var blinds, inputs [][]byte
	for _, e := range numbers {
		bl, _ := hex.DecodeString(g.numbers[e].Blind)
		blinds = append(blinds, bl)
		inputs = append(inputs, oprf.Input(keyscheme.Key(e)))
	}
	resp := &wire.Response{Bits: p, KeyID: g.pub.IDBytes(), Padded: padded && p > 0}
	var st *oprf.BlindState
	if len(numbers) > 0 {
		var err error
		st, req.Elements, err = oprf.Blind(g.pub, inputs, blinds)
		if err != nil {
			return err
		}
		g.ropt++
		r := scalar(g.ropt, 0x99)
		q.ProofR = hx(r)
		resp.Evaluated, resp.Proof, err = g.k.Evaluate(req.Elements, r, true)
		if err != nil {
			return err
		}
		q.Proof = hx(resp.Proof)
		for i := range numbers {
			q.Evaluated = append(q.Evaluated, hx(resp.Evaluated[i*32:(i+1)*32]))
		}
	}
	q.Request = hx(wire.AppendRequest(nil, req))
	// The server's way: the head, then the bucket section from the index.
	out := wire.AppendResponseHead(nil, resp)
	head := len(out)
	if p > 0 {
		var err error
		if out, err = g.ix.AppendBucket(out, req.Prefix, p, resp.Padded); err != nil {
			return err
		}
	} else {
		out = wire.AppendBucketSection(out, nil, 0)
	}
	q.Response = hx(out)
	if len(numbers) == 0 && padded {
		q.BucketPath = wire.BucketPath(req.Prefix, p)
	}
	parsed, err := wire.ParseResponse(out)
	if err != nil {
		return fmt.Errorf("vectors: %s: %w", name, err)
	}
	bk := parsed.Bucket
	q.Bucket = &Bucket{Section: hx(out[head:]), M: len(bk.Entries), W: bk.IDBytes, Entries: []string{}, Sets: []int{}}
	for i, e := range bk.Entries {
		q.Bucket.Entries = append(q.Bucket.Entries, hx64(e)[p/4:])
		if bk.Sets != nil {
			q.Bucket.Sets = append(q.Bucket.Sets, int(bk.Sets[i]))
		}
	}
	if p == 0 {
		q.Bucket = nil
	}
	// The client's way: check and unblind, then compare.
	if st != nil {
		if err := wire.CheckResponse(parsed, g.pub, p, len(numbers)); err != nil {
			return err
		}
		outs, err := st.Finalize(parsed.Evaluated, parsed.Proof)
		if err != nil {
			return err
		}
		for i, e := range numbers {
			if binary.BigEndian.Uint64(outs[i][:8]) != g.outs[e] {
				return fmt.Errorf("vectors: %s: output of %s differs", name, e)
			}
		}
	}
	for _, e := range check {
		if keyscheme.Key(e)>>(64-p) != req.Prefix {
			continue // another bucket: nothing to decide from this one
		}
		exposed, set, err := wire.Match(bk, keyscheme.Key(e), g.outs[e], bucketBits, g.sets)
		if err != nil {
			return err
		}
		if _, in := g.members[e]; in != exposed {
			return fmt.Errorf("vectors: %s: %s exposed %v", name, e, exposed)
		}
		q.Decisions = append(q.Decisions, Decision{E164: e, Exposed: exposed, Datasets: names(set)})
	}
	g.f.Queries = append(g.f.Queries, *q)
	g.queries[name] = *q
	return nil
}

func (g *gen) allQueries(nums []string) error {
	// One-number lookups at p = B, padded: the command's default.
	for _, i := range []int{0, 1, 5, 8} {
		e := nums[i]
		if err := g.query(fmt.Sprintf("lookup-%d", i), "a one-number lookup: the prefix (p = bucket_bits) and one blinded element; padded answer",
			[]string{e}, bucketBits, e, true, []string{e}); err != nil {
			return err
		}
	}
	if err := g.query("lookup-12-unpadded", "a one-number lookup with a 12-bit prefix, unpadded: the bucket holds every real entry under the prefix, and nothing else",
		[]string{nums[2]}, 12, nums[2], false, nums[:8]); err != nil {
		return err
	}
	if err := g.query("evaluate-batch", "an evaluation-only request (p = 0) of four elements, as batches and split deployments send: no bucket",
		nums[:4], 0, "", false, nil); err != nil {
		return err
	}
	if err := g.query("bucket-only-padded", "a bucket-only request (n = 0), padded: byte for byte the static bucket file at bucket_path; decide with each number's output from \"numbers\"",
		nil, bucketBits, nums[3], true, []string{nums[3], nums[6]}); err != nil {
		return err
	}
	return g.query("bucket-only-16-unpadded", "a bucket-only request of 16 bits, unpadded",
		nil, 16, nums[0], false, nums[:8])
}

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

func (g *gen) ranges(nums []string) error {
	for _, d := range g.plain.Meta().Datasets {
		g.f.RangeDatasets = append(g.f.RangeDatasets, DatasetEntry{Name: d.Name, Date: d.Date, Keys: d.Keys})
	}
	si := rangewire.Info{}
	for _, d := range g.f.RangeDatasets {
		si.Datasets = append(si.Datasets, rangewire.DatasetInfo{Dataset: rangewire.Dataset{Name: d.Name, Date: d.Date}, Keys: d.Keys})
	}
	id := rangeenc.IndexID(g.plain)
	enc := rangeenc.NewEncoder(g.plain, id, id)
	var sc rangeenc.Scratch
	for _, bits := range []int{12, 20} {
		key := keyscheme.Key(nums[0])
		prefix := key >> (64 - bits)
		ph := keyscheme.Prefix(key, bits)
		for _, pad := range []bool{false, true} {
			if err := enc.Load(&sc, prefix, bits, pad); err != nil {
				return err
			}
			forms := []struct {
				ct, kind string
				body     []byte
			}{
				{ctText, "text", slices.Clone(enc.Text(&sc, bits, pad))},
				{ctJSON, "json", slices.Clone(enc.JSON(&sc, ph, bits, pad))},
			}
			for _, fm := range forms {
				name := fmt.Sprintf("%s-%d", fm.kind, bits)
				if pad {
					name += "-padded"
				}
				r := Range{Name: name, Prefix: ph, ContentType: fm.ct, Padded: pad, Body: string(fm.body), Entries: []RangeEntry{}, Decisions: []RangeMatch{}}
				es, index, err := rangewire.ParseRange(fm.body, fm.ct, ph)
				if err != nil {
					return fmt.Errorf("vectors: range %s: %w", name, err)
				}
				r.IndexID = index
				for _, e := range es {
					r.Entries = append(r.Entries, RangeEntry{Key: hx64(e.Key), Count: e.Count, Datasets: e.Datasets})
				}
				for _, n := range nums {
					k := keyscheme.Key(n)
					if k>>(64-bits) != prefix {
						continue
					}
					m := rangewire.MatchKey(si, es, k)
					rm := RangeMatch{E164: n, Key: hx64(k), Exposed: m.Exposed, Count: m.Count, Datasets: []string{}, DatasetsKnown: m.DatasetsKnown}
					for _, d := range m.Datasets {
						rm.Datasets = append(rm.Datasets, d.Name)
					}
					if _, in := g.members[n]; in != m.Exposed {
						return fmt.Errorf("vectors: range %s: %s exposed %v", name, n, m.Exposed)
					}
					r.Decisions = append(r.Decisions, rm)
				}
				g.f.Ranges = append(g.f.Ranges, r)
			}
		}
	}
	ph := keyscheme.Prefix(keyscheme.Key(nums[0]), 20)
	suf := strings.Repeat("0", 11)
	bad := []struct{ name, ct, body string }{
		{"text-suffix-short", ctText, suf[:10] + ":1"},
		{"text-suffix-long", ctText, suf + "0:1"},
		{"text-suffix-not-hex", ctText, suf[:10] + "G:1"},
		{"text-no-colon", ctText, suf + "1"},
		{"text-count-negative", ctText, suf + ":-1"},
		{"text-count-not-number", ctText, suf + ":x"},
		{"text-count-empty", ctText, suf + ":"},
		{"text-second-line-bad", ctText, suf + ":1\r\n" + suf[:10] + "1:1:2"},
		{"json-broken", ctJSON, `{"prefix":"` + ph + `","entries":[`},
		{"json-suffix-short", ctJSON, `{"prefix":"` + ph + `","entries":[{"suffix":"` + suf[:10] + `","count":1,"datasets":[0]}]}`},
		{"json-suffix-not-hex", ctJSON, `{"prefix":"` + ph + `","entries":[{"suffix":"` + suf[:10] + `G","count":1,"datasets":[0]}]}`},
		{"json-suffix-control-char", ctJSON, `{"prefix":"` + ph + `","entries":[{"suffix":"` + suf[:10] + `\u0011","count":1,"datasets":[0]}]}`},
		{"json-count-negative", ctJSON, `{"prefix":"` + ph + `","entries":[{"suffix":"` + suf + `","count":-1,"datasets":[0]}]}`},
		{"json-count-string", ctJSON, `{"prefix":"` + ph + `","entries":[{"suffix":"` + suf + `","count":"1","datasets":[0]}]}`},
		{"json-entries-not-array", ctJSON, `{"prefix":"` + ph + `","entries":{}}`},
	}
	for _, b := range bad {
		if _, _, err := rangewire.ParseRange([]byte(b.body), b.ct, ph); err == nil {
			return fmt.Errorf("vectors: bad range %s accepted", b.name)
		}
		g.f.BadRanges = append(g.f.BadRanges, BadRange{Name: b.name, Prefix: ph, ContentType: b.ct, Body: b.body, Error: ErrClassMalformed})
	}
	return nil
}

// Package webclient is the web page's check: the same steps as the
// command's check --server, from the number as typed to the answer, with
// the transport left to the caller. The page runs it compiled to
// WebAssembly and hands it the browser's fetch; tests hand it net/http.
//
// Everything that decides what leaves the device is shared with the
// command: normalization (phone), the key and the prefix length
// (keyscheme), the key document's checks, the blinded query, the proof
// check and the comparison (private/wire), the range answer's parsing and
// the comparison (rangeapi/rangewire). What is here is only the order of
// the requests, and an [Outcome] the page can render: what it understood,
// what it sent, what came back, and every failure by a code the page
// translates.
//
// The package links no HTTP code, so that the page's module stays small.
package webclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi/rangewire"
	"github.com/phonecheck/phonecheck/checker/phone"
)

// A Request is one HTTP request the check needs sent.
type Request struct {
	Method string
	URL    string
	Header map[string]string
	Body   []byte
}

// A Response is what came back: the status, the two headers the check
// reads, and the body.
type Response struct {
	Status      int
	ContentType string
	RetryAfter  string
	Body        []byte
}

// A Fetcher sends a request. An error means no answer at all (the server
// is unreachable, or the browser refused the request).
type Fetcher func(context.Context, Request) (Response, error)

// Options say what to check and where.
type Options struct {
	Number string // as typed
	Region string // how to read a number without its country code
	// Base is the URL the page was loaded from, up to its last slash: the
	// server, or the static export, whose routes are under it.
	Base string
	// MinAnonymity is K: the prefix keeps at least K valid numbers of the
	// number's country sharing it, where a length offered does. 0 means
	// keyscheme.DefaultMinAnonymity.
	MinAnonymity float64
	// PrefixBits, if not 0, asks for that prefix length (one the server
	// offers): the larger download a small country's number is offered.
	PrefixBits int
}

// Status values of an [Outcome], the page's data-status.
const (
	StatusExposed    = "exposed"
	StatusNotExposed = "not_exposed"
	StatusInvalid    = "invalid"
	StatusError      = "error"
)

// Error codes of an [Outcome] with StatusError.
const (
	ErrNetwork     = "network"      // no answer from the server
	ErrRateLimited = "rate_limited" // 429: RetryAfter says when
	ErrProof       = "proof"        // the answer did not verify against the server's key
	ErrKeyChanged  = "key_changed"  // the answer came under another key than the document's: a rotation
	ErrServer      = "server"       // an error status: Status and Message
	ErrProtocol    = "protocol"     // an answer that is not what the protocol says
	ErrPrefix      = "prefix"       // PrefixBits is not a length the server offers
)

// Outcome is everything the page shows.
type Outcome struct {
	Status string `json:"status"`
	// Reason is why the number is invalid (a phone.Reason).
	Reason string   `json:"reason,omitempty"`
	Number *Number  `json:"number,omitempty"`
	Sent   *Sent    `json:"sent,omitempty"`
	Error  *Failure `json:"error,omitempty"`

	Datasets []rangewire.Dataset `json:"datasets,omitempty"`
	// Count is how many datasets hold the number when the answer does
	// not say which (a plain text range): Datasets is then empty.
	Count int `json:"count,omitempty"`
	// TotalDatasets is how many datasets the index holds.
	TotalDatasets int  `json:"total_datasets"`
	Demo          bool `json:"demo,omitempty"`
}

// Number is the number as the check understood it. It holds no E.164
// form: the page shows the international format.
type Number struct {
	International string `json:"international"`
	Region        string `json:"region"`
	CountryCode   int    `json:"country_code"`
	Type          string `json:"type"`
	// Retried says the number was not valid in the chosen country and
	// was read as international (phone.Number.Retried): the page asks
	// whether that country is the one meant.
	Retried bool `json:"retried,omitempty"`
}

// Sent is what left the device.
type Sent struct {
	Mode   string `json:"mode"` // "private" or "plain"
	Prefix string `json:"prefix"`
	Bits   int    `json:"bits"`
	// Anonymity is how many valid numbers of the number's country share
	// the prefix (0: the country is not in the table).
	Anonymity float64 `json:"anonymity"`
	// Short says no length the server offers reaches MinAnonymity: the
	// shortest was used.
	Short        bool    `json:"short,omitempty"`
	MinAnonymity float64 `json:"min_anonymity"`
	// Larger is a shorter prefix the server also takes: a larger answer
	// that hides the number among more numbers (0 bits: none).
	LargerBits      int     `json:"larger_bits,omitempty"`
	LargerAnonymity float64 `json:"larger_anonymity,omitempty"`
	// LargerBytes estimates the larger answer's size from this one's:
	// 2^(Bits-LargerBits) times the entries, each LargerBits shorter.
	LargerBytes int64 `json:"larger_bytes,omitempty"`
	// Private mode: one blinded element went out, to Evaluator when it is
	// not the page's server (a static export's evaluation server, which
	// saw no prefix), and the answer verified against KeyID.
	BlindedElements int    `json:"blinded_elements,omitempty"`
	Evaluator       string `json:"evaluator,omitempty"`
	KeyID           string `json:"key_id,omitempty"`
	Verified        bool   `json:"verified,omitempty"`
	Entries         int    `json:"entries"` // entries of the answer, decoys included
	Padded          bool   `json:"padded,omitempty"`
}

// Failure is why a check has no answer.
type Failure struct {
	Code       string `json:"code"`
	Status     int    `json:"status,omitempty"`
	RetryAfter int    `json:"retry_after,omitempty"` // seconds, for a 429
	// Message is the server's or the library's words, in English, for
	// the details line: never the number or its hash.
	Message string `json:"message,omitempty"`
}

// Describe normalizes raw as [Check] does, and returns the outcome of an
// invalid number or the number understood, without a request: what the
// page shows as the person types.
func Describe(raw, region string) (Outcome, phone.Number, bool) {
	n, err := phone.Normalize(raw, region)
	if err != nil {
		return Outcome{Status: StatusInvalid, Reason: string(phone.ReasonOf(err))}, phone.Number{}, false
	}
	d := phone.Describe(n)
	return Outcome{Number: &Number{International: d.International, Region: n.Region, CountryCode: n.CountryCode, Type: d.Type,
		Retried: n.Retried}}, n, true
}

// Check checks the number of o against the server at o.Base.
func Check(ctx context.Context, fetch Fetcher, o Options) Outcome {
	out, n, ok := Describe(o.Number, o.Region)
	if !ok {
		return out
	}
	if o.MinAnonymity <= 0 {
		o.MinAnonymity = keyscheme.DefaultMinAnonymity
	}
	c := &check{fetch: fetch, o: o, base: strings.TrimRight(o.Base, "/"), out: out, n: n, key: keyscheme.Key(n.E164)}
	if err := c.run(ctx); err != nil {
		c.out.Status, c.out.Error = StatusError, failureOf(err)
		c.out.Datasets, c.out.Count = nil, 0
	}
	return c.out
}

type check struct {
	fetch Fetcher
	o     Options
	base  string
	out   Outcome
	n     phone.Number
	key   uint64
}

// httpError is an answer with an error status.
type httpError struct {
	status  int
	message string
	retry   int
}

func (e *httpError) Error() string { return fmt.Sprintf("server answered %d: %s", e.status, e.message) }

type netError struct{ err error }

func (e *netError) Error() string { return e.err.Error() }

type prefixError struct{ msg string }

func (e *prefixError) Error() string { return e.msg }

func failureOf(err error) *Failure {
	var he *httpError
	var ne *netError
	var pe *prefixError
	switch {
	case errors.As(err, &he) && he.status == 429:
		return &Failure{Code: ErrRateLimited, Status: 429, RetryAfter: he.retry, Message: he.message}
	case errors.As(err, &he):
		return &Failure{Code: ErrServer, Status: he.status, Message: he.message}
	case errors.As(err, &ne):
		return &Failure{Code: ErrNetwork, Message: ne.Error()}
	case errors.As(err, &pe):
		return &Failure{Code: ErrPrefix, Message: pe.msg}
	case errors.Is(err, wire.ErrKeyMismatch):
		// An answer under another key than the document's: a key
		// rotation under way, not a forgery (a forged answer fails its
		// proof). Nothing was compared; checking again fetches the new
		// key.
		return &Failure{Code: ErrKeyChanged, Message: err.Error()}
	case errors.Is(err, oprf.ErrProof):
		return &Failure{Code: ErrProof, Message: err.Error()}
	}
	return &Failure{Code: ErrProtocol, Message: err.Error()}
}

// The command's patience (check --server): a 429 asking for at most
// MaxWait is waited out, up to MaxRetries times; no answer at all, or a
// 502, 503 (without Retry-After) or 504, is tried again TransientRetries
// times, after FirstBackoff and then twice as long. Retrying reveals
// nothing new: it is the same prefix, or the same blinded element.
const (
	MaxWait          = 3 * time.Second
	MaxRetries       = 5
	TransientRetries = 2
	FirstBackoff     = 500 * time.Millisecond
)

// do sends a request and returns the answer of a 200, else an error,
// waiting out and retrying as the command does.
func (c *check) do(ctx context.Context, r Request) (Response, error) {
	limited, transient := 0, 0
	for {
		resp, err := c.send(ctx, r)
		var he *httpError
		var wait time.Duration
		switch {
		case err == nil:
			return resp, nil
		case errors.As(err, &he) && he.status == 429 && limited < MaxRetries && time.Duration(he.retry)*time.Second <= MaxWait:
			limited++
			wait = max(time.Duration(he.retry)*time.Second, time.Second)
		case transient < TransientRetries && (errors.As(err, new(*netError)) ||
			errors.As(err, &he) && (he.status == 502 || he.status == 504 || he.status == 503 && resp.RetryAfter == "")):
			wait = FirstBackoff << transient
			transient++
		default:
			return resp, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return resp, err
		case <-t.C:
		}
	}
}

// send sends a request once.
func (c *check) send(ctx context.Context, r Request) (Response, error) {
	resp, err := c.fetch(ctx, r)
	if err != nil {
		return resp, &netError{err}
	}
	if resp.Status != 200 {
		var j struct {
			Error string `json:"error"`
		}
		msg := ""
		if json.Unmarshal(resp.Body, &j) == nil {
			msg = j.Error
		}
		retry, _ := strconv.Atoi(strings.TrimSpace(resp.RetryAfter))
		return resp, &httpError{status: resp.Status, message: msg, retry: retry}
	}
	return resp, nil
}

func (c *check) run(ctx context.Context) error {
	resp, err := c.do(ctx, Request{Method: "GET", URL: c.base + wire.KeyPath})
	var he *httpError
	switch {
	case err == nil:
		cfg, pub, err := wire.ParseConfig(resp.Body, resp.ContentType, c.base)
		if errors.Is(err, wire.ErrNoPrivateMode) {
			return c.plain(ctx)
		}
		if err != nil {
			return err
		}
		return c.private(ctx, cfg, pub)
	case errors.As(err, &he) && (he.status == 404 || he.status == 403 || he.status == 410):
		// No private mode here (what a server or a static host says of
		// a missing file): a plain range check.
		return c.plain(ctx)
	}
	return err
}

// choose picks the prefix length the command picks from the offer
// (keyscheme.Choose), or takes the one the options ask for, and records
// what it gives in the outcome.
func (c *check) choose(o keyscheme.Offer) (int, error) {
	var (
		ch  keyscheme.Choice
		err error
	)
	if c.o.PrefixBits != 0 {
		ch, err = keyscheme.ChooseBits(c.n, c.o.PrefixBits, c.o.MinAnonymity, o)
	} else {
		ch, err = keyscheme.Choose(c.n, c.o.MinAnonymity, o)
	}
	if errors.Is(err, keyscheme.ErrNotOffered) && c.o.PrefixBits != 0 {
		return 0, &prefixError{err.Error()}
	}
	if err != nil {
		return 0, err
	}
	s := &Sent{Bits: ch.Bits, Anonymity: ch.Anonymity, Short: ch.Short, MinAnonymity: ch.K}
	if ch.Short && ch.Larger != nil {
		// The larger download: offered where the lengths the server
		// offers leave the number among fewer than K.
		s.LargerBits, s.LargerAnonymity, s.LargerBytes = ch.Larger.Bits, ch.Larger.Anonymity, ch.Larger.Bytes
	}
	c.out.Sent = s
	return ch.Bits, nil
}

func (c *check) private(ctx context.Context, cfg *wire.Config, pub *oprf.PublicKey) error {
	// As the command: padded answers, and the index's size (for the
	// larger download's) when 8 bits are on offer.
	o := cfg.Offer(0, true)
	if slices.Contains(o.Lengths(), keyscheme.LargerPrefixBits) {
		o = cfg.Offer(c.indexKeys(ctx), true)
	}
	p, err := c.choose(o)
	if err != nil {
		return err
	}
	s := c.out.Sent
	s.Mode, s.KeyID = "private", pub.ID()
	prefix := c.key >> (64 - p)
	s.Prefix = fmt.Sprintf("%0*X", (p+3)/4, prefix)
	c.out.TotalDatasets = len(cfg.Datasets)

	var bk *wire.Bucket
	var out uint64
	if cfg.Split() {
		// Two requests: the bucket, then an evaluation-only request
		// that tells the evaluator a blinded element and nothing else.
		var br *wire.Response
		if cfg.Static(p) {
			resp, err := c.do(ctx, Request{Method: "GET", URL: c.base + wire.BucketPath(prefix, p)})
			if err != nil {
				return err
			}
			if br, err = wire.ParseResponse(resp.Body); err != nil {
				return err
			}
		} else {
			req := wire.AppendRequest(nil, &wire.Request{Bits: p, Prefix: prefix})
			if br, err = c.post(ctx, c.base+wire.QueryPath, req); err != nil {
				return err
			}
		}
		if err := wire.CheckResponse(br, pub, p, 0); err != nil {
			return err
		}
		bk = br.Bucket
		q, err := wire.NewQuery(pub, 0, 0, []uint64{c.key})
		if err != nil {
			return err
		}
		if cfg.DecodeHints {
			q.AddDecodeHints()
		}
		ev := c.base
		if cfg.EvaluateURL != "" {
			ev = strings.TrimRight(cfg.EvaluateURL, "/")
			s.Evaluator = ev
		}
		s.BlindedElements = 1
		er, err := c.post(ctx, ev+wire.QueryPath, wire.AppendRequest(nil, &q.Request))
		if err != nil {
			return err
		}
		outs, err := q.Outputs(er)
		if err != nil {
			return err
		}
		out = outs[0]
	} else {
		q, err := wire.NewQuery(pub, p, prefix, []uint64{c.key})
		if err != nil {
			return err
		}
		if cfg.DecodeHints {
			// The element's decode hint spares the server an
			// exponentiation; it says nothing the element does not.
			q.AddDecodeHints()
		}
		s.BlindedElements = 1
		resp, err := c.post(ctx, c.base+wire.QueryPath, wire.AppendRequest(nil, &q.Request))
		if err != nil {
			return err
		}
		outs, err := q.Outputs(resp)
		if err != nil {
			return err
		}
		bk, out = resp.Bucket, outs[0]
	}
	s.Verified, s.Entries, s.Padded = true, len(bk.Entries), bk.Padded
	if s.LargerBits > 0 && s.LargerBytes == 0 {
		// The index's size was not known: estimate from this answer. An
		// entry is the 64-p low bits of a private key and its set id.
		perEntry := float64(64-s.LargerBits)/8 + float64(bk.IDBytes)
		s.LargerBytes = int64(float64(len(bk.Entries)) * math.Exp2(float64(p-s.LargerBits)) * perEntry)
	}
	exposed, set, err := wire.Match(bk, c.key, out, cfg.BucketBits, cfg.Sets)
	if err != nil {
		return err
	}
	c.out.Status = StatusNotExposed
	if exposed {
		c.out.Status, c.out.Datasets = StatusExposed, cfg.DatasetsOf(set)
	}
	return nil
}

func (c *check) post(ctx context.Context, url string, body []byte) (*wire.Response, error) {
	resp, err := c.do(ctx, Request{Method: "POST", URL: url, Body: body,
		Header: map[string]string{"Content-Type": "application/octet-stream", "Add-Padding": "true"}})
	if err != nil {
		return nil, err
	}
	return wire.ParseResponse(resp.Body)
}

func (c *check) plain(ctx context.Context) error {
	resp, err := c.do(ctx, Request{Method: "GET", URL: c.base + "/v1/datasets"})
	if err != nil {
		return err
	}
	var si rangewire.Info
	if err := json.Unmarshal(resp.Body, &si); err != nil {
		return fmt.Errorf("not a phonecheck server: /v1/datasets: %v", err)
	}
	o, err := si.Offer()
	if err != nil {
		return err
	}
	bits, err := c.choose(o)
	if err != nil {
		return err
	}
	s := c.out.Sent
	s.Mode, s.Prefix = "plain", keyscheme.Prefix(c.key, bits)
	c.out.TotalDatasets, c.out.Demo = len(si.Datasets), si.Index.Demo
	resp, err = c.do(ctx, Request{Method: "GET", URL: c.base + "/range/" + s.Prefix,
		Header: map[string]string{"Accept": "application/json, text/plain;q=0.9", "Add-Padding": "true"}})
	if err != nil {
		return err
	}
	entries, index, err := rangewire.ParseRange(resp.Body, resp.ContentType, s.Prefix)
	if err != nil {
		return err
	}
	if index != "" && index != si.Index.ID {
		return errors.New("the server changed its index during the check: try again")
	}
	s.Entries = len(entries)
	for _, e := range entries {
		if e.Count == 0 {
			s.Padded = true
		}
	}
	m := rangewire.MatchKey(si, entries, c.key)
	c.out.Status = StatusNotExposed
	if m.Exposed {
		c.out.Status, c.out.Datasets = StatusExposed, m.Datasets
		if !m.DatasetsKnown {
			c.out.Count = m.Count
		}
	}
	return nil
}

// indexKeys reads the number of keys of the server's index from its
// datasets document, for the size of the larger download, as the command
// does; 0 if it cannot. The request says nothing about the number.
func (c *check) indexKeys(ctx context.Context) int64 {
	resp, err := c.do(ctx, Request{Method: "GET", URL: c.base + "/v1/datasets"})
	if err != nil {
		return 0
	}
	var si rangewire.Info
	if json.Unmarshal(resp.Body, &si) != nil || si.Index.Keys < 0 {
		return 0
	}
	return si.Index.Keys
}

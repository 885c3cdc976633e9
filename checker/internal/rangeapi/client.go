package rangeapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi/rangewire"
	"github.com/phonecheck/phonecheck/checker/phone"
)

// Client checks numbers against a range endpoint: a server, or a static
// export behind any web server. It normalizes and hashes the number on
// this device, sends only a prefix of its key, and looks for the rest of
// the key in the answer. A Client is safe for concurrent use.
//
// The prefix length is the longest of the lengths the server offers
// (keyscheme.PrefixLengths) for which the number's own country keeps at
// least MinAnonymity valid numbers per prefix (keyscheme.Choose): a
// server that knows the number's country (from its prefix length or
// otherwise) still sees only one of about that many numbers. A country too
// small for that at any length gets the shortest, and the result says so
// (Choice.Short), unless Strict. The range API takes no prefix shorter
// than 12 bits (3 hex digits): it has no larger download to offer. Padding
// is asked for unless NoPadding is set.
type Client struct {
	base string // without a trailing slash
	opts Options

	mu   sync.Mutex
	info *Info
}

// Options configures a [Client].
type Options struct {
	// HTTPClient makes the requests; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
	// MinAnonymity is K: 0 means keyscheme.DefaultMinAnonymity.
	MinAnonymity float64
	// NoPadding turns off Add-Padding: true.
	NoPadding bool
	// PrefixBits, if not 0, is the prefix length sent, which must be one
	// the server offers (keyscheme.ErrNotOffered), instead of the one
	// MinAnonymity chooses.
	PrefixBits int
	// Strict sends nothing when the prefix leaves the number among fewer
	// than MinAnonymity valid numbers of its country (the error wraps
	// keyscheme.ErrAnonymity); by default such a number is checked with the
	// shortest prefix offered, and Result.Choice says how short it falls.
	Strict bool
}

// NewClient returns a Client for the server at baseURL, e.g.
// "http://127.0.0.1:8080" or the base of a static export
// "https://cdn.example/ranges".
func NewClient(baseURL string, opts Options) *Client {
	return &Client{base: strings.TrimRight(baseURL, "/"), opts: opts}
}

// Result is the answer of a remote check, and what left the device.
type Result struct {
	Number   phone.Number
	Exposed  bool
	Datasets []Dataset // the datasets holding the number, in index order; nil if not exposed or not known
	// Count is how many datasets hold the number, as the server said.
	Count int
	// DatasetsKnown reports whether Datasets names exactly the datasets
	// holding the number. A text-form answer (a static export) gives only
	// a count: then Datasets is nil unless the count equals the number of
	// datasets.
	DatasetsKnown bool
	// Prefix is the hex prefix sent, Bits its length.
	Prefix string
	Bits   int
	// Anonymity is the expected number of valid numbers of the number's
	// country that share Prefix (keyscheme.Anonymity).
	Anonymity float64
	// Choice is how Bits was chosen: whether Anonymity falls short of
	// MinAnonymity, and the larger download on offer (never, here).
	Choice keyscheme.Choice
}

var defaultHTTPClient = &http.Client{Timeout: 30 * time.Second}

// maxResponse bounds a response body (a 12-bit range of a 10^9-key index
// is ~40 MiB).
const maxResponse = 256 << 20

func (c *Client) http() *http.Client {
	if c.opts.HTTPClient != nil {
		return c.opts.HTTPClient
	}
	return defaultHTTPClient
}

// Info fetches /v1/datasets once and remembers it. A lookup reads it
// again when a server's answer comes from another index (a reload).
func (c *Client) Info(ctx context.Context) (Info, error) {
	return c.fetchInfo(ctx, false)
}

func (c *Client) fetchInfo(ctx context.Context, again bool) (Info, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.info != nil && !again {
		return *c.info, nil
	}
	body, _, err := c.get(ctx, "/v1/datasets", nil)
	if err != nil {
		return Info{}, err
	}
	var si Info
	if err := json.Unmarshal(body, &si); err != nil {
		return Info{}, fmt.Errorf("checker: %s/v1/datasets: not a phonecheck datasets document: %w", c.base, err)
	}
	if si.Index.HashScheme != "" && si.Index.HashScheme != keyscheme.Name {
		return Info{}, fmt.Errorf("%w: %q (this build reads %q)", keyscheme.ErrScheme, si.Index.HashScheme, keyscheme.Name)
	}
	c.info = &si
	return si, nil
}

// Check normalizes raw on this device (phone.Normalize) and checks it
// remotely ([Client.Lookup]).
func (c *Client) Check(ctx context.Context, raw, defaultRegion string) (Result, error) {
	n, err := phone.Normalize(raw, defaultRegion)
	if err != nil {
		return Result{}, err
	}
	return c.Lookup(ctx, n)
}

// Lookup checks a normalized number: it picks the prefix length, sends
// the prefix, and compares the answer on this device. With Strict, it
// sends nothing if no offered length gives MinAnonymity (the error wraps
// keyscheme.ErrAnonymity).
func (c *Client) Lookup(ctx context.Context, n phone.Number) (Result, error) {
	return c.lookup(ctx, n, true)
}

func (c *Client) lookup(ctx context.Context, n phone.Number, retry bool) (Result, error) {
	si, err := c.Info(ctx)
	if err != nil {
		return Result{}, err
	}
	offer, err := si.Offer()
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", c.base, err)
	}
	var ch keyscheme.Choice
	if c.opts.PrefixBits != 0 {
		ch, err = keyscheme.ChooseBits(n, c.opts.PrefixBits, c.opts.MinAnonymity, offer)
	} else {
		ch, err = keyscheme.Choose(n, c.opts.MinAnonymity, offer)
	}
	if err != nil {
		return Result{Number: n}, err
	}
	bits, anon := ch.Bits, ch.Anonymity
	if c.opts.Strict {
		if err := ch.Shortfall(); err != nil {
			return Result{Number: n, Bits: bits, Anonymity: anon, Choice: ch}, err
		}
	}
	key := keyscheme.Key(n.E164)
	rr := Result{Number: n, Prefix: keyscheme.Prefix(key, bits), Bits: bits, Anonymity: anon, Choice: ch}
	entries, index, err := c.rangeOf(ctx, rr.Prefix)
	if err != nil {
		return rr, err
	}
	if index != "" && index != si.Index.ID {
		// The server reloaded since /v1/datasets was read: the answer's
		// dataset indexes refer to the new list.
		if si, err = c.fetchInfo(ctx, true); err != nil {
			return rr, err
		}
		if si.Index.ID != index {
			if retry { // reloaded again in between
				return c.lookup(ctx, n, false)
			}
			return rr, fmt.Errorf("checker: %s changed its index during the check; try again", c.base)
		}
	}
	m := rangewire.MatchKey(si, entries, key)
	rr.Exposed, rr.Count, rr.Datasets, rr.DatasetsKnown = m.Exposed, m.Count, m.Datasets, m.DatasetsKnown
	return rr, nil
}

// rangeOf fetches the range of prefixHex (3 to 8 hex digits) in whichever
// form the server gives (JSON from a server, text from a static export),
// padding entries (count 0) included, and the index.id the answer names
// (JSON form; "" for the text form).
func (c *Client) rangeOf(ctx context.Context, prefixHex string) ([]Entry, string, error) {
	if _, _, err := ParsePrefix(prefixHex); err != nil {
		return nil, "", err
	}
	prefixHex = strings.ToUpper(prefixHex)
	hdr := http.Header{"Accept": {"application/json, text/plain;q=0.9"}}
	if !c.opts.NoPadding {
		hdr.Set("Add-Padding", "true")
	}
	body, ctype, err := c.get(ctx, "/range/"+prefixHex, hdr)
	if err != nil {
		return nil, "", err
	}
	return rangewire.ParseRange(body, ctype, prefixHex)
}

// apiError is the JSON body of a server's error responses.
type apiError struct {
	Error string `json:"error"`
}

// get fetches base+path. Errors name the server and the route, not the
// full URL (the path holds the prefix; it is the one the caller chose to
// send, but logs do not need it).
func (c *Client) get(ctx context.Context, path string, hdr http.Header) ([]byte, string, error) {
	route := path
	if strings.HasPrefix(path, "/range/") {
		route = "/range/…"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, "", fmt.Errorf("checker: bad server URL: %w", err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "phonecheck")
	resp, err := c.http().Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, "", fmt.Errorf("checker: %s%s: %w", c.base, route, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, "", fmt.Errorf("checker: %s%s: %w", c.base, route, err)
	}
	if len(body) > maxResponse {
		return nil, "", fmt.Errorf("checker: %s%s: response larger than %d bytes", c.base, route, maxResponse)
	}
	if resp.StatusCode != http.StatusOK {
		msg := resp.Status
		var ae apiError
		if json.Unmarshal(body, &ae) == nil && ae.Error != "" {
			msg += ": " + ae.Error
		}
		return nil, "", fmt.Errorf("checker: %s%s: %s", c.base, route, msg)
	}
	return body, resp.Header.Get("Content-Type"), nil
}

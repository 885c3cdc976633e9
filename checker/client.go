package checker

import (
	"context"
	"net/http"

	"github.com/phonecheck/phonecheck/checker/internal/rangeapi"
	"github.com/phonecheck/phonecheck/checker/phone"
)

// Client checks numbers against a range endpoint: a [Server], or a static
// export ([Export]) behind any web server. It normalizes and hashes the
// number on this device, sends only a prefix of its key, and looks for the
// rest of the key in the answer. Create it with [NewClient]. A Client is
// safe for concurrent use.
//
// The prefix length is the longest of the lengths the server offers (see
// [PrefixLengths]) for which the number's own country keeps at least
// MinAnonymity valid numbers per prefix ([ChoosePrefix]): a server that
// knows the number's country (from its prefix length or otherwise) still
// sees only one of about that many numbers. A country too small for that
// at any length is checked with the shortest, and the result says how
// short of K it falls, unless Strict ([ClientOptions]). The range API
// takes no prefix shorter than 12 bits: it has no larger download to
// offer. Padding is asked for unless NoPadding is set.
type Client struct {
	c *rangeapi.Client
}

// ClientOptions configures a [Client].
type ClientOptions struct {
	// HTTPClient makes the requests; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
	// MinAnonymity is K: 0 means DefaultMinAnonymity.
	MinAnonymity float64
	// NoPadding turns off Add-Padding: true.
	NoPadding bool
	// PrefixBits, if not 0, is the prefix length sent, which must be one
	// the server offers ([ErrPrefixNotOffered]), instead of the one
	// MinAnonymity chooses.
	PrefixBits int
	// Strict sends nothing when the prefix leaves the number among fewer
	// than MinAnonymity valid numbers of its country (the error wraps
	// [ErrAnonymity]); by default the number is checked with the shortest
	// prefix offered, and [RemoteResult].Choice says how short it falls.
	Strict bool
}

// NewClient returns a Client for the server at baseURL, e.g.
// "http://127.0.0.1:8080" or the base of a static export
// "https://cdn.example/ranges". opts nil means the defaults.
func NewClient(baseURL string, opts *ClientOptions) *Client {
	var o rangeapi.Options
	if opts != nil {
		o = rangeapi.Options(*opts)
	}
	return &Client{c: rangeapi.NewClient(baseURL, o)}
}

// RemoteResult is the answer of a remote check, and what left the device.
type RemoteResult struct {
	Result
	// Count is how many datasets hold the number, as the server said.
	Count int
	// DatasetsKnown reports whether Result.Datasets names exactly the
	// datasets holding the number. A text-form answer (a static export)
	// gives only a count: then Result.Datasets is nil unless the count
	// equals the number of datasets.
	DatasetsKnown bool
	// Prefix is the hex prefix sent, Bits its length.
	Prefix string
	Bits   int
	// Anonymity is the expected number of valid numbers of the number's
	// country that share Prefix ([Anonymity]).
	Anonymity float64
	// Choice is how Bits was chosen: whether Anonymity falls short of
	// MinAnonymity (Short), and the larger download on offer (never, from
	// the range API).
	Choice PrefixChoice
}

// Info fetches /v1/datasets once and remembers it. A lookup reads it
// again when a server's answer comes from another index (a reload).
func (c *Client) Info(ctx context.Context) (ServerInfo, error) {
	si, err := c.c.Info(ctx)
	if err != nil {
		return ServerInfo{}, err
	}
	return serverInfoOf(si), nil
}

// Check normalizes raw on this device (see [Normalize]) and checks it
// remotely ([Client.Lookup]).
func (c *Client) Check(ctx context.Context, raw, defaultRegion string) (RemoteResult, error) {
	r, err := c.c.Check(ctx, raw, defaultRegion)
	return remoteResultOf(r), err
}

// Lookup checks a normalized number: it picks the prefix length, sends
// the prefix, and compares the answer on this device. With Strict, it
// sends nothing if no offered length gives MinAnonymity (the error wraps
// [ErrAnonymity]).
func (c *Client) Lookup(ctx context.Context, n phone.Number) (RemoteResult, error) {
	r, err := c.c.Lookup(ctx, n)
	return remoteResultOf(r), err
}

func remoteResultOf(r rangeapi.Result) RemoteResult {
	return RemoteResult{
		Result:        Result{Number: r.Number, Exposed: r.Exposed, Datasets: datasetsOf(r.Datasets)},
		Count:         r.Count,
		DatasetsKnown: r.DatasetsKnown,
		Prefix:        r.Prefix,
		Bits:          r.Bits,
		Anonymity:     r.Anonymity,
		Choice:        r.Choice,
	}
}

// datasetsOf converts, keeping nil nil: a JSON answer says null for it.
func datasetsOf(ds []rangeapi.Dataset) []Dataset {
	if ds == nil {
		return nil
	}
	out := make([]Dataset, len(ds))
	for i, d := range ds {
		out[i] = Dataset(d)
	}
	return out
}

func serverInfoOf(si rangeapi.Info) ServerInfo {
	out := ServerInfo{Index: IndexInfo(si.Index), PrefixBits: si.PrefixBits, Padding: si.Padding,
		Static: si.Static, Private: si.Private}
	if si.Datasets != nil {
		out.Datasets = make([]DatasetInfo, len(si.Datasets))
		for i, d := range si.Datasets {
			out.Datasets[i] = DatasetInfo{Dataset: Dataset(d.Dataset), Keys: d.Keys}
		}
	}
	return out
}

// ServerInfo is the body of GET /v1/datasets, and the datasets document of
// an export ([Export]). Clients read it to learn the datasets' names and the
// prefix lengths on offer.
type ServerInfo struct {
	Index    IndexInfo     `json:"index"`
	Datasets []DatasetInfo `json:"datasets"`
	// PrefixBits are the lengths a client chooses from: those of the
	// range API from serve; those written, from an export; from a
	// private server without ranges, the lengths a private lookup sends
	// (8, those of the range lengths below B, and B).
	PrefixBits []int `json:"prefix_bits"`
	// Padding says whether answers are padded: from serve, whether padded
	// ranges are available (always), and in private mode without ranges
	// whether every bucket answer is padded (unless serve --padding
	// asked); from an export, whether its files are (a private export's
	// always are).
	Padding bool `json:"padding"`
	Static  bool `json:"static,omitempty"`
	// Private reports that the server answers the private routes
	// (GET /v1/private/key for the parameters).
	Private bool `json:"private,omitempty"`
}

// IndexInfo describes the index behind a server.
type IndexInfo struct {
	ID         string `json:"id"` // changes whenever the index does
	Keys       int64  `json:"keys"`
	HashScheme string `json:"hash_scheme"`
	Created    string `json:"created,omitempty"`
	Demo       bool   `json:"demo,omitempty"`
}

// DatasetInfo is one dataset of [ServerInfo].
type DatasetInfo struct {
	Dataset
	Keys int64 `json:"keys"`
}

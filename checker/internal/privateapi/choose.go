package privateapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi"
	"github.com/phonecheck/phonecheck/checker/phone"
)

// choose returns the prefix length a lookup of n sends: PrefixBits if set,
// else the one MinAnonymity chooses ([keyscheme.Choose]); with Strict, an
// error wrapping [keyscheme.ErrAnonymity] rather than a length that falls
// short of it.
func (c *Client) choose(ctx context.Context, cfg *Config, n phone.Number) (keyscheme.Choice, error) {
	padded := !c.NoPadding || cfg.StaticOnly()
	o := cfg.Offer(0, padded)
	if slices.Contains(o.Bits, keyscheme.LargerPrefixBits) {
		// The index's size says whether the server answers 8 bits, and
		// how large the answer is.
		o = cfg.Offer(c.indexKeys(ctx), padded)
	}
	var (
		ch  keyscheme.Choice
		err error
	)
	if c.PrefixBits != 0 {
		ch, err = keyscheme.ChooseBits(n, c.PrefixBits, c.MinAnonymity, o)
	} else {
		ch, err = keyscheme.Choose(n, c.MinAnonymity, o)
	}
	if err != nil {
		return ch, err
	}
	if c.Strict {
		return ch, ch.Shortfall()
	}
	return ch, nil
}

// indexKeys returns the number of keys of the server's index, read once
// from its datasets document (GET /v1/datasets: a server's, or an
// export's file), for the size of the larger download; 0 if it cannot be
// read. The request says nothing about any number.
func (c *Client) indexKeys(ctx context.Context) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keysRead {
		return c.keys
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.BaseURL, "/")+"/v1/datasets", nil)
	if err != nil {
		return 0
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return 0 // asked again next time
	}
	defer resp.Body.Close()
	c.keysRead = true
	var si rangeapi.Info
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&si) != nil || si.Index.Keys < 0 {
		return 0
	}
	c.keys = si.Index.Keys
	return c.keys
}

package rangewire

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"slices"
	"strings"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
)

// ParseRange reads a range answer for prefixHex in either form, by its
// Content-Type: JSON from a server, text from a static export. It
// returns every entry, padding (count 0) included, and the index.id the
// answer names ("" for the text form).
func ParseRange(body []byte, contentType, prefixHex string) ([]Entry, string, error) {
	if _, _, err := ParsePrefix(prefixHex); err != nil {
		return nil, "", err
	}
	prefixHex = strings.ToUpper(prefixHex)
	if mt, _, _ := mime.ParseMediaType(contentType); mt == "application/json" {
		var r struct {
			Prefix  string `json:"prefix"`
			Index   string `json:"index"`
			Entries []struct {
				Suffix   string `json:"suffix"`
				Count    int    `json:"count"`
				Datasets []int  `json:"datasets"`
			} `json:"entries"`
		}
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, "", fmt.Errorf("checker: range: malformed JSON: %w", err)
		}
		out := make([]Entry, 0, len(r.Entries))
		for _, e := range r.Entries {
			key, _, err := parseKeyHex(prefixHex + e.Suffix)
			if err != nil || e.Count < 0 {
				return nil, "", errors.New("checker: range: malformed entry")
			}
			ds := e.Datasets
			if ds == nil {
				ds = []int{}
			}
			out = append(out, Entry{Key: key, Count: e.Count, Datasets: ds})
		}
		return out, r.Index, nil
	}
	es, err := ParseText(body, prefixHex)
	return es, "", err
}

// Offer returns the prefix lengths a client may send to the server (or
// export) si describes: those of the fixed ladder it lists, so that a
// server that lists others does not get to make the length say more
// about the number, and none below 12 bits (a range is 3 to 8 hex
// digits).
func (si Info) Offer() (keyscheme.Offer, error) {
	offered := []int{}
	for _, b := range si.PrefixBits {
		if slices.Contains(keyscheme.PrefixLengths, b) {
			offered = append(offered, b)
		}
	}
	if len(offered) == 0 {
		return keyscheme.Offer{}, fmt.Errorf("checker: the server offers none of the prefix lengths %v (bits)", keyscheme.PrefixLengths)
	}
	return keyscheme.Offer{Bits: offered}, nil
}

// A Match is what a range answer says of one key.
type Match struct {
	Exposed bool
	Count   int // datasets holding the key
	// Datasets are those datasets, when the answer or the index says
	// which (DatasetsKnown): the JSON form names them; the text form only
	// counts them, which names them when the count is every dataset.
	Datasets      []Dataset
	DatasetsKnown bool
}

// MatchKey looks key up in the entries of its range, with si the
// /v1/datasets document the entries' dataset indexes refer to.
func MatchKey(si Info, entries []Entry, key uint64) Match {
	var m Match
	for _, e := range entries {
		if e.Key != key || e.Count == 0 {
			continue
		}
		m.Exposed, m.Count = true, e.Count
		switch {
		case e.Datasets != nil:
			m.DatasetsKnown = true
			for _, id := range e.Datasets {
				if id >= 0 && id < len(si.Datasets) {
					m.Datasets = append(m.Datasets, si.Datasets[id].Dataset)
				}
			}
		case e.Count == len(si.Datasets):
			m.DatasetsKnown = true
			for _, d := range si.Datasets {
				m.Datasets = append(m.Datasets, d.Dataset)
			}
		}
		break
	}
	return m
}

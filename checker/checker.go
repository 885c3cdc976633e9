package checker

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/phone"
	"github.com/phonecheck/phonecheck/hashset"
)

// Dataset describes one leak dataset an index holds.
type Dataset struct {
	Name   string `json:"name"`
	Date   string `json:"date,omitempty"`
	Source string `json:"source,omitempty"`
}

// Result is the answer for one number.
type Result struct {
	Number   phone.Number
	Exposed  bool
	Datasets []Dataset // the datasets holding the number, in index order; nil if not exposed
}

// A Checker answers whether phone numbers are in an index. It is safe for
// concurrent use by multiple goroutines.
type Checker struct {
	idx      *hashset.Reader
	datasets []Dataset
	demo     bool
	owned    bool
}

// ErrScheme is returned for an index built under another [HashScheme].
var ErrScheme = keyscheme.ErrScheme

// New returns a Checker over an open index. The Checker does not take
// ownership of idx: closing the Checker closes nothing.
func New(idx *hashset.Reader) (*Checker, error) {
	m := idx.Meta()
	if m.KeyScheme != keyscheme.Name {
		return nil, fmt.Errorf("%w: %q (this build reads %q)", ErrScheme, m.KeyScheme, keyscheme.Name)
	}
	c := &Checker{idx: idx}
	for _, d := range m.Datasets {
		c.datasets = append(c.datasets, Dataset{Name: d.Name, Date: d.Date, Source: d.Source})
	}
	c.demo = m.Info[InfoDemo] == "true"
	return c, nil
}

// Open opens the index file at path and returns a Checker over it. Close
// the Checker to release the file.
func Open(path string) (*Checker, error) {
	idx, err := hashset.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, err // already names the file
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c, err := New(idx)
	if err != nil {
		idx.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.owned = true
	return c, nil
}

// Close releases the index if the Checker opened it.
func (c *Checker) Close() error {
	if c.owned {
		return c.idx.Close()
	}
	return nil
}

// Index returns the underlying index.
func (c *Checker) Index() *hashset.Reader { return c.idx }

// Datasets lists the datasets of the index, in index order.
func (c *Checker) Datasets() []Dataset { return c.datasets }

// Demo reports whether the index is the embedded demo index: fictional data.
func (c *Checker) Demo() bool { return c.demo }

// Check normalizes raw (see [Normalize]) and looks it up.
func (c *Checker) Check(raw, defaultRegion string) (Result, error) {
	n, err := phone.Normalize(raw, defaultRegion)
	if err != nil {
		return Result{}, err
	}
	return c.Lookup(n), nil
}

// Lookup looks up a normalized number.
func (c *Checker) Lookup(n phone.Number) Result {
	r := Result{Number: n}
	ids, ok := c.idx.Contains(keyscheme.Key(n.E164))
	if !ok {
		return r
	}
	r.Exposed = true
	for _, id := range ids {
		if id >= 0 && id < len(c.datasets) {
			r.Datasets = append(r.Datasets, c.datasets[id])
		}
	}
	return r
}

// InfoDemo is the index header key that marks the demo index. Output built
// from an index so marked labels itself as fictional.
const InfoDemo = "phonecheck.demo"

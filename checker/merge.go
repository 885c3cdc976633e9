package checker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/private"
	"github.com/phonecheck/phonecheck/hashset"
)

// ErrMerge is returned (wrapped) when indexes cannot be merged: different
// hash schemes, a dataset name in two of them, a plain index with a
// private one.
var ErrMerge = hashset.ErrMerge

// MergeOptions configure [Merge].
type MergeOptions struct {
	Created string
	// BloomFPR is the bloom filter's false positive rate: 0 keeps the
	// first input's, a negative value means none.
	BloomFPR float64
}

// MergeReport says what [Merge] did.
type MergeReport struct {
	Inputs    []int64 // distinct keys of each input
	Keys      int64   // distinct keys written
	InSeveral int64   // keys in more than one input: their provenance merged
	Datasets  int
	Bytes     int64
	Private   bool // the inputs were private (sealed) indexes
	// CountriesUnknown counts keys in several inputs whose country the
	// datasets holding them do not tell (each holds several countries):
	// when it is not 0, the merged index keeps per-dataset country counts
	// but no index-wide ones.
	CountriesUnknown int64
	Elapsed          time.Duration
}

// Merge merges index files into one at out (a temporary file renamed into
// place, owner-only; nothing is left behind on error). The inputs are
// either all plain indexes (from [Ingest]) or all private indexes sealed
// under one key: sealed keys are merged as they are, nothing is evaluated
// again. The result holds every key of every input with all its
// provenance; the datasets are the inputs' datasets, whose names must
// differ; the per-country counts are recomputed. A corrupt input is an
// error naming it, and nothing is written. It streams: memory is the
// result's directory and bloom filter, whatever the inputs' size.
func Merge(ctx context.Context, out string, inputs []string, opts MergeOptions) (*MergeReport, error) {
	start := time.Now()
	if len(inputs) < 1 {
		return nil, fmt.Errorf("%w: no input", ErrMerge)
	}
	var in []hashset.MergeInput
	defer func() {
		for _, x := range in {
			x.Reader.Close()
		}
	}()
	for _, p := range inputs {
		r, err := hashset.Open(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		in = append(in, hashset.MergeInput{Name: p, Reader: r})
	}
	ho := hashset.MergeOptions{Created: opts.Created, BloomFPR: opts.BloomFPR}
	rep := &MergeReport{}
	switch first := in[0].Reader.Meta().KeyScheme; first {
	case keyscheme.Name:
		ho.Info = mergeInfo(in)
	case private.PrivateScheme:
		f, err := private.MergeInfo(in)
		if err != nil {
			if errors.Is(err, private.ErrNotPrivate) {
				return nil, fmt.Errorf("%w: %v", ErrMerge, err)
			}
			return nil, err
		}
		ho.InfoFunc = f
		rep.Private = true
	default:
		return nil, fmt.Errorf("%s: %w: %q (this build reads %q)", inputs[0], ErrScheme, first, keyscheme.Name)
	}
	st, err := hashset.MergeFile(ctx, out, in, ho)
	if err != nil {
		return nil, err
	}
	rep.Inputs, rep.Keys, rep.InSeveral, rep.Bytes = st.Inputs, st.Unique, st.InSeveral, st.Bytes
	rep.Datasets, rep.CountriesUnknown = len(st.Meta.Datasets), st.GroupsUnknown
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// mergeInfo is the merged header's Info: the first input's, and where a
// later input recorded another value (another library version, say),
// that value too, under the key followed by "@" and the input's position.
func mergeInfo(in []hashset.MergeInput) map[string]string {
	info := maps.Clone(in[0].Reader.Meta().Info)
	if info == nil {
		info = map[string]string{}
	}
	for i, x := range in[1:] {
		for k, v := range x.Reader.Meta().Info {
			if w, ok := info[k]; !ok {
				info[k] = v
			} else if w != v {
				info[fmt.Sprintf("%s@%d", k, i+2)] = v
			}
		}
	}
	return info
}

package private

import (
	"encoding/json"
	"fmt"
	"maps"
	"strconv"

	"github.com/phonecheck/phonecheck/hashset"
)

// mergeSame are the header keys every private index of a merge must
// agree on: one key (its id, public half and padding seed), one bucket
// width, one suite, one way of making OPRF inputs.
var mergeSame = []string{InfoKeyID, InfoPublicKey, InfoPadSeed, InfoBucketBits, InfoSuite, InfoInput}

// MergeInfo checks that private indexes can be merged with
// hashset.MergeFile and returns the function that makes the merged
// header. Sealed keys are merged as they are: F_k is a function of the
// plain key, so a number sealed in two inputs under one key has one
// private key, and nothing is evaluated again. Indexes sealed under
// different keys cannot be merged ([ErrKeyMismatch]): one of them must be
// sealed again from its plain index.
//
// The merged header lists the merged sets with their key counts; its
// plain-key count is the inputs' summed, less the keys in several inputs.
func MergeInfo(inputs []hashset.MergeInput) (func(*hashset.MergeStats) (map[string]string, error), error) {
	first := inputs[0].Reader.Meta()
	for _, in := range inputs {
		m := in.Reader.Meta()
		if m.KeyScheme != PrivateScheme {
			return nil, fmt.Errorf("%w: %s has key scheme %q", ErrNotPrivate, in.Name, m.KeyScheme)
		}
		if m.Info[InfoKeyID] != first.Info[InfoKeyID] {
			return nil, fmt.Errorf("%w: %s is sealed under key %s, %s under key %s; seal one again from its plain index under the other's key",
				ErrKeyMismatch, in.Name, m.Info[InfoKeyID], inputs[0].Name, first.Info[InfoKeyID])
		}
		for _, k := range mergeSame {
			if m.Info[k] != first.Info[k] {
				return nil, fmt.Errorf("checker: cannot merge: %s and %s differ in %s (%q, %q)", in.Name, inputs[0].Name, k, m.Info[k], first.Info[k])
			}
		}
	}
	plain := int64(0)
	for _, in := range inputs {
		n, err := strconv.ParseInt(in.Reader.Meta().Info[InfoPlainKeys], 10, 64)
		if err != nil {
			n = in.Reader.Len()
		}
		plain += n
	}
	return func(st *hashset.MergeStats) (map[string]string, error) {
		info := maps.Clone(first.Info)
		sets := make([]Set, len(st.Sets))
		for i, ds := range st.Sets {
			sets[i] = Set{Datasets: ds, Keys: st.SetKeys[i]}
		}
		js, err := json.Marshal(sets)
		if err != nil {
			return nil, err
		}
		info[InfoSets] = string(js)
		info[InfoPlainKeys] = strconv.FormatInt(plain-st.InSeveral, 10)
		for _, in := range inputs[1:] {
			if in.Reader.Meta().Info[InfoDemo] != first.Info[InfoDemo] {
				delete(info, InfoDemo) // a demo merged with a real index is not a demo
			}
		}
		return info, nil
	}, nil
}

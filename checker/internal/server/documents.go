package server

import (
	"encoding/json"
	"errors"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/privateapi"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi/rangeenc"
	"github.com/phonecheck/phonecheck/hashset"
)

// Info returns the /v1/datasets document of a plain index r holding
// datasets ds (demo: the embedded demo index), and the datasets document
// of a range export.
func Info(r *hashset.Reader, ds []rangeapi.Dataset, demo bool) rangeapi.Info {
	m := r.Meta()
	si := rangeapi.Info{
		Index: rangeapi.IndexInfo{ID: rangeenc.IndexID(r), Keys: r.Len(), HashScheme: m.KeyScheme,
			Created: m.Created, Demo: demo},
		PrefixBits: keyscheme.PrefixLengths,
		Datasets:   []rangeapi.DatasetInfo{},
	}
	for i, d := range m.Datasets {
		si.Datasets = append(si.Datasets, rangeapi.DatasetInfo{Dataset: ds[i], Keys: d.Keys})
	}
	return si
}

// Stats returns the /v1/stats document of a plain index.
func Stats(r *hashset.Reader) rangeapi.Stats {
	m := r.Meta()
	st := rangeapi.Stats{Keys: r.Len(), Countries: m.Groups}
	if st.Countries == nil {
		st.Countries = map[string]int64{}
	}
	for _, d := range m.Datasets {
		if len(d.Groups) > 0 {
			if st.Datasets == nil {
				st.Datasets = map[string]map[string]int64{}
			}
			st.Datasets[d.Name] = d.Groups
		}
	}
	return st
}

// nonceCount bounds the proof nonces a private server computes ahead: a
// few milliseconds of idle time fill it, and it covers a burst of
// queries that long.
const nonceCount = 256

func (s *Server) newServerIndex(ixs Indexes) (*serverIndex, error) {
	ix := &serverIndex{ixs: ixs, closed: make(chan struct{})}
	var si rangeapi.Info
	var st rangeapi.Stats
	switch {
	case ixs.Plain != nil:
		ix.reader = ixs.Plain
		si, st = Info(ixs.Plain, ixs.Datasets, ixs.Demo), Stats(ixs.Plain)
		si.Padding = true
	case ixs.Private != nil:
		ix.reader = ixs.Private.Reader()
		si = privateapi.Info(ixs.Private, privateapi.ServerBits(ixs.Private), !s.opts.Private.PadOnlyWhenAsked)
		st = privateapi.Stats(ixs.Private)
	default:
		return nil, errors.New("checker: server needs a plain or a private index")
	}
	if s.opts.NoCountryStats {
		st = rangeapi.Stats{Keys: st.Keys}
	}
	if ixs.Private != nil {
		h, err := privateapi.NewHandler(ixs.Private, ixs.Key, s.opts.Private, s.limits, s.metrics.elementsEvaluated)
		if err != nil {
			return nil, err
		}
		ix.priv = h
		si.Private = true
	}
	id := rangeenc.IndexID(ix.reader)
	if ixs.Plain != nil && ixs.Private != nil {
		id = rangeenc.IndexID(ixs.Plain)[:8] + rangeenc.IndexID(ixs.Private.Reader())[:8]
	}
	ix.id = id
	if ixs.Plain != nil {
		ix.enc = rangeenc.NewEncoder(ixs.Plain, rangeenc.PadID(ixs.Plain), si.Index.ID)
	}
	ix.docETag = []string{`"` + id + "-j" + `"`}
	var err error
	if ix.info, err = json.Marshal(si); err != nil {
		return nil, err
	}
	if ix.stats, err = json.Marshal(st); err != nil {
		return nil, err
	}
	if ixs.Private != nil && oprf.NoncesPay() {
		ix.nonces = ixs.Key.StartNonces(nonceCount)
	}
	ix.refs.Store(1) // the server's own reference
	return ix, nil
}

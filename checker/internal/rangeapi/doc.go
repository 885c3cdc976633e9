// Package rangeapi is the client side of phonecheck's range API: an HTTP
// client that sends only a key prefix and compares the answer on the
// device. The wire format and the documents it reads are in rangewire
// (which a browser build links without this package's HTTP code); their
// names are aliased here for the client's callers.
package rangeapi

import "github.com/phonecheck/phonecheck/checker/internal/rangeapi/rangewire"

// The range API's documents and wire format: see rangewire.
type (
	Info        = rangewire.Info
	IndexInfo   = rangewire.IndexInfo
	DatasetInfo = rangewire.DatasetInfo
	Dataset     = rangewire.Dataset
	Stats       = rangewire.Stats
	Entry       = rangewire.Entry
)

// See rangewire.
const (
	MinPrefixHex     = rangewire.MinPrefixHex
	MaxPrefixHex     = rangewire.MaxPrefixHex
	MinPaddedEntries = rangewire.MinPaddedEntries
)

// See rangewire.
var (
	ErrBadPrefix = rangewire.ErrBadPrefix
	ParsePrefix  = rangewire.ParsePrefix
	PaddedSize   = rangewire.PaddedSize
	ParseText    = rangewire.ParseText
)

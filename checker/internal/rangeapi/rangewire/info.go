package rangewire

// Info is the body of GET /v1/datasets, as a client reads it: the index
// behind the server, its datasets (which the JSON form of a range names
// by position), and the prefix lengths on offer. Its fields and their
// JSON names are those of the document a server and an export write.
type Info struct {
	Index      IndexInfo     `json:"index"`
	Datasets   []DatasetInfo `json:"datasets"`
	PrefixBits []int         `json:"prefix_bits"` // lengths a client may query
	Padding    bool          `json:"padding"`     // are answers padded (see checker.ServerInfo)
	Static     bool          `json:"static,omitempty"`
	Private    bool          `json:"private,omitempty"` // the server answers the private routes too
}

// IndexInfo describes the index behind a server.
type IndexInfo struct {
	ID         string `json:"id"` // changes whenever the index does
	Keys       int64  `json:"keys"`
	HashScheme string `json:"hash_scheme"`
	Created    string `json:"created,omitempty"`
	Demo       bool   `json:"demo,omitempty"`
}

// DatasetInfo is one dataset of [Info].
type DatasetInfo struct {
	Dataset
	Keys int64 `json:"keys"`
}

// Dataset names one leak dataset.
type Dataset struct {
	Name   string `json:"name"`
	Date   string `json:"date,omitempty"`
	Source string `json:"source,omitempty"`
}

// Stats is the body of GET /v1/stats: numbers per country, index-wide
// and per dataset. Countries is left out (nil) where it is not known (a
// private index: sealing keeps per-dataset counts only) and, with
// Datasets, where the operator turned country statistics off.
type Stats struct {
	Keys      int64                       `json:"keys"`
	Countries map[string]int64            `json:"countries,omitzero"`
	Datasets  map[string]map[string]int64 `json:"datasets,omitempty"` // per dataset, per country
}

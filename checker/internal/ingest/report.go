package ingest

// What a pass over datasets saw: rows by outcome, rejected rows by reason.

import (
	"strconv"

	"github.com/phonecheck/phonecheck/checker/phone"
)

// FirstLines is how many locations a report keeps per reason.
const FirstLines = 5

// ReasonCount counts the rows rejected for one reason.
type ReasonCount struct {
	Reason phone.Reason `json:"reason"`
	Count  int64        `json:"count"`
	First  []Location   `json:"first"` // the first few, in input order
}

// Location is a row of an input file.
type Location struct {
	File string `json:"file"`
	Line int64  `json:"line"`
}

func (l Location) String() string { return l.File + ":" + strconv.FormatInt(l.Line, 10) }

// DatasetReport is what a build saw of one dataset.
type DatasetReport struct {
	Name      string           `json:"name"`
	Rows      int64            `json:"rows"`
	Valid     int64            `json:"valid"`
	Invalid   []ReasonCount    `json:"invalid"`
	Unique    int64            `json:"unique"`     // distinct numbers
	DupWithin int64            `json:"dup_within"` // valid rows repeating a number of the same dataset
	Countries map[string]int64 `json:"countries"`  // distinct numbers per region
	Columns   []string         `json:"columns"`    // column picked, per file
	// Strict says the dataset was read in strict mode (as Google's
	// library reads numbers: no international retry).
	Strict bool `json:"strict"`
	// Retried counts the valid rows read by the international retry:
	// digits not valid in the default region, read as if they began
	// with "+" (phone.Number.Retried); RetriedFirst are the first few.
	Retried      int64      `json:"retried"`
	RetriedFirst []Location `json:"retried_first"`
}

// Report is what a build saw, in total and per dataset.
type Report struct {
	Rows      int64            `json:"rows"`
	Valid     int64            `json:"valid"`
	Retried   int64            `json:"retried"` // valid rows read by the international retry
	Invalid   []ReasonCount    `json:"invalid"`
	Unique    int64            `json:"unique"`
	DupWithin int64            `json:"dup_within"`
	InSeveral int64            `json:"in_several"` // distinct numbers found in more than one dataset
	Countries map[string]int64 `json:"countries"`
	Datasets  []DatasetReport  `json:"datasets"`
	Bytes     int64            `json:"bytes"` // index file size
}

// Reasons counts rejected rows by reason, with the first [FirstLines]
// locations of each.
type Reasons map[phone.Reason]*ReasonCount

// Add counts one row rejected for r at file:line.
func (rs Reasons) Add(r phone.Reason, file string, line int64) {
	rc := rs[r]
	if rc == nil {
		rc = &ReasonCount{Reason: r}
		rs[r] = rc
	}
	rc.Count++
	if len(rc.First) < FirstLines {
		rc.First = append(rc.First, Location{File: file, Line: line})
	}
}

// AddCount adds rc, the count of rows that come after those already
// counted.
func (rs Reasons) AddCount(rc *ReasonCount) {
	t := rs[rc.Reason]
	if t == nil {
		t = &ReasonCount{Reason: rc.Reason}
		rs[rc.Reason] = t
	}
	t.Count += rc.Count
	for _, l := range rc.First {
		if len(t.First) < FirstLines {
			t.First = append(t.First, l)
		}
	}
}

// Sorted returns the counts in the order of [phone.Reasons].
func (rs Reasons) Sorted() []ReasonCount {
	var out []ReasonCount
	for _, r := range phone.Reasons {
		if rc := rs[r]; rc != nil {
			out = append(out, *rc)
		}
	}
	return out
}

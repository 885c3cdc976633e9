package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/phonecheck/phonecheck/checker/internal/synth"
	"github.com/phonecheck/phonecheck/hashset"
)

// TestReadWorkers: the index, the report and the rejects are the same
// bytes whatever the number of workers, since rows are emitted in input
// order.
func TestReadWorkers(t *testing.T) {
	var a, b bytes.Buffer
	if _, err := synth.Generate(&a, synth.Options{Seed: 3, N: 20000, Region: "EG", Junk: 0.05}); err != nil {
		t.Fatal(err)
	}
	if _, err := synth.Generate(&b, synth.Options{Seed: 4, N: 7000, Format: "txt", Region: "US"}); err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{"a.csv": {Data: a.Bytes()}, "b.txt": {Data: b.Bytes()}}
	var want [3][]byte
	for _, workers := range []int{1, 2, 5} {
		var rejects, idx bytes.Buffer
		bd, err := Read(context.Background(), Options{
			Datasets: []DatasetSpec{
				{Name: "a", Region: "EG", Files: []string{"a.csv"}},
				{Name: "b", Region: "US", Files: []string{"b.txt", "a.csv"}},
			},
			FS: fsys, Rejects: &rejects, Workers: workers, Created: "2026-12-06",
		})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := bd.Write(&idx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Rows != 47000 || rep.Invalid == nil || rejects.Len() == 0 {
			t.Fatalf("workers %d: %d rows, invalid %v, %d bytes of rejects", workers, rep.Rows, rep.Invalid, rejects.Len())
		}
		repJSON, _ := json.Marshal(rep)
		got := [3][]byte{idx.Bytes(), repJSON, rejects.Bytes()}
		if want[0] == nil {
			want = got
			continue
		}
		for i, what := range []string{"index", "report", "rejects"} {
			if !bytes.Equal(got[i], want[i]) {
				t.Errorf("workers %d: the %s differs from one worker's", workers, what)
			}
		}
	}
}

// TestReadRetriedAndStrict: the same rows as two datasets, one read in the
// default mode and one in strict mode. The default one counts the rows
// the international retry read (report, header), lists them in the
// rejects when asked, and indexes them; the strict one reads none, and
// the header records each dataset's mode.
func TestReadRetriedAndStrict(t *testing.T) {
	// Line 2 is valid in US; 3 and 4 only as international (EG, GB); 5 is
	// junk in both modes.
	rows := "phone\n(201) 555-0123\n201001234567\n44 20 7946 0123\n12345\n"
	fsys := fstest.MapFS{"a.csv": {Data: []byte(rows)}}
	for _, withRetried := range []bool{false, true} {
		var rejects, idx bytes.Buffer
		bd, err := Read(context.Background(), Options{
			Datasets: []DatasetSpec{
				{Name: "lenient", Region: "US", Files: []string{"a.csv"}},
				{Name: "strict", Region: "US", Files: []string{"a.csv"}, Strict: true},
			},
			FS: fsys, Rejects: &rejects, RejectsRetried: withRetried,
		})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := bd.Write(&idx)
		if err != nil {
			t.Fatal(err)
		}
		l, s := rep.Datasets[0], rep.Datasets[1]
		if l.Valid != 3 || l.Retried != 2 || l.Strict || len(l.RetriedFirst) != 2 || l.RetriedFirst[0].Line != 3 || l.RetriedFirst[1].Line != 4 {
			t.Errorf("default dataset: valid %d, retried %d at %v, strict %v; want 3, 2 at lines 3 and 4, false", l.Valid, l.Retried, l.RetriedFirst, l.Strict)
		}
		if s.Valid != 1 || s.Retried != 0 || !s.Strict {
			t.Errorf("strict dataset: valid %d, retried %d, strict %v; want 1, 0, true", s.Valid, s.Retried, s.Strict)
		}
		if rep.Retried != 2 || rep.Unique != 3 {
			t.Errorf("report: %d retried, %d unique; want 2 and 3", rep.Retried, rep.Unique)
		}
		r, err := hashset.NewReader(bytes.NewReader(idx.Bytes()), int64(idx.Len()))
		if err != nil {
			t.Fatal(err)
		}
		m := r.Meta()
		if st := m.Datasets[0].Stats; st[StatStrict] != 0 || st[StatRetried] != 2 {
			t.Errorf("header of the default dataset: %v", st)
		}
		if st := m.Datasets[1].Stats; st[StatStrict] != 1 || st[StatRetried] != 0 {
			t.Errorf("header of the strict dataset: %v", st)
		}
		retriedRows := strings.Count(rejects.String(), "read as international")
		wantRetried := 0
		if withRetried {
			wantRetried = 2
		}
		// Failures print counts, not the rows: they hold numbers.
		if retriedRows != wantRetried || !strings.Contains(rejects.String(), "a.csv,5,too short,12345") {
			t.Errorf("RejectsRetried %v: %d retried rows in the rejects (want %d), too-short row of line 5 listed: %v",
				withRetried, retriedRows, wantRetried, strings.Contains(rejects.String(), "a.csv,5,too short,"))
		}
		if withRetried && !strings.Contains(rejects.String(), "a.csv,3,read as international: not valid in US,201001234567") {
			t.Errorf("the rejects lack the retried row of line 3, with its note and value")
		}
	}
}

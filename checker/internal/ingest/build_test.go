package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"testing/fstest"

	"github.com/phonecheck/phonecheck/checker/internal/synth"
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

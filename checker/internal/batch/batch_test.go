package batch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/phonecheck/phonecheck/checker/internal/ingest"
	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/synth"
	"github.com/phonecheck/phonecheck/checker/phone"
	"github.com/phonecheck/phonecheck/hashset"
)

// TestBatchMatchesCheck runs a batch over generated messy rows and checks
// every output row against phone.Normalize (phone.NormalizeStrict in
// strict mode) and a lookup of its key, row by row, note included, in both
// output formats, before and after preloading the index.
func TestBatchMatchesCheck(t *testing.T) {
	var leak, subs bytes.Buffer
	if _, err := synth.Generate(&leak, synth.Options{Seed: 1, N: 3000, Format: "txt", Region: "EG"}); err != nil {
		t.Fatal(err)
	}
	if _, err := synth.Generate(&subs, synth.Options{Seed: 2, N: 20000, Region: "EG", Junk: 0.05}); err != nil {
		t.Fatal(err)
	}
	idx := buildTestIndex(t, leak.Bytes())
	// The input rows, for the reference.
	var raws, ids []string
	cr := csv.NewReader(bytes.NewReader(subs.Bytes()))
	cr.Read()
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		ids, raws = append(ids, rec[0]), append(raws, rec[1])
	}
	// The last pass preloads the index: lookups then leave ReadAt for
	// memory and ContainsBatch's prefetching path.
	for _, mode := range []string{"csv", "jsonl", "jsonl+strict", "csv+preload"} {
		format, preload := strings.CutSuffix(mode, "+preload")
		format, strict := strings.CutSuffix(format, "+strict")
		if preload {
			if err := idx.Preload(); err != nil {
				t.Fatal(err)
			}
		}
		b, err := newTestBatch(idx, bytes.NewReader(subs.Bytes()), "subs.csv", ingest.InputOptions{IDColumn: "id"}, Options{Region: "EG", Output: format, Workers: 3, Strict: strict})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		sum, err := b.Run(context.Background(), &out)
		if err != nil {
			t.Fatal(err)
		}
		b.Close()
		type row struct{ id, e164, status, reason, note string }
		var got []row
		sc := bufio.NewScanner(&out)
		if format == "csv" {
			sc.Scan() // header
		}
		for sc.Scan() {
			if format == "csv" {
				f := strings.Split(sc.Text(), ",")
				got = append(got, row{f[1], f[2], f[4], f[5], f[7]})
			} else {
				var r struct{ ID, E164, Status, Reason, Note string }
				if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
					t.Fatal(err)
				}
				got = append(got, row{r.ID, r.E164, r.Status, r.Reason, r.Note})
			}
		}
		if len(got) != len(raws) || sum.Rows != int64(len(raws)) {
			t.Fatalf("%s: %d output rows, summary %d; want %d", format, len(got), sum.Rows, len(raws))
		}
		var exposed, retried, retriedExposed int64
		for i, raw := range raws {
			want := row{id: ids[i], status: StatusInvalid}
			normalize := phone.Normalize
			if strict {
				normalize = phone.NormalizeStrict
			}
			if n, err := normalize(raw, "EG"); err != nil {
				want.reason = string(phone.ReasonOf(err))
			} else {
				want.e164, want.status = n.E164, StatusNotExposed
				if n.Retried {
					want.note = ingest.RetriedNote("EG")
					retried++
				}
				if _, ok := idx.Contains(keyscheme.Key(n.E164)); ok {
					want.status = StatusExposed
					exposed++
					if n.Retried {
						retriedExposed++
					}
				}
			}
			if got[i] != want {
				t.Fatalf("%s: row %d (%q): got %+v, want %+v", format, i+2, raw, got[i], want)
			}
		}
		if sum.Exposed != exposed || sum.Exposed+sum.NotExposed+sum.Invalid != sum.Rows || sum.Datasets[0].Exposed != exposed {
			t.Errorf("%s: summary %+v; want %d exposed", format, sum, exposed)
		}
		if exposed == 0 || sum.Invalid == 0 {
			t.Errorf("%s: the test data should hold exposed and invalid rows", format)
		}
		if sum.Retried != retried || sum.RetriedExposed != retriedExposed || sum.Datasets[0].ExposedRetried != retriedExposed || sum.Strict != strict {
			t.Errorf("%s: summary %+v; want %d retried, %d of them exposed", mode, sum, retried, retriedExposed)
		}
		if strict != (retried == 0) || !strict && retriedExposed == 0 {
			t.Errorf("%s: %d rows retried, %d exposed: the test data should hold retried rows, exposed ones among them, but for strict", mode, retried, retriedExposed)
		}
	}
}

// buildTestIndex builds an index of one dataset, "leak", from leak.
func buildTestIndex(t *testing.T, leak []byte) *hashset.Reader {
	t.Helper()
	bd, err := ingest.Read(context.Background(), ingest.Options{
		Datasets: []ingest.DatasetSpec{{Name: "leak", Region: "EG", Files: []string{"leak.txt"}}},
		FS:       fstest.MapFS{"leak.txt": {Data: leak}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var idx bytes.Buffer
	if _, err := bd.Write(&idx); err != nil {
		t.Fatal(err)
	}
	r, err := hashset.NewReader(bytes.NewReader(idx.Bytes()), int64(idx.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// newTestBatch is a batch over src against idx, as a Checker makes one.
func newTestBatch(idx *hashset.Reader, src io.Reader, name string, inOpts ingest.InputOptions, opts Options) (*Batch, error) {
	in, err := ingest.NewInput(src, name, inOpts)
	if err != nil {
		return nil, err
	}
	var datasets []Dataset
	for _, d := range idx.Meta().Datasets {
		datasets = append(datasets, Dataset{Name: d.Name, Date: d.Date})
	}
	return New(in, opts, datasets, func(_ context.Context, keys []uint64, sets [][]int) error {
		idx.ContainsBatch(keys, sets)
		return nil
	})
}

func TestBatchOptionsErrors(t *testing.T) {
	idx := buildTestIndex(t, []byte("+14155550132\n"))
	for _, tc := range []struct {
		in     string
		inOpts ingest.InputOptions
		opts   Options
		want   string
	}{
		{"phone\n+14155550132\n", ingest.InputOptions{}, Options{Output: "xml"}, "unknown output format"},
		{"phone\n+14155550132\n", ingest.InputOptions{}, Options{Region: "XX"}, "unknown region"},
		{"+14155550132\n", ingest.InputOptions{IDColumn: "2"}, Options{}, "needs a CSV or TSV input"},
		{"a,phone\n1,+14155550132\n2,+14155550133\n", ingest.InputOptions{IDColumn: "nope"}, Options{}, `no column named "nope"`},
	} {
		_, err := newTestBatch(idx, strings.NewReader(tc.in), "in", tc.inOpts, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v, %+v) = %v, want %q", tc.inOpts, tc.opts, err, tc.want)
		}
	}
	// An index column and no header.
	b, err := newTestBatch(idx, strings.NewReader("x1,+14155550132\nx2,+14155550133\n"), "in", ingest.InputOptions{IDColumn: "1", Column: "2"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := b.Run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	want := "row,id,e164,region,status,reason,datasets,note\n1,x1,+14155550132,US,exposed,,leak,\n2,x2,+14155550133,US,not_exposed,,,\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

package ingest

import (
	"bytes"
	"encoding/csv"
	"io"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/synth"
)

// Generated datasets read back through [NewInput] row for row.

func TestGenerateCSVReadBack(t *testing.T) {
	const n = 3000
	var buf bytes.Buffer
	opts := synth.Options{Seed: 11, N: n, Region: "EG"}
	st, err := synth.Generate(&buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != n || st.Junk == 0 {
		t.Errorf("stats: %d rows, %d junk", st.Rows, st.Junk)
	}
	// Valid CSV for encoding/csv itself.
	all, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	if err != nil || len(all) != n+1 {
		t.Fatalf("csv.ReadAll: %d records, %v", len(all), err)
	}
	in, err := NewInput(bytes.NewReader(buf.Bytes()), "gen.csv", InputOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := in.Column(); got != `"phone" (column 2)` {
		t.Errorf("Column() = %s", got)
	}
	g, _ := synth.NewGenerator(opts)
	for i := range n {
		rec, err := in.Next()
		if err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
		row := g.Next()
		if rec.Err != nil || rec.Raw != string(row.Raw) || rec.Line != int64(i+2) {
			t.Fatalf("row %d: got line %d (%v), raw %q; want line %d, raw %q", i, rec.Line, rec.Err, synth.Mask(rec.Raw), i+2, synth.Mask(string(row.Raw)))
		}
	}
	if _, err := in.Next(); err != io.EOF {
		t.Errorf("after the last row: %v", err)
	}
}

func TestGenerateTXTReadBack(t *testing.T) {
	const n = 3000
	var buf bytes.Buffer
	opts := synth.Options{Seed: 12, N: n, Region: "US", Format: "txt"}
	if _, err := synth.Generate(&buf, opts); err != nil {
		t.Fatal(err)
	}
	in, err := NewInput(bytes.NewReader(buf.Bytes()), "gen.txt", InputOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if in.Format() != "txt" {
		t.Errorf("Format() = %s", in.Format())
	}
	g, _ := synth.NewGenerator(opts)
	for i := range n {
		rec, err := in.Next()
		row := g.Next()
		if err != nil || rec.Raw != string(row.Raw) || rec.Line != int64(i+1) {
			t.Fatalf("row %d: got line %d, %q, %v", i, rec.Line, synth.Mask(rec.Raw), err)
		}
	}
}

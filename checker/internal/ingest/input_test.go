package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/phonecheck/phonecheck/checker/internal/synth"
)

// inRow is a record as the tests compare it: line, raw value, and "ERR" if
// the record carries a row-level error.
type inRow struct {
	Line int64
	Raw  string
}

func readAllRecords(t testing.TB, in *Input) []inRow {
	t.Helper()
	var out []inRow
	for {
		rec, err := in.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		r := inRow{rec.Line, rec.Raw}
		if rec.Err != nil {
			r.Raw = "ERR"
		}
		out = append(out, r)
	}
}

func TestInput(t *testing.T) {
	tests := []struct {
		name   string
		file   string // name given to NewInput (extension is a hint)
		data   string
		opts   InputOptions
		column string // want Column()
		format string // want Format()
		rows   []inRow
	}{
		{
			name: "txt", file: "a.txt",
			data:   "+44 7700 900123\n\n  +1 201 555 0123 \n",
			column: "whole line", format: "txt",
			rows: []inRow{{1, "+44 7700 900123"}, {2, ""}, {3, "  +1 201 555 0123 "}},
		},
		{
			name: "txt no final newline, CRLF", file: "a",
			data:   "+44 7700 900123\r\n\r\n0201 555 0123",
			column: "whole line", format: "txt",
			rows: []inRow{{1, "+44 7700 900123"}, {2, ""}, {3, "0201 555 0123"}},
		},
		{
			name: "txt header", file: "a.txt",
			data:   "Phone Number\n+44 7700 900123\n",
			column: "whole line", format: "txt",
			rows: []inRow{{2, "+44 7700 900123"}},
		},
		{
			name: "txt junk first line is no header", file: "a.txt",
			data:   "N/A\n+44 7700 900123\n",
			column: "whole line", format: "txt",
			rows: []inRow{{1, "N/A"}, {2, "+44 7700 900123"}},
		},
		{
			name: "csv auto phone column", file: "a.csv",
			data:   "id,name,Mobile,country\n1,Ann,+44 7700 900123,GB\n2,Bob,+1 201 555 0123,US\n",
			column: `"Mobile" (column 3)`, format: "csv",
			rows: []inRow{{2, "+44 7700 900123"}, {3, "+1 201 555 0123"}},
		},
		{
			name: "csv auto, header without phone name", file: "a.csv",
			data:   "id,who,contact\n1,Ann,+44 7700 900123\n2,Bob,+1 201 555 0123\n",
			column: `"contact" (column 3)`, format: "csv",
			rows: []inRow{{2, "+44 7700 900123"}, {3, "+1 201 555 0123"}},
		},
		{
			name: "csv no header, junk first", file: "a.csv",
			data:   "N/A,GB\n+1 201 555 0123,US\n",
			column: "column 1", format: "csv",
			rows: []inRow{{1, "N/A"}, {2, "+1 201 555 0123"}},
		},
		{
			name: "csv no header", file: "a.csv",
			data:   "+44 7700 900123,GB\n+1 201 555 0123,US\n",
			column: "column 1", format: "csv",
			rows: []inRow{{1, "+44 7700 900123"}, {2, "+1 201 555 0123"}},
		},
		{
			name: "csv column by name", file: "a.csv",
			data:   "phone,other_phone\n+44 7700 900123,+44 7700 900124\n",
			opts:   InputOptions{Column: "OTHER_PHONE"},
			column: `"other_phone" (column 2)`, format: "csv",
			rows: []inRow{{2, "+44 7700 900124"}},
		},
		{
			name: "csv column by index, header detected", file: "a.csv",
			data:   "a,b\nx,+44 7700 900123\ny,+44 7700 900124\n",
			opts:   InputOptions{Column: "2"},
			column: `"b" (column 2)`, format: "csv",
			rows: []inRow{{2, "+44 7700 900123"}, {3, "+44 7700 900124"}},
		},
		{
			name: "csv header forced off", file: "a.csv",
			data:   "phone,x\n+44 7700 900123,y\n",
			opts:   InputOptions{Column: "1", Header: "no"},
			column: "column 1", format: "csv",
			rows: []inRow{{1, "phone"}, {2, "+44 7700 900123"}},
		},
		{
			name: "csv header forced on", file: "a.csv",
			data:   "447700900000,x\n+44 7700 900123,y\n",
			opts:   InputOptions{Header: "yes"},
			column: "column 1", format: "csv", // a header with digits is not quoted
			rows: []inRow{{2, "+44 7700 900123"}},
		},
		{
			name: "semicolon", file: "a.txt",
			data:   "tel;name\n+33 6 12 34 56 78;Zoé\n+33 6 12 34 56 79;Léa\n",
			column: `"tel" (column 1)`, format: "csv (;)",
			rows: []inRow{{2, "+33 6 12 34 56 78"}, {3, "+33 6 12 34 56 79"}},
		},
		{
			name: "tab", file: "a",
			data:   "name\tmsisdn\nA\t201001234567\nB\t201001234568\n",
			column: `"msisdn" (column 2)`, format: "tsv",
			rows: []inRow{{2, "201001234567"}, {3, "201001234568"}},
		},
		{
			name: "pipe", file: "a.dat",
			data:   "1|+60 12-345 6789|MY\n2|+60 12-345 6790|MY\n",
			column: "column 2", format: "csv (|)",
			rows: []inRow{{1, "+60 12-345 6789"}, {2, "+60 12-345 6790"}},
		},
		{
			name: "quotes with separators and newlines", file: "a.csv",
			data:   "phone,address\n\"+44 7700, 900123\",\"1 High St,\nLondon\"\n\"+44 7700 900124\",\"2\n\nEnd\"\n+44 7700 900125,x\n",
			column: `"phone" (column 1)`, format: "csv",
			rows: []inRow{{2, "+44 7700, 900123"}, {4, "+44 7700 900124"}, {7, "+44 7700 900125"}},
		},
		{
			name: "BOM and CRLF", file: "a.csv",
			data:   "\ufeffphone,x\r\n+44 7700 900123,a\r\n+44 7700 900124,b\r\n",
			column: `"phone" (column 1)`, format: "csv",
			rows: []inRow{{2, "+44 7700 900123"}, {3, "+44 7700 900124"}},
		},
		{
			name: "BOM txt", file: "a.txt",
			data:   "\ufeff+44 7700 900123\n",
			column: "whole line", format: "txt",
			rows: []inRow{{1, "+44 7700 900123"}},
		},
		{
			name: "missing column in one row", file: "a.csv",
			data:   "id,phone\n1,+44 7700 900123\n2\n3,+44 7700 900124\n",
			column: `"phone" (column 2)`, format: "csv",
			rows: []inRow{{2, "+44 7700 900123"}, {3, "ERR"}, {4, "+44 7700 900124"}},
		},
		{
			name: "unterminated quote", file: "a.csv",
			data:   "id,phone\n1,\"+44 7700 900123\n2,+44 7700 900124\n",
			column: `"phone" (column 2)`, format: "csv",
			rows: []inRow{{2, "ERR"}},
		},
		{
			name: "empty", file: "a.txt",
			data:   "",
			column: "whole line", format: "txt",
		},
		{
			name: "empty csv hint", file: "a.csv",
			data:   "\ufeff",
			column: "column 1", format: "csv",
		},
		{
			name: "header only", file: "a.csv",
			data:   "id,phone\n",
			column: `"phone" (column 2)`, format: "csv",
		},
		{
			name: "txt forced, commas kept", file: "a.csv",
			data:   "+44 7700 900123, ext 1\n",
			opts:   InputOptions{Format: "txt"},
			column: "whole line", format: "txt",
			rows: []inRow{{1, "+44 7700 900123, ext 1"}},
		},
		{
			name: "csv blank lines skipped, numbering kept", file: "a.csv",
			data:   "phone,x\n\n+44 7700 900123,a\n\n\n+44 7700 900124,b\n",
			column: `"phone" (column 1)`, format: "csv",
			rows: []inRow{{3, "+44 7700 900123"}, {6, "+44 7700 900124"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := NewInput(strings.NewReader(tt.data), tt.file, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			if got := in.Column(); got != tt.column {
				t.Errorf("Column() = %s, want %s", got, tt.column)
			}
			if got := in.Format(); got != tt.format {
				t.Errorf("Format() = %s, want %s", got, tt.format)
			}
			got := readAllRecords(t, in)
			if fmt.Sprint(got) != fmt.Sprint(tt.rows) {
				t.Errorf("rows:\n got %v\nwant %v", got, tt.rows)
			}
		})
	}
}

func TestInputOptionErrors(t *testing.T) {
	for _, tt := range []struct {
		data string
		opts InputOptions
		want string
	}{
		{"phone,x\n1,2\n", InputOptions{Column: "mobile"}, `no column named "mobile"`},
		{"phone,x\n1,2\n", InputOptions{Column: "0"}, "1 or more"},
		{"+44 7700 900123\n", InputOptions{Column: "2", Format: "txt"}, "plain text"},
		{"a,b\n", InputOptions{Format: "xls"}, "unknown format"},
		{"a,b\n", InputOptions{Header: "maybe"}, "header must be"},
		{"phone,x\n", InputOptions{Column: "phone", Header: "no"}, "header is off"},
	} {
		_, err := NewInput(strings.NewReader(tt.data), "f.csv", tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "f.csv") {
			t.Errorf("%+v: err = %v, want one naming f.csv and saying %q", tt.opts, err, tt.want)
		}
	}
}

func TestInputRowErrors(t *testing.T) {
	in, err := NewInput(strings.NewReader("id,phone\n1,+44 7700 900123\n2\n"), "f.csv", InputOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in.Next()
	rec, err := in.Next()
	if err != nil || !errors.Is(rec.Err, ErrNoColumn) || rec.Line != 3 || rec.File != "f.csv" {
		t.Errorf("got %+v, %v; want ErrNoColumn at f.csv:3", rec, err)
	}
}

func TestInputLongLine(t *testing.T) {
	for _, n := range []int{maxLineLen + 10, inputBufSize + 10, 3 * inputBufSize} {
		data := "+44 7700 900123\n" + strings.Repeat("9", n) + "\n+44 7700 900124\n"
		in, err := NewInput(strings.NewReader(data), "long.txt", InputOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var recs []Record
		for {
			rec, err := in.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, rec)
		}
		if len(recs) != 3 || !errors.Is(recs[1].Err, ErrLineTooLong) || recs[1].Line != 2 ||
			recs[2].Raw != "+44 7700 900124" || recs[2].Line != 3 {
			t.Errorf("line of %d bytes: got %d records: %+v", n, len(recs), recs)
		}
		if recs[1].Err != nil && strings.Contains(recs[1].Err.Error(), "999") {
			t.Errorf("row error quotes the row: %v", recs[1].Err)
		}
	}
}

func TestInputRecordTooLong(t *testing.T) {
	// A runaway quote must not read the whole file into memory.
	var b strings.Builder
	b.WriteString("id,phone\n1,\"+44 7700 900123\n")
	for b.Len() < maxRecordLen+100<<10 {
		b.WriteString("2,+44 7700 900124\n")
	}
	in, err := NewInput(strings.NewReader(b.String()), "q.csv", InputOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = in.Next()
	if err == nil || !strings.Contains(err.Error(), "q.csv: line 2") {
		t.Errorf("err = %v, want a fatal error at q.csv: line 2", err)
	}
}

func gzipBytes(t testing.TB, s string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstdBytes(t testing.TB, s string) []byte {
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zw.Close()
	return zw.EncodeAll([]byte(s), nil)
}

func TestInputCompressed(t *testing.T) {
	const data = "\ufeffid,phone\r\n1,+44 7700 900123\r\n2,+44 7700 900124\r\n"
	want := []inRow{{2, "+44 7700 900123"}, {3, "+44 7700 900124"}}
	dir := t.TempDir()
	for _, tt := range []struct {
		name string // misleading on purpose
		data []byte
	}{
		{"gz-as.txt", gzipBytes(t, data)},
		{"zst-as.csv", zstdBytes(t, data)},
		{"gz-as.zst", gzipBytes(t, data)},
		{"plain.gz", []byte(data)},
	} {
		path := filepath.Join(dir, tt.name)
		if err := os.WriteFile(path, tt.data, 0o600); err != nil {
			t.Fatal(err)
		}
		in, err := OpenInput(path, InputOptions{})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if in.Size() != int64(len(tt.data)) {
			t.Errorf("%s: Size() = %d, want %d", tt.name, in.Size(), len(tt.data))
		}
		got := readAllRecords(t, in)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, want)
		}
		if in.BytesRead() != int64(len(tt.data)) {
			t.Errorf("%s: BytesRead() = %d, want %d", tt.name, in.BytesRead(), len(tt.data))
		}
		if err := in.Close(); err != nil {
			t.Errorf("%s: Close: %v", tt.name, err)
		}
	}
}

func TestInputCorruptCompressed(t *testing.T) {
	var b strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&b, "+44 7700 9%05d\n", i)
	}
	gz := gzipBytes(t, b.String())
	zs := zstdBytes(t, b.String())
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"truncated.gz", gz[:len(gz)/2]},
		{"truncated.zst", zs[:len(zs)/2]},
		{"badheader.gz", append([]byte{0x1f, 0x8b, 0, 0}, gz[10:]...)},
	} {
		path := filepath.Join(dir, tt.name)
		os.WriteFile(path, tt.data, 0o600)
		in, err := OpenInput(path, InputOptions{})
		if err == nil {
			for {
				_, err = in.Next()
				if err != nil {
					break
				}
			}
			in.Close()
		}
		if err == nil || err == io.EOF || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want a fatal error naming the file", tt.name, err)
		}
		t.Logf("%s: %v", tt.name, err)
	}
}

func TestInputStdin(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	f.Write(gzipBytes(t, "+44 7700 900123\n+44 7700 900124\n"))
	f.Seek(0, io.SeekStart)
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	in, err := OpenInput("-", InputOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := in.Next()
	if err != nil || rec.File != "-" || rec.Raw != "+44 7700 900123" || rec.Line != 1 {
		t.Errorf("got %+v, %v", rec, err)
	}
	if in.Size() != -1 {
		t.Errorf("Size() = %d, want -1 for stdin", in.Size())
	}
	in.Close()
	if _, err := f.Stat(); err != nil {
		t.Errorf("Close closed stdin: %v", err)
	}
}

func TestInputMissingFile(t *testing.T) {
	_, err := OpenInput(filepath.Join(t.TempDir(), "nope.csv"), InputOptions{})
	if err == nil || !strings.Contains(err.Error(), "nope.csv") {
		t.Errorf("err = %v", err)
	}
}

// benchFile writes n generated rows in format to a temporary file.
func benchFile(b *testing.B, format string, n int) string {
	path := filepath.Join(b.TempDir(), "bench."+format)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := synth.Generate(f, synth.Options{Seed: 1, N: n, Format: format}); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return path
}

func BenchmarkInputTXT(b *testing.B)     { benchInput(b, "txt", false) }
func BenchmarkInputCSV(b *testing.B)     { benchInput(b, "csv", false) }
func BenchmarkInputCSVGzip(b *testing.B) { benchInput(b, "csv", true) }

// benchInput reads 500k messy generated rows; MB/s counts the file's bytes
// (compressed, for gzip).
func benchInput(b *testing.B, format string, gz bool) {
	const n = 500_000
	path := benchFile(b, format, n)
	if gz {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		path += ".gz"
		if err := os.WriteFile(path, gzipBytes(b, string(data)), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ResetTimer()
	rows := 0
	for b.Loop() {
		in, err := OpenInput(path, InputOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := in.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			rows++
		}
		in.Close()
	}
	elapsed := b.Elapsed()
	b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")

	// Baseline, same run: the floor of reading the same file, lines split
	// by bufio (and gzip decompressed), nothing parsed.
	b.StopTimer()
	start := time.Now()
	lines := 0
	for range b.N {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		var r io.Reader = f
		if gz {
			zr, err := gzip.NewReader(f)
			if err != nil {
				b.Fatal(err)
			}
			r = zr
		}
		br := bufio.NewReaderSize(r, 1<<20)
		for {
			_, err := br.ReadSlice('\n')
			if err == io.EOF {
				break
			}
			if err != nil && err != bufio.ErrBufferFull {
				b.Fatal(err)
			}
			lines++
		}
		f.Close()
	}
	floor := time.Since(start)
	b.ReportMetric(float64(lines)/floor.Seconds(), "floor-lines/s")
	b.ReportMetric(elapsed.Seconds()/floor.Seconds(), "x-floor-time")
}

func TestInputIDColumn(t *testing.T) {
	read := func(data string, opts InputOptions) ([]Record, error) {
		in, err := NewInput(strings.NewReader(data), "t.csv", opts)
		if err != nil {
			return nil, err
		}
		var out []Record
		for {
			r, err := in.Next()
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	recs, err := read("cust,phone\nA7,+14155550132\nB8,+14155550133\n", InputOptions{IDColumn: "CUST"})
	if err != nil || len(recs) != 2 || recs[0].ID != "A7" || recs[1].ID != "B8" || recs[1].Raw != "+14155550133" || recs[1].Line != 3 {
		t.Fatalf("by name: %+v, %v", recs, err)
	}
	recs, err = read("A7,+14155550132\nB8,+14155550133\nC9\n", InputOptions{IDColumn: "1", Column: "2", Header: "no", Format: "csv"})
	if err != nil || len(recs) != 3 || recs[0].ID != "A7" || recs[2].ID != "C9" || recs[2].Err == nil {
		t.Fatalf("by index: %+v, %v", recs, err)
	}
	for _, c := range []struct {
		data string
		opts InputOptions
		want string
	}{
		{"+14155550132\n+14155550133\n", InputOptions{IDColumn: "1", Format: "txt"}, "needs a CSV or TSV"},
		{"cust,phone\nA7,+14155550132\n", InputOptions{IDColumn: "nope"}, `no column named "nope"`},
		{"A7,+14155550132\n", InputOptions{IDColumn: "cust", Column: "2", Header: "no"}, "has no header"},
		{"cust,phone\nA7,+14155550132\n", InputOptions{IDColumn: "0"}, "1 or more"},
	} {
		if _, err := read(c.data, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q %+v: error %v, want %q", c.data, c.opts, err, c.want)
		}
	}
}

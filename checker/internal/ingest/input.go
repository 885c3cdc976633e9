// Package ingest reads leak datasets and builds an index from them.
//
// An [Input] reads one file: plain text, CSV or TSV, optionally compressed
// with gzip, zstd or bzip2, one column picked, line numbers kept. [Read]
// normalizes and hashes the rows of every file of a build, on all cores,
// and counts the rejected ones by reason; [Build.WriteFile] writes the
// index. [ReadManifest] reads the list of datasets of a build.
//
// Its error messages start with "checker:": they reach users of the
// checker package and its command unchanged.
package ingest

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// A Record is one row of a dataset: where it came from and the raw value of
// the picked column.
type Record struct {
	File string // as given to OpenInput or NewInput
	Line int64  // 1-based line number in the (decompressed) file where the row starts
	Raw  string // the picked field, untrimmed (line terminators removed)
	ID   string // the IDColumn field, if InputOptions asked for one ("" if the row lacks it)
	// Err is a row-level problem (the row has no such column, the line is
	// too long, a field runs over several lines). Raw may then be empty.
	// It is never fatal, and it never holds the row's content; File and
	// Line say where.
	Err error
}

// InputOptions say how to read a dataset file. The zero value detects
// everything.
type InputOptions struct {
	// Column is a header name (case-insensitive) or a 1-based index.
	// "" picks automatically: plain text uses the whole line; CSV and TSV
	// take the first column whose header looks like a phone column
	// ("phone", "phone_number", "mobile", "msisdn", "tel", ...), else the
	// column whose first values look most like phone numbers, else column 1.
	Column string
	// Format is "txt", "csv", "tsv" or "" to detect from the first lines
	// (the file name's extension is only a hint). CSV separators ',' ';'
	// '|' and tab are detected.
	Format string
	// Header is "yes", "no" or "" to detect: a first row is a header when
	// its value in the picked column has no digit and the next rows' values
	// do. A plain-text file has a header only if its first line is a phone
	// column name.
	Header string
	// IDColumn, if set, is a second column (header name or 1-based index)
	// whose value each record carries in ID, such as a customer id. Only
	// CSV and TSV inputs have one; a name needs a header.
	IDColumn string
}

// Row-level problems, found in [Record].Err (wrapped).
var (
	ErrNoColumn     = errors.New("checker: row has no such column")
	ErrLineTooLong  = errors.New("checker: line too long")
	ErrMultiline    = errors.New("checker: field runs over several lines (unterminated quote?)")
	errRecordTooBig = errors.New("record too long (unterminated quote?)")
)

const (
	inputBufSize = 1 << 20  // read buffer over the decompressed stream
	maxLineLen   = 64 << 10 // a longer plain-text line is a row-level error
	maxRecordLen = 4 << 20  // a longer CSV record is fatal: it bounds memory
	sniffLen     = 64 << 10 // bytes looked at to detect the format
	sniffRows    = 50       // rows looked at to detect the header and column
)

// An Input reads the records of one dataset file. It is not safe for
// concurrent use, except BytesRead and Size, which may be called from any
// goroutine (for progress bars).
type Input struct {
	name   string
	src    *countingReader
	size   int64
	closer []func() error
	br     *bufio.Reader // decompressed, BOM removed

	format string // "txt", "csv" or "tsv"
	sep    rune
	col    int    // 0-based; -1 = whole line
	idCol  int    // 0-based; -1 = none
	colDsc string // for Column

	// plain text
	line       int64 // lines read so far
	skipHeader bool

	// CSV
	cr       *csv.Reader
	cap      *capReader
	nextLine int64 // line where the next record starts, at best
}

// OpenInput opens the dataset file at path ("-" is standard input) and
// detects its compression (gzip, zstd, bzip2, by their magic bytes, whatever
// the extension), format, header and column.
func OpenInput(path string, opts InputOptions) (*Input, error) {
	if path == "-" {
		return newInput(os.Stdin, "-", -1, nil, opts)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checker: %w", err)
	}
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	in, err := newInput(f, path, size, f.Close, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	return in, nil
}

// NewInput reads a dataset from r, named name in records and errors. It does
// not close r. If r has a Stat method (an *os.File, an fs.File), Size
// reports the file's size.
func NewInput(r io.Reader, name string, opts InputOptions) (*Input, error) {
	size := int64(-1)
	if st, ok := r.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if fi, err := st.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
	}
	return newInput(r, name, size, nil, opts)
}

func newInput(r io.Reader, name string, size int64, closeFn func() error, opts InputOptions) (*Input, error) {
	in := &Input{name: name, size: size, src: &countingReader{r: r}}
	if closeFn != nil {
		in.closer = append(in.closer, closeFn)
	}
	raw := bufio.NewReaderSize(in.src, 64<<10)
	magic, err := raw.Peek(6)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("checker: %s: %w", name, err)
	}
	var dec io.Reader = raw
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(raw)
		if err != nil {
			return nil, fmt.Errorf("checker: %s: not valid gzip data: %w", name, err)
		}
		in.closer = append([]func() error{zr.Close}, in.closer...)
		dec = zr
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(raw, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("checker: %s: not valid zstd data: %w", name, err)
		}
		in.closer = append([]func() error{func() error { zr.Close(); return nil }}, in.closer...)
		dec = zr
	case len(magic) >= 4 && string(magic[:3]) == "BZh" && magic[3] >= '1' && magic[3] <= '9':
		dec = bzip2.NewReader(raw)
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return nil, fmt.Errorf("checker: %s: xz compression is not supported: decompress it first", name)
	case bytes.HasPrefix(magic, []byte("PK\x03\x04")):
		return nil, fmt.Errorf("checker: %s: zip archives are not supported: extract the file first", name)
	}
	in.br = bufio.NewReaderSize(dec, inputBufSize)

	// Look at the first bytes, before any is consumed.
	head, err := in.br.Peek(sniffLen)
	atEOF := false
	switch {
	case err == io.EOF || err == bufio.ErrBufferFull || (err == nil):
		atEOF = err == io.EOF
	default:
		return nil, in.readError(err, 1)
	}
	if bytes.HasPrefix(head, []byte("\xef\xbb\xbf")) {
		in.br.Discard(3)
		head = head[3:]
	}
	if !atEOF {
		// Only complete lines.
		if i := bytes.LastIndexByte(head, '\n'); i >= 0 {
			head = head[:i+1]
		}
	}
	if err := in.detect(head, opts); err != nil {
		return nil, err
	}
	return in, nil
}

// Next returns the next record. It returns io.EOF at the end of the file;
// any other error is fatal for this file (an I/O error, corrupt compressed
// data) and names the file and line. Problems with one row are reported in
// [Record].Err instead.
func (in *Input) Next() (Record, error) {
	if in.cr != nil {
		return in.nextCSV()
	}
	return in.nextTXT()
}

func (in *Input) nextTXT() (Record, error) {
	for {
		line, err := in.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer: skip the rest of it.
			in.line++
			rec := Record{File: in.name, Line: in.line, Err: fmt.Errorf("%w (more than %d bytes)", ErrLineTooLong, maxLineLen)}
			for err == bufio.ErrBufferFull {
				_, err = in.br.ReadSlice('\n')
			}
			if err != nil && err != io.EOF {
				return Record{}, in.readError(err, in.line)
			}
			return rec, nil
		}
		if err != nil && err != io.EOF {
			return Record{}, in.readError(err, in.line+1)
		}
		if len(line) == 0 {
			return Record{}, io.EOF
		}
		in.line++
		if in.skipHeader {
			in.skipHeader = false
			continue
		}
		rec := Record{File: in.name, Line: in.line}
		if len(line) > maxLineLen {
			rec.Err = fmt.Errorf("%w (more than %d bytes)", ErrLineTooLong, maxLineLen)
			return rec, nil
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		rec.Raw = string(line)
		return rec, nil
	}
}

func (in *Input) nextCSV() (Record, error) {
	fields, err := in.cr.Read()
	if err == io.EOF {
		return Record{}, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) && (pe.Err == csv.ErrQuote || pe.Err == csv.ErrBareQuote || pe.Err == csv.ErrFieldCount) {
			// Not expected with LazyQuotes, but never fatal.
			in.cap.mark = in.cr.InputOffset()
			in.nextLine = int64(pe.Line) + 1
			return Record{File: in.name, Line: int64(pe.StartLine), Err: fmt.Errorf("checker: %w", pe.Err)}, nil
		}
		if errors.Is(err, errRecordTooBig) {
			return Record{}, fmt.Errorf("checker: %s: line %d: record longer than %d bytes (unterminated quote?)", in.name, in.nextLine, maxRecordLen)
		}
		return Record{}, in.readError(err, in.nextLine)
	}
	start, _ := in.cr.FieldPos(0)
	rec := Record{File: in.name, Line: int64(start)}
	if in.idCol >= 0 && in.idCol < len(fields) {
		rec.ID = fields[in.idCol]
	}
	if in.col >= len(fields) {
		rec.Err = fmt.Errorf("%w (row has %d fields, column %d wanted)", ErrNoColumn, len(fields), in.col+1)
	} else {
		f := fields[in.col]
		if strings.IndexByte(f, '\n') >= 0 {
			l, _ := in.cr.FieldPos(in.col)
			rec.Err = fmt.Errorf("%w (from line %d to %d)", ErrMultiline, l, l+strings.Count(f, "\n"))
		} else {
			rec.Raw = f
		}
	}
	in.markRecord(fields)
	return rec, nil
}

// markRecord notes where the record just read (fields) ended: the next
// record starts after it, and may be at most maxRecordLen long.
func (in *Input) markRecord(fields []string) {
	in.cap.mark = in.cr.InputOffset()
	if len(fields) > 0 {
		last := len(fields) - 1
		l, _ := in.cr.FieldPos(last)
		in.nextLine = int64(l) + int64(strings.Count(fields[last], "\n")) + 1
	}
}

func (in *Input) readError(err error, line int64) error {
	if err == io.ErrUnexpectedEOF {
		return fmt.Errorf("checker: %s: line %d: truncated or corrupt compressed data: %w", in.name, line, err)
	}
	return fmt.Errorf("checker: %s: line %d: %w", in.name, line, err)
}

// Name returns the name the input was opened under, as records carry it.
func (in *Input) Name() string { return in.name }

// HasID reports whether records carry an id ([InputOptions].IDColumn).
func (in *Input) HasID() bool { return in.idCol >= 0 }

// Column says which column is read, for reports: `"phone" (column 3)`,
// `column 1` or `whole line`.
func (in *Input) Column() string { return in.colDsc }

// Format returns the detected format: "txt", "tsv", "csv", or "csv (;)"
// (and "csv (|)") for another separator.
func (in *Input) Format() string {
	if in.format == "csv" && in.sep != ',' {
		return fmt.Sprintf("csv (%c)", in.sep)
	}
	return in.format
}

// BytesRead returns the number of bytes consumed from the underlying file
// (compressed, if it is), for progress bars. Reads are buffered, so it runs
// ahead of the records returned by up to a few megabytes.
func (in *Input) BytesRead() int64 { return in.src.n.Load() }

// Size returns the size of the underlying file, or -1 if it is not known
// (standard input, a pipe).
func (in *Input) Size() int64 { return in.size }

// Close releases the decompressor and closes the file OpenInput opened.
func (in *Input) Close() error {
	var first error
	for _, c := range in.closer {
		if err := c(); err != nil && first == nil {
			first = err
		}
	}
	in.closer = nil
	return first
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// capReader fails once more than maxRecordLen bytes have been read past
// mark (the end of the last record), so that a runaway quoted field cannot
// pull a whole file into memory.
type capReader struct {
	r    io.Reader
	n    int64
	mark int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n-c.mark > maxRecordLen {
		return 0, errRecordTooBig
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

package checker

// Reading leak datasets: plain text, CSV and TSV, optionally compressed with
// gzip, zstd or bzip2, one column picked, line numbers kept.

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
	"path/filepath"
	"strconv"
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

// detect decides format, separator, header and column.
func (in *Input) detect(head []byte, opts InputOptions) error {
	format := strings.ToLower(opts.Format)
	hint := extHint(in.name)
	switch format {
	case "txt", "text":
		in.format = "txt"
	case "tsv":
		in.format, in.sep = "tsv", '\t'
	case "csv":
		in.format = "csv"
		in.sep = sniffSeparator(head, ",;|", hint)
		if in.sep == 0 {
			in.sep = ','
		}
	case "":
		in.sep = sniffSeparator(head, ",;\t|", hint)
		switch {
		case in.sep == '\t':
			in.format = "tsv"
		case in.sep != 0:
			in.format = "csv"
		case hint == "csv":
			in.format, in.sep = "csv", ','
		case hint == "tsv":
			in.format, in.sep = "tsv", '\t'
		default:
			in.format = "txt"
		}
	default:
		return fmt.Errorf("checker: %s: unknown format %q (want txt, csv or tsv)", in.name, opts.Format)
	}
	header := strings.ToLower(opts.Header)
	if header != "" && header != "yes" && header != "no" {
		return fmt.Errorf("checker: %s: header must be yes, no or empty, not %q", in.name, opts.Header)
	}

	colIdx := -1 // 0-based index given by the user
	colName := ""
	if c := strings.TrimSpace(opts.Column); c != "" {
		if n, err := strconv.Atoi(c); err == nil {
			if n < 1 {
				return fmt.Errorf("checker: %s: column index must be 1 or more, not %d", in.name, n)
			}
			colIdx = n - 1
		} else {
			colName = c
		}
	}

	in.idCol = -1
	if in.format == "txt" {
		if strings.TrimSpace(opts.IDColumn) != "" {
			return fmt.Errorf("checker: %s: an id column needs a CSV or TSV input; this one is plain text (one value a line)", in.name)
		}
		if colIdx > 0 || colName != "" {
			return fmt.Errorf("checker: %s: column %q given but the file is plain text (one value a line); set the format to csv or tsv", in.name, opts.Column)
		}
		in.col = -1
		in.colDsc = "whole line"
		switch header {
		case "yes":
			in.skipHeader = true
		case "":
			first, _, _ := bytes.Cut(head, []byte("\n"))
			in.skipHeader = isPhoneColumnName(string(bytes.TrimSpace(first)))
		}
		return nil
	}

	rows := sniffRecords(head, in.sep)
	hasHeader := false
	col := 0
	switch {
	case colName != "":
		if header == "no" {
			return fmt.Errorf("checker: %s: column %q is a name but the header is off; give a 1-based index", in.name, colName)
		}
		hasHeader = true
		col = -1
		if len(rows) > 0 {
			for i, h := range rows[0] {
				if strings.EqualFold(strings.TrimSpace(h), colName) {
					col = i
					break
				}
			}
		}
		if col < 0 {
			return fmt.Errorf("checker: %s: the header has no column named %q", in.name, colName)
		}
	case colIdx >= 0:
		col = colIdx
		switch header {
		case "yes":
			hasHeader = true
		case "":
			hasHeader = looksLikeHeader(rows, col)
		}
	default: // automatic
		named := -1
		if len(rows) > 0 && header != "no" {
			for i, h := range rows[0] {
				if isPhoneColumnName(h) {
					named = i
					break
				}
			}
		}
		switch {
		case named >= 0 && (header == "yes" || len(rows) == 1 || looksLikeHeader(rows, named)):
			hasHeader, col = true, named
		case header == "yes":
			hasHeader, col = true, sniffColumn(rows[min(1, len(rows)):])
		case header == "no":
			col = sniffColumn(rows)
		default:
			col = sniffColumn(rows[min(1, len(rows)):])
			hasHeader = looksLikeHeader(rows, col)
		}
	}
	in.col = col
	if id := strings.TrimSpace(opts.IDColumn); id != "" {
		n, err := strconv.Atoi(id)
		switch {
		case err == nil && n < 1:
			return fmt.Errorf("checker: %s: id column index must be 1 or more, not %d", in.name, n)
		case err == nil:
			in.idCol = n - 1
		case !hasHeader:
			return fmt.Errorf("checker: %s: id column %q is a name but the input has no header; give a 1-based index", in.name, id)
		default:
			for i, h := range rows[0] {
				if strings.EqualFold(strings.TrimSpace(h), id) {
					in.idCol = i
					break
				}
			}
			if in.idCol < 0 {
				return fmt.Errorf("checker: %s: the header has no column named %q", in.name, id)
			}
		}
	}
	if hasHeader && len(rows) > 0 && col < len(rows[0]) && !hasDigit(rows[0][col]) {
		in.colDsc = fmt.Sprintf("%q (column %d)", strings.TrimSpace(rows[0][col]), col+1)
	} else {
		in.colDsc = fmt.Sprintf("column %d", col+1)
	}

	in.cap = &capReader{r: in.br}
	in.cr = csv.NewReader(in.cap)
	in.cr.Comma = in.sep
	in.cr.FieldsPerRecord = -1
	in.cr.LazyQuotes = true
	in.cr.ReuseRecord = true
	in.nextLine = 1
	if hasHeader {
		fields, err := in.cr.Read()
		if err != nil && err != io.EOF {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return in.readError(err, 1)
			}
		}
		if err == nil {
			in.markRecord(fields)
		}
	}
	return nil
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

// extHint returns "csv", "tsv", "txt" or "" from name's extension, under any
// compression extension.
func extHint(name string) string {
	n := strings.ToLower(name)
	for _, z := range []string{".gz", ".gzip", ".zst", ".zstd", ".bz2"} {
		n = strings.TrimSuffix(n, z)
	}
	switch filepath.Ext(n) {
	case ".csv":
		return "csv"
	case ".tsv", ".tab":
		return "tsv"
	case ".txt", ".lst", ".list":
		return "txt"
	}
	return ""
}

// sniffSeparator returns the separator among cands that splits the sample
// into the same number (more than one) of fields in at least 90% of its
// records, preferring more fields, then the hint; or 0.
func sniffSeparator(head []byte, cands string, hint string) rune {
	best, bestFields := rune(0), 1
	for _, sep := range cands {
		if !bytes.ContainsRune(head, sep) {
			continue
		}
		rows := sniffRecords(head, sep)
		if len(rows) == 0 {
			continue
		}
		counts := map[int]int{}
		for _, r := range rows {
			counts[len(r)]++
		}
		mode, modeN := 0, 0
		for k, v := range counts {
			if v > modeN || (v == modeN && k > mode) {
				mode, modeN = k, v
			}
		}
		if mode < 2 || modeN*10 < len(rows)*9 {
			continue
		}
		if mode > bestFields || (mode == bestFields && hint == "tsv" && sep == '\t') {
			best, bestFields = sep, mode
		}
	}
	return best
}

// sniffRecords parses up to sniffRows records of head.
func sniffRecords(head []byte, sep rune) [][]string {
	r := csv.NewReader(bytes.NewReader(head))
	r.Comma = sep
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	var rows [][]string
	for len(rows) < sniffRows {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				continue
			}
			break
		}
		rows = append(rows, rec)
	}
	return rows
}

// looksLikeHeader reports whether the first row is a header, judged by
// column col: its first value has no digit and most of the next values do.
func looksLikeHeader(rows [][]string, col int) bool {
	if len(rows) == 0 || col >= len(rows[0]) || hasDigit(rows[0][col]) {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(rows[0][col])) {
	case "", "n/a", "na", "#n/a", "null", "none", "-", "unknown":
		return false // a junk value, not a name
	}
	if len(rows) == 1 {
		return isPhoneColumnName(rows[0][col])
	}
	n, digits := 0, 0
	for _, r := range rows[1:] {
		if col < len(r) && strings.TrimSpace(r[col]) != "" {
			n++
			if hasDigit(r[col]) {
				digits++
			}
		}
	}
	return n > 0 && digits*2 >= n
}

// sniffColumn returns the column whose values most often hold seven digits
// or more (at least half of them), or 0.
func sniffColumn(rows [][]string) int {
	best, bestN := 0, 0
	for c := 0; ; c++ {
		present, phoney := 0, 0
		for _, r := range rows {
			if c < len(r) {
				present++
				if countDigits(r[c]) >= 7 {
					phoney++
				}
			}
		}
		if present == 0 {
			break
		}
		if phoney > bestN && phoney*2 >= len(rows) {
			best, bestN = c, phoney
		}
	}
	return best
}

func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

// phoneColumnNames are header names, lower case with everything but letters
// removed, that name a phone column.
var phoneColumnNames = map[string]bool{
	"phone": true, "phonenumber": true, "phoneno": true, "phonenum": true,
	"mobile": true, "mobilenumber": true, "mobileno": true, "mobilephone": true,
	"msisdn": true, "number": true, "tel": true, "telno": true, "telephone": true,
	"telephonenumber": true, "cell": true, "cellphone": true, "cellnumber": true,
	"whatsapp": true, "whatsappnumber": true, "contactnumber": true, "gsm": true,
}

func isPhoneColumnName(h string) bool {
	if hasDigit(h) {
		return false
	}
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		}
	}
	return phoneColumnNames[b.String()]
}

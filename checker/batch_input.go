package checker

// Reading a batch input with an id column next to the phone column.

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// openBatchInput is OpenInput (or NewInput, for r) that also finds the id
// column. [Input] detects format, header and phone column from the first
// bytes and consumes the header; to see the header's names as well, the
// bytes the detection read are recorded and the input is opened a second
// time over them (then the rest of r) with the detection's results.
func openBatchInput(r io.Reader, name string, size int64, closeFn func() error, opts InputOptions, id string) (*Input, int, error) {
	rec := &recordingReader{r: r, on: true}
	probe, err := newInput(rec, name, size, nil, opts)
	if err != nil {
		return nil, 0, err
	}
	probe.Close() // decompressor only: r stays open
	rec.on = false
	if probe.cr == nil {
		return nil, 0, fmt.Errorf("checker: %s: --id needs a CSV or TSV input; this one is plain text (one value a line)", name)
	}
	hasHeader := probe.nextLine > 1
	format := probe.format
	in, err := newInput(io.MultiReader(bytes.NewReader(rec.buf), r), name, size, closeFn,
		InputOptions{Format: format, Header: "no", Column: strconv.Itoa(probe.col + 1)})
	if err != nil {
		return nil, 0, err
	}
	in.sep, in.cr.Comma, in.colDsc = probe.sep, probe.sep, probe.colDsc
	col := -1
	n, numErr := strconv.Atoi(strings.TrimSpace(id))
	if numErr == nil {
		if n < 1 {
			in.Close()
			return nil, 0, fmt.Errorf("checker: %s: id column index must be 1 or more, not %d", name, n)
		}
		col = n - 1
	}
	if hasHeader {
		fields, err := in.cr.Read()
		if err != nil {
			in.Close()
			return nil, 0, in.readError(err, 1)
		}
		if col < 0 {
			for i, h := range fields {
				if strings.EqualFold(strings.TrimSpace(h), strings.TrimSpace(id)) {
					col = i
					break
				}
			}
			if col < 0 {
				in.Close()
				return nil, 0, fmt.Errorf("checker: %s: the header has no column named %q", name, id)
			}
		}
		in.markRecord(fields)
	} else if col < 0 {
		in.Close()
		return nil, 0, fmt.Errorf("checker: %s: id column %q is a name but the input has no header; give a 1-based index", name, id)
	}
	return in, col, nil
}

// openBatchFile opens path ("-" for standard input) as OpenInput does.
func openBatchFile(path string, opts InputOptions, id string) (*Input, int, error) {
	if path == "-" {
		return openBatchInput(os.Stdin, "-", -1, nil, opts, id)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("checker: %w", err)
	}
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	in, col, err := openBatchInput(f, path, size, f.Close, opts, id)
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return in, col, nil
}

// recordingReader keeps a copy of what it reads while on.
type recordingReader struct {
	r   io.Reader
	buf []byte
	on  bool
}

func (rr *recordingReader) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	if rr.on {
		rr.buf = append(rr.buf, p[:n]...)
	}
	return n, err
}

// nextWithID is [Input.Next] for CSV and TSV that also returns the value of
// column idCol ("" if the row has no such column). It follows nextCSV.
func (in *Input) nextWithID(idCol int) (Record, string, error) {
	fields, err := in.cr.Read()
	if err == io.EOF {
		return Record{}, "", io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) && (pe.Err == csv.ErrQuote || pe.Err == csv.ErrBareQuote || pe.Err == csv.ErrFieldCount) {
			in.cap.mark = in.cr.InputOffset()
			in.nextLine = int64(pe.Line) + 1
			return Record{File: in.name, Line: int64(pe.StartLine), Err: fmt.Errorf("checker: %w", pe.Err)}, "", nil
		}
		if errors.Is(err, errRecordTooBig) {
			return Record{}, "", fmt.Errorf("checker: %s: line %d: record longer than %d bytes (unterminated quote?)", in.name, in.nextLine, maxRecordLen)
		}
		return Record{}, "", in.readError(err, in.nextLine)
	}
	start, _ := in.cr.FieldPos(0)
	rec := Record{File: in.name, Line: int64(start)}
	id := ""
	if idCol < len(fields) {
		id = fields[idCol]
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
	return rec, id, nil
}

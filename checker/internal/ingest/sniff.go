package ingest

// Detecting how a dataset file is laid out, from its first lines.

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
)

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

package batch

// The output rows: CSV with a header, or JSON lines.

import (
	"strconv"
	"unicode/utf8"
)

// header returns the output's first line (none for JSONL).
func (b *Batch) header() []byte {
	if b.opts.Output == "jsonl" {
		return nil
	}
	if b.hasID {
		return []byte("row,id,e164,region,status,reason,datasets,note\n")
	}
	return []byte("row,e164,region,status,reason,datasets,note\n")
}

func (b *Batch) appendCSV(out []byte, line int64, id string, e164 []byte, row *normalized, status string, sets []int) []byte {
	region, reason := row.region, row.reason
	out = strconv.AppendInt(out, line, 10)
	out = append(out, ',')
	if b.hasID {
		out = appendCSVField(out, id)
		out = append(out, ',')
	}
	out = append(out, e164...)
	out = append(out, ',')
	out = append(out, region...)
	out = append(out, ',')
	out = append(out, status...)
	out = append(out, ',')
	out = append(out, reason...)
	out = append(out, ',')
	if len(sets) > 0 {
		var names []byte
		for k, d := range sets {
			if d < 0 || d >= len(b.names) {
				continue
			}
			if k > 0 {
				names = append(names, ';')
			}
			names = append(names, b.names[d]...)
		}
		out = appendCSVField(out, string(names))
	}
	out = append(out, ',')
	if row.retried {
		out = append(out, b.note...)
	}
	return append(out, '\n')
}

func (b *Batch) appendJSONL(out []byte, line int64, id string, e164 []byte, row *normalized, status string, sets []int) []byte {
	region, reason := row.region, row.reason
	out = append(out, `{"row":`...)
	out = strconv.AppendInt(out, line, 10)
	if b.hasID {
		out = append(out, `,"id":`...)
		out = appendJSONString(out, id)
	}
	out = append(out, `,"e164":"`...)
	out = append(out, e164...)
	out = append(out, `","region":"`...)
	out = append(out, region...)
	out = append(out, `","status":"`...)
	out = append(out, status...)
	out = append(out, '"')
	if reason != "" {
		out = append(out, `,"reason":"`...)
		out = append(out, reason...)
		out = append(out, '"')
	}
	if row.retried {
		out = append(out, `,"note":"`...)
		out = append(out, b.note...)
		out = append(out, '"')
	}
	out = append(out, `,"datasets":[`...)
	k := 0
	for _, d := range sets {
		if d < 0 || d >= len(b.names) {
			continue
		}
		if k > 0 {
			out = append(out, ',')
		}
		out = append(out, b.names[d]...)
		k++
	}
	return append(out, "]}\n"...)
}

// appendCSVField appends s as one CSV field, quoted when it must be.
func appendCSVField(out []byte, s string) []byte {
	quote := s != "" && (s[0] == ' ' || s[len(s)-1] == ' ')
	for i := 0; i < len(s) && !quote; i++ {
		switch s[i] {
		case ',', '"', '\n', '\r', ';':
			quote = true
		}
	}
	if !quote {
		return append(out, s...)
	}
	out = append(out, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			out = append(out, '"')
		}
		out = append(out, s[i])
	}
	return append(out, '"')
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes
// U+FFFD.
func appendJSONString(out []byte, s string) []byte {
	const hex = "0123456789abcdef"
	out = append(out, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				out = append(out, '\\', c)
			case c < 0x20:
				out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				out = append(out, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, `\ufffd`...)
		} else if r == 0x2028 || r == 0x2029 {
			out = append(out, '\\', 'u', '2', '0', '2', hex[r&15])
		} else {
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return append(out, '"')
}

package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"io"
	"strings"

	"github.com/phonecheck/phonecheck/checker"
	"github.com/phonecheck/phonecheck/checker/phone"
)

var cmdNormalize = &Command{
	Name:      "normalize",
	UsageLine: "normalize [--region R] [--strict] < numbers.txt",
	Short:     "write the E.164 form of each line of stdin, or why it is invalid",
	Long: `
Normalize reads lines on standard input and writes exactly one line per
input line: the E.164 form of the number, or "invalid", a tab and the
reason (empty, not a number, invalid country code, too short, too long,
invalid length, not a valid number). It is the normalization that build
uses, so it shows why a row was rejected and can clean a dataset.

--region says how to read numbers written without a country code. A
number of digits only that is not valid there is read again as
international, as if it began with "+"; its line then carries a tab and a
note: "+442079460123	read as international: not valid in US". Such a
number may be a foreign number written without its plus, or junk that
happens to be somebody else's number: review them. --strict reads every
line exactly as Google's libphonenumber does: no such retry, none of
phonecheck's clean-ups (spreadsheet artefacts, invisible characters,
digits of other scripts).
`,
}

var normalizeFlags struct {
	region string
	strict bool
}

func init() {
	cmdNormalize.SetFlags = func(fs *flag.FlagSet) {
		fs.StringVar(&normalizeFlags.region, "region", "", "default region for numbers without country code, e.g. US")
		fs.BoolVar(&normalizeFlags.strict, "strict", false, "read numbers exactly as Google's libphonenumber does: no retry as international, none of phonecheck's clean-ups")
	}
	cmdNormalize.Run = runNormalize
}

func runNormalize(ctx context.Context, cmd *Command, args []string) error {
	if len(args) > 0 {
		return usagef("normalize reads standard input and takes no arguments").
			hint("phonecheck normalize --region US < numbers.txt")
	}
	r := bufio.NewReaderSize(stdin, 1<<16)
	w := bufio.NewWriterSize(stdout, 1<<16)
	defer w.Flush()
	z := phone.Normalizer{Strict: normalizeFlags.strict}
	note := "\t" + checker.RetriedNote(normalizeFlags.region)
	for {
		line, err := readLine(r)
		if err == errLineTooLong {
			w.WriteString("invalid\t" + string(phone.ReasonTooLong) + "\n")
			continue
		}
		if line == "" && err != nil {
			if err == io.EOF {
				return w.Flush()
			}
			return err
		}
		n, nerr := z.Normalize(line, normalizeFlags.region)
		if nerr != nil {
			w.WriteString("invalid\t")
			w.WriteString(string(phone.ReasonOf(nerr)))
		} else {
			w.WriteString(n.E164)
			if n.Retried {
				w.WriteString(note)
			}
		}
		if err := w.WriteByte('\n'); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// maxLine caps a line of input: no phone number needs more, and a stream
// with no newline must not grow memory without bound. A longer line reads
// as one invalid line.
const maxLine = 64 << 10

var errLineTooLong = errors.New("line longer than 64 KiB")

// readLine reads one line without its "\n" or "\r\n". A line longer than
// maxLine is consumed whole and reported as errLineTooLong.
func readLine(r *bufio.Reader) (string, error) {
	var buf []byte
	long := false
	for {
		frag, err := r.ReadSlice('\n')
		if !long {
			if len(buf)+len(frag) > maxLine {
				long, buf = true, nil
			} else {
				buf = append(buf, frag...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if long {
			return "", errLineTooLong
		}
		if err != nil && len(buf) == 0 {
			return "", err
		}
		s := strings.TrimSuffix(string(buf), "\n")
		return strings.TrimSuffix(s, "\r"), nil
	}
}

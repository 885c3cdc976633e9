package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"

	"github.com/phonecheck/phonecheck/checker"
)

var cmdExport = &Command{
	Name:      "export",
	UsageLine: "export [--index INDEX] --out DIR [--bits 12,16,20] [--padding=false]",
	Short:     "write every range of an index as a static file",
	Long: `
Export writes every range of INDEX as a static file under DIR, so that any
static web server, object store or CDN serving DIR answers range queries
like 'phonecheck serve', and 'phonecheck check --server URL' works against
it unchanged:

	DIR/range/<PREFIX>   one file per prefix of each --bits length
	DIR/v1/datasets      the datasets and the prefix lengths written
	DIR/v1/stats         numbers per country
	DIR/manifest.json    what was written; written last, so its presence
	                     says the export is complete

--bits lists prefix lengths, multiples of 4 from 12 to 24 (20 bits is
1,048,576 files). A client picks among the lengths written: 12, 16 and 20
give every country of more than ~4 million valid numbers at least 1000
numbers per prefix. Files are padded (Add-Padding cannot be asked of a
static server) unless --padding=false. Serve the files with
Content-Type text/plain.

The files are plain-hash ranges: an export is as sensitive as the index
and for trusted clients only (see 'phonecheck help serve'). They are
written owner-only (--mode 0600); a web server running as another user
needs --mode 0640 with a shared group, or 0644 where every local user is
trusted.
`,
}

var exportFlags struct {
	index, out, bits, mode string
	padding, quiet         bool
}

func init() {
	cmdExport.SetFlags = func(fs *flag.FlagSet) {
		f := &exportFlags
		fs.StringVar(&f.index, "index", "", "index file (default: the embedded demo index)")
		fs.StringVar(&f.out, "out", "", "directory to write (required)")
		fs.StringVar(&f.bits, "bits", "12,16,20", "prefix lengths in bits, comma-separated")
		fs.BoolVar(&f.padding, "padding", true, "pad every range to a size tier")
		fs.BoolVar(&f.quiet, "quiet", false, "no progress bar")
		fs.StringVar(&f.mode, "mode", "0600", "permission of the files written, octal (directories get x where files get r)")
	}
	cmdExport.Run = runExport
}

func runExport(ctx context.Context, cmd *Command, args []string) error {
	f := &exportFlags
	if len(args) > 0 {
		return usagef("export takes no arguments")
	}
	if f.out == "" {
		return usagef("--out DIR is required")
	}
	var bits []int
	for _, s := range strings.Split(f.bits, ",") {
		b, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || b%4 != 0 || b < 12 || b > 24 {
			return usagef("--bits: %q is not a multiple of 4 from 12 to 24", s)
		}
		bits = append(bits, b)
	}
	mode, err := strconv.ParseUint(f.mode, 8, 32)
	if err != nil || mode > 0o777 || mode&0o600 != 0o600 {
		return usagef("--mode %q: want octal permission bits the owner can read and write, e.g. 0600 or 0640", f.mode)
	}
	c, err := openChecker(f.index)
	if err != nil {
		return err
	}
	defer c.Close()
	p := newProgress(f.quiet, "export")
	var mu sync.Mutex
	st, err := checker.Export(ctx, c, f.out, checker.ExportOptions{Bits: bits, Padding: f.padding, Mode: fs.FileMode(mode),
		Progress: func(done, total int64) {
			mu.Lock()
			p.set(done, total)
			mu.Unlock()
		}})
	p.finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "phonecheck: wrote %d range files (%s) to %s\n", st.Files, humanBytes(st.Bytes), f.out)
	warningf("%s holds plain-hash ranges: it is as sensitive as the index; serve it to trusted clients only", f.out)
	return nil
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/phonecheck/phonecheck/checker"
)

var cmdExport = &Command{
	Name: "export",
	UsageLine: "export [--index INDEX] --out DIR [--bits 12,16,20] [--padding=false] [--web]\n" +
		"       phonecheck export --index PRIVATE --out DIR --evaluate-url URL [--bits 12,16,20] [--max-elements N] [--country-stats=false] [--web]",
	Short: "write every range, or every private bucket, of an index as a static file",
	Long: `
Export writes every range of INDEX as a static file under DIR, so that any
static web server, object store or CDN serving DIR answers range queries
like 'phonecheck serve', and 'phonecheck check --server URL' works against
it unchanged:

	DIR/range/<PREFIX>   one file per prefix of each --bits length
	DIR/v1/datasets      the datasets and the prefix lengths written
	DIR/v1/stats         numbers per country
	DIR/manifest.json    every file written, with its SHA-256 and size;
	                     written last, so its presence says the export
	                     is complete

--web also writes the web page, DIR/index.html and DIR/app/ (each asset
plainly and as .gz, the module as .br too, for nginx's gzip_static and
brotli_static), so
that the host serving DIR serves the page and its buckets: people check in
the browser, and with a private index only evaluations go to the key
server (which needs 'serve --allow-origin' for the page's origin). The
page's assets have content hashes in their names: serve app/ with a long
Cache-Control max-age and the module (.wasm) as application/wasm.

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

Exporting again into DIR writes only the files whose content changed
(the previous manifest.json says which): the others keep their bytes and
modification time, so 'aws s3 sync' or 'rclone sync' uploads only what a
new leak changed; export reports how many files changed. Files are
replaced one by one, each whole. With --atomic, DIR is a symbolic link
(or absent): the export goes to a new directory next to it (unchanged
files hard-linked from the previous one) and DIR is swapped to it with one
rename once it is complete, so a web server serving DIR never serves a
mix of two exports. The previous directory is kept; older ones are removed.

Given a private index ('phonecheck seal'), export writes its buckets
instead: they are static, and only the evaluations need the key server.
It needs no key:

	DIR/v1/private/bucket/<BITS>/<HEX>  one file per prefix of each --bits
	                     length (HEX: BITS/4 hex digits, rounded up): the
	                     bytes a server answers a bucket-only query with,
	                     always padded, with the same decoys
	DIR/v1/private/key   the key document: public key, parameters, and
	                     evaluate_url, where evaluations go (--evaluate-url,
	                     the base URL of 'serve --private' with the key)
	DIR/v1/datasets, DIR/v1/stats, DIR/manifest.json  as above

--bits defaults to the lengths of 12, 16, 20 and 24 below the index's
bucket bits B, and B. 'check --server URL' and 'batch --server URL', URL
serving DIR, fetch buckets from it and send evaluation-only requests to
the evaluation server: the web server learns the prefix, the evaluation
server blinded elements only, not even the prefix. --max-elements must
be the evaluation server's. Serve the files with any Content-Type.
Private buckets are useless without the key server, but their number of
entries still says a little (the padding tier): they are written
owner-only too by default. DIR/v1/stats holds the numbers per dataset and
country, which the buckets do not reveal (docs/privacy.md);
--country-stats=false writes the key count only.
`,
}

// maxExportBits bounds an export's prefix lengths: 2^24 files is already
// 16M files.
const maxExportBits = 24

var exportFlags struct {
	index, out, bits, mode, evaluateURL string
	padding, quiet, web, countryStats   bool
	atomic                              bool
	maxElements                         int
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
		fs.StringVar(&f.evaluateURL, "evaluate-url", "", "private index: base `URL` of the evaluation server (serve --private), written into the key document")
		fs.IntVar(&f.maxElements, "max-elements", checker.DefaultMaxElements, "private index: the evaluation server's --max-elements")
		fs.BoolVar(&f.countryStats, "country-stats", true, "private index: write per-dataset, per-country counts into v1/stats (false: the key count only)")
		fs.BoolVar(&f.atomic, "atomic", false, "write a new directory and swap DIR, a symbolic link, to it once complete (keeps the previous one)")
		fs.BoolVar(&f.web, "web", false, "also write the web page (index.html and app/), so that the host serving DIR serves the page with the buckets")
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
	set := map[string]bool{}
	cmd.Flag.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	mode, err := strconv.ParseUint(f.mode, 8, 32)
	if err != nil || mode > 0o777 || mode&0o600 != 0o600 {
		return usagef("--mode %q: want octal permission bits the owner can read and write, e.g. 0600 or 0640", f.mode)
	}
	c, err := openChecker(f.index)
	if errors.Is(err, checker.ErrScheme) {
		if pix, perr := checker.OpenPrivate(f.index, nil); perr == nil {
			defer pix.Close()
			return runExportPrivate(ctx, pix, set, fs.FileMode(mode))
		}
	}
	if err != nil {
		return err
	}
	defer c.Close()
	if set["evaluate-url"] || set["max-elements"] || set["country-stats"] {
		return usagef("--evaluate-url, --max-elements and --country-stats go with a private index; %s is a plain one", f.index)
	}
	var bits []int
	for _, s := range strings.Split(f.bits, ",") {
		b, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || b%4 != 0 || b < 12 || b > 24 {
			return usagef("--bits: %q is not a multiple of 4 from 12 to 24", s)
		}
		bits = append(bits, b)
	}
	p := newProgress(f.quiet, "export")
	var mu sync.Mutex
	st, err := checker.Export(ctx, c, f.out, checker.ExportOptions{Bits: bits, Padding: f.padding, Mode: fs.FileMode(mode),
		Atomic: f.atomic, Extra: webPage(fs.FileMode(mode)),
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
	reportChanges(st)
	warningf("%s holds plain-hash ranges: it is as sensitive as the index; serve it to trusted clients only", f.out)
	return nil
}

// runExportPrivate is export of a private index: its buckets as static
// files, and the key document naming the evaluation server.
func runExportPrivate(ctx context.Context, pix *checker.PrivateIndex, set map[string]bool, mode fs.FileMode) error {
	f := &exportFlags
	switch {
	case f.evaluateURL == "":
		return usagef("a private index needs --evaluate-url URL, the evaluation server's base URL").
			hint("phonecheck export --index %s --out %s --evaluate-url https://eval.example.org", f.index, f.out)
	case set["padding"] && !f.padding:
		return usagef("--padding=false: private buckets are always padded")
	case f.maxElements < 1 || f.maxElements > math.MaxUint16:
		return usagef("--max-elements %d not in 1..65535", f.maxElements)
	}
	u, err := url.Parse(f.evaluateURL)
	if err != nil || u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https" {
		return usagef("--evaluate-url %q: want an http(s) URL, or a path relative to the export's base URL", f.evaluateURL)
	}
	var bits []int
	if set["bits"] {
		for _, s := range strings.Split(f.bits, ",") {
			b, err := strconv.Atoi(strings.TrimSpace(s))
			if hi := min(pix.BucketBits(), maxExportBits); err != nil || b < 1 || b > hi {
				return usagef("--bits: %q is not a prefix length to export from this index, 1 to %d", s, hi)
			}
			bits = append(bits, b)
		}
	}
	if !pix.DeterministicPadding() {
		return withHint(fmt.Errorf("%s was sealed before private padding was deterministic: its exported decoys would differ from a server's", f.index),
			"seal the plain index again: phonecheck seal --key KEY --in PLAIN --out %s", f.index)
	}
	p := newProgress(f.quiet, "export")
	var mu sync.Mutex
	st, err := checker.ExportPrivate(ctx, pix, f.out, checker.PrivateExportOptions{EvaluateURL: f.evaluateURL, Bits: bits,
		MaxElements: f.maxElements, Mode: mode, NoCountryStats: !f.countryStats,
		Atomic: f.atomic, Extra: webPage(mode),
		Progress: func(done, total int64) {
			mu.Lock()
			p.set(done, total)
			mu.Unlock()
		}})
	p.finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "phonecheck: wrote %d private bucket files (%s, key id %s) to %s; evaluations go to %s\n",
		st.Files, humanBytes(st.Bytes), pix.KeyID(), f.out, f.evaluateURL)
	reportChanges(st)
	return nil
}

// reportChanges says how the export differs from the previous one, which
// is what a sync tool will upload.
func reportChanges(st checker.ExportStats) {
	ch := st.Changes
	fmt.Fprintf(stderr, "phonecheck: %d files changed or new, %d unchanged, %d removed since the previous export (manifest.json lists every file's SHA-256)\n",
		ch.Written, ch.Unchanged, ch.Removed)
}

// webPage is export --web: the page, allowed to send evaluations to
// --evaluate-url when that is another origin, written into the export
// before its manifest.
func webPage(mode fs.FileMode) func(root string) error {
	if !exportFlags.web {
		return nil
	}
	return func(root string) error {
		var opts checker.WebPageOptions
		if u, err := url.Parse(exportFlags.evaluateURL); err == nil && u.Host != "" {
			opts.ConnectOrigins = []string{u.Scheme + "://" + u.Host}
		}
		if err := checker.WriteWebPage(root, mode, opts); err != nil {
			return fmt.Errorf("export --web: %w", err)
		}
		fmt.Fprintf(stderr, "phonecheck: wrote the web page to %s (index.html, app/)\n", exportFlags.out)
		return nil
	}
}

package checker

import (
	"io/fs"
	"net/http"

	"github.com/phonecheck/phonecheck/checker/internal/web"
)

// WebPageOptions configure the web page: the origins besides its own
// that it may send requests to (a static export's evaluation server).
type WebPageOptions = web.Options

// NewWebPage returns the web page that checks a number in the browser
// (the project's client compiled to WebAssembly) as a handler of / and
// /app/..., for [ServerOptions].Page.
func NewWebPage(opts WebPageOptions) (http.Handler, error) { return web.New(opts) }

// WriteWebPage writes the web page and its assets, plainly and
// precompressed, under dir, for a static host: next to an export's
// buckets, so that one CDN serves the page and the buckets. Files get
// mode, directories mode with x where it has r.
func WriteWebPage(dir string, mode fs.FileMode, opts WebPageOptions) error {
	s, err := web.New(opts)
	if err != nil {
		return err
	}
	return s.WriteFiles(dir, mode)
}

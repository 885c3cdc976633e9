// Package phonecheck holds the fictional demo dataset, embedded, and
// builds the demo index from it on first use. The product is the checker,
// checker/phone and hashset packages and the phonecheck command.
package phonecheck

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"sync"

	"github.com/phonecheck/phonecheck/checker"
	"github.com/phonecheck/phonecheck/hashset"
)

// demoFS is the fictional demo dataset: testdata/demo/manifest.toml and
// the files it names.
//
//go:embed testdata/demo/manifest.toml testdata/demo/*.csv testdata/demo/*.txt
var demoFS embed.FS

// demoManifest is the path of the demo manifest inside demoFS.
const demoManifest = "testdata/demo/manifest.toml"

var demo struct {
	once sync.Once
	c    *checker.Checker
	err  error
}

// Demo returns a Checker over the demo index, built in memory from the
// embedded fictional dataset on first use (a few milliseconds). Building
// from the dataset rather than embedding an index file means the demo can
// never drift from the current file format.
func Demo() (*checker.Checker, error) {
	demo.once.Do(func() { demo.c, demo.err = buildDemo() })
	return demo.c, demo.err
}

func buildDemo() (*checker.Checker, error) {
	m, err := checker.ReadManifest(demoFS, demoManifest)
	if err != nil {
		return nil, fmt.Errorf("demo index: %w", err)
	}
	b, err := checker.Ingest(context.Background(), checker.BuildOptions{
		Datasets: m.Datasets,
		FS:       demoFS,
		Workers:  1,
		Info:     map[string]string{checker.InfoDemo: "true"},
	})
	if err != nil {
		return nil, fmt.Errorf("demo index: %w", err)
	}
	var buf bytes.Buffer
	if _, err := b.Write(&buf); err != nil {
		return nil, fmt.Errorf("demo index: %w", err)
	}
	idx, err := hashset.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		return nil, fmt.Errorf("demo index: %w", err)
	}
	return checker.New(idx)
}

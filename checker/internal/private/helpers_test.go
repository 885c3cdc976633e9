package private

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/hashset"
)

// Fixtures shared by the tests of this package: plain indexes built in
// memory from fictional numbers, sealed into private ones.

type testDS struct {
	name string
	nums []string // E.164
}

// Key is the plain key of a number in E.164 form.
func Key(e164 string) uint64 { return keyscheme.Key(e164) }

// testPlainIndex builds a plain index in memory.
func testPlainIndex(t testing.TB, ds ...testDS) *hashset.Reader {
	t.Helper()
	b := hashset.NewBuilder(hashset.Options{KeyScheme: keyscheme.Name})
	g := b.Group("US")
	for _, d := range ds {
		id, err := b.AddDataset(hashset.Dataset{Name: d.name, Date: "2026-01"})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range d.nums {
			b.Add(Key(n), id, g)
		}
	}
	var buf bytes.Buffer
	if _, err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	r, err := hashset.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// testPrivateIndex seals a plain index built from ds under k, in memory.
func testPrivateIndex(t testing.TB, k *oprf.Key, bits int, ds ...testDS) (*Index, *hashset.Reader) {
	t.Helper()
	plain := testPlainIndex(t, ds...)
	var buf bytes.Buffer
	if _, err := Seal(context.Background(), plain, &buf, SealOptions{Key: k, BucketBits: bits}); err != nil {
		t.Fatal(err)
	}
	r, err := hashset.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	ix, err := New(r, k)
	if err != nil {
		t.Fatal(err)
	}
	return ix, plain
}

// fictionalSpace is every US number NXX-555-0100..0199 for NXX 201..999:
// the 555-01XX lines are reserved for fiction. 79,900 numbers.
func fictionalSpace() []string {
	var out []string
	for area := 201; area <= 999; area++ {
		for line := 100; line <= 199; line++ {
			out = append(out, fmt.Sprintf("+1%d5550%d", area, line))
		}
	}
	return out
}

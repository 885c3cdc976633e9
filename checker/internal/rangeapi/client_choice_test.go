package rangeapi_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi"
	"github.com/phonecheck/phonecheck/checker/internal/server"
)

// An Aruba mobile number: the library's example number (+297 560 1234),
// in no dataset of the test index, and the country too small for K at
// any length the range API takes (~264 numbers a 12-bit prefix).
const testAW = "+2975601234"

// TestClientSmallCountry: a number of a country too small for K gets an
// answer, at the shortest length, and the result says how short of K it
// falls; the range API offers no larger download. Strict sends nothing;
// PrefixBits sends the length asked for, or nothing if it is not offered.
func TestClientSmallCountry(t *testing.T) {
	idx := testIndex(t, 5000)
	var ds []rangeapi.Dataset
	for _, d := range idx.Meta().Datasets {
		ds = append(ds, rangeapi.Dataset{Name: d.Name, Date: d.Date})
	}
	srv, err := server.New(server.Indexes{Plain: idx, Datasets: ds}, server.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var (
		mu     sync.Mutex
		ranges []string
	)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := strings.CutPrefix(r.URL.Path, "/range/"); ok {
			mu.Lock()
			ranges = append(ranges, p)
			mu.Unlock()
		}
		srv.ServeHTTP(w, r)
	}))
	defer ts.Close()
	sent := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := ranges
		ranges = nil
		return out
	}
	ctx := context.Background()

	res, err := rangeapi.NewClient(ts.URL, rangeapi.Options{}).Check(ctx, testAW, "")
	if err != nil {
		t.Fatal(err)
	}
	ch := res.Choice
	if res.Exposed || res.Bits != 12 || ch.Bits != 12 || !ch.Short || !ch.Known || ch.Region != "AW" || ch.K != keyscheme.DefaultMinAnonymity ||
		math.Round(res.Anonymity) != 264 || ch.Larger != nil {
		t.Errorf("AW: %+v", res)
	}
	if s := sent(); len(s) != 1 || s[0] != keyscheme.Prefix(keyscheme.Key(testAW), 12) {
		t.Errorf("AW: sent %v", s)
	}

	// Strict: nothing sent.
	_, err = rangeapi.NewClient(ts.URL, rangeapi.Options{Strict: true}).Check(ctx, testAW, "")
	if !errors.Is(err, keyscheme.ErrAnonymity) || !strings.Contains(err.Error(), "AW has about 264 valid numbers per 12-bit prefix, fewer than 1000") {
		t.Errorf("strict: %v", err)
	}
	if s := sent(); len(s) != 0 {
		t.Errorf("strict: sent %v", s)
	}

	// A length asked for: sent if offered, 8 bits never.
	res, err = rangeapi.NewClient(ts.URL, rangeapi.Options{PrefixBits: 16}).Check(ctx, testBoth[0], "")
	if err != nil || res.Bits != 16 || !res.Exposed || res.Choice.Short {
		t.Errorf("16 bits asked for: %+v %v", res, err)
	}
	if s := sent(); len(s) != 1 || len(s[0]) != 4 {
		t.Errorf("16 bits asked for: sent %v", s)
	}
	for _, bits := range []int{8, 28} {
		_, err = rangeapi.NewClient(ts.URL, rangeapi.Options{PrefixBits: bits}).Check(ctx, testAW, "")
		if !errors.Is(err, keyscheme.ErrNotOffered) || !strings.Contains(err.Error(), "the server takes 12, 16, 20 or 24 bits") {
			t.Errorf("%d bits asked for: %v", bits, err)
		}
	}
	if s := sent(); len(s) != 0 {
		t.Errorf("lengths not offered: sent %v", s)
	}
}

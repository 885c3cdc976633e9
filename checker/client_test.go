package checker

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/server"
	"github.com/phonecheck/phonecheck/checker/phone"
	"github.com/phonecheck/phonecheck/hashset"
)

// countingHandler counts range requests and remembers the prefix lengths
// sent.
type countingHandler struct {
	h      http.Handler
	ranges atomic.Int64
	maxLen atomic.Int64
}

func (c *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p, ok := strings.CutPrefix(r.URL.Path, "/range/"); ok {
		c.ranges.Add(1)
		if int64(len(p)) > c.maxLen.Load() {
			c.maxLen.Store(int64(len(p)))
		}
	}
	c.h.ServeHTTP(w, r)
}

// checkClient runs the test numbers through cl and checks the answers.
// exact says whether the server names the datasets (JSON) or only counts.
func checkClient(t *testing.T, cl *Client, exact bool) {
	t.Helper()
	ctx := context.Background()
	for _, n := range slices.Concat(testBoth, testOnlyA, testNone) {
		res, err := cl.Check(ctx, n, "")
		if err != nil {
			t.Fatalf("%s: %v", phone.Redact(n), err)
		}
		wantCount := 0
		switch {
		case slices.Contains(testBoth, n):
			wantCount = 2
		case slices.Contains(testOnlyA, n):
			wantCount = 1
		}
		if res.Exposed != (wantCount > 0) || res.Count != wantCount {
			t.Errorf("%s: exposed %v count %d, want count %d", phone.Redact(n), res.Exposed, res.Count, wantCount)
		}
		if wantCount == 2 && (!res.DatasetsKnown || len(res.Datasets) != 2) {
			t.Errorf("%s: datasets %v known %v", phone.Redact(n), res.Datasets, res.DatasetsKnown)
		}
		if wantCount == 1 {
			if exact && (!res.DatasetsKnown || len(res.Datasets) != 1 || res.Datasets[0].Name != "leak-a") {
				t.Errorf("%s: datasets %v, want leak-a", phone.Redact(n), res.Datasets)
			}
			if !exact && res.DatasetsKnown {
				t.Errorf("%s: a text range cannot say which dataset", phone.Redact(n))
			}
		}
		if res.Prefix != keyscheme.Prefix(Key(n), res.Bits) || res.Anonymity < DefaultMinAnonymity {
			t.Errorf("%s: sent %q (%d bits), anonymity %.0f", phone.Redact(n), res.Prefix, res.Bits, res.Anonymity)
		}
	}
}

func TestClientAgainstServer(t *testing.T) {
	s := newTestServer(t, 5000)
	ch := &countingHandler{h: s}
	ts := httptest.NewServer(ch)
	defer ts.Close()
	cl := NewClient(ts.URL+"/", nil)
	checkClient(t, cl, true)
	if got := ch.maxLen.Load(); got != 5 {
		t.Errorf("longest prefix sent: %d hex digits, want 5 (20 bits: US and AU keep > 1000 numbers)", got)
	}
	// Too much anonymity asked: the shortest length, said short; with
	// Strict, nothing is sent.
	res, err := NewClient(ts.URL, &ClientOptions{MinAnonymity: 1e12}).Check(context.Background(), testBoth[0], "")
	if err != nil || !res.Exposed || res.Bits != 12 || !res.Choice.Short || res.Choice.K != 1e12 {
		t.Errorf("MinAnonymity 1e12: %+v %v, want an answer at 12 bits, said short", res, err)
	}
	before := ch.ranges.Load()
	cl2 := NewClient(ts.URL, &ClientOptions{MinAnonymity: 1e12, Strict: true})
	if _, err := cl2.Check(context.Background(), testBoth[0], ""); !errors.Is(err, ErrAnonymity) {
		t.Errorf("MinAnonymity 1e12, strict: %v, want ErrAnonymity", err)
	}
	if ch.ranges.Load() != before {
		t.Error("a range was requested although no length gives the anonymity asked, and Strict is set")
	}
	// A bad server URL or a server error is an error, without the prefix.
	bad := NewClient(ts.URL+"/nope", nil)
	_, err = bad.Check(context.Background(), testBoth[0], "")
	if err == nil || strings.Contains(err.Error(), keyscheme.Prefix(Key(testBoth[0]), 20)) {
		t.Errorf("bad base URL: %v", err)
	}
}

func TestClientNoPadding(t *testing.T) {
	s := newTestServer(t, 100)
	var padded atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Add-Padding") == "true" {
			padded.Add(1)
		}
		s.ServeHTTP(w, r)
	}))
	defer ts.Close()
	cl := NewClient(ts.URL, nil)
	cl.Check(context.Background(), testNone[0], "")
	if padded.Load() != 1 {
		t.Error("the client does not ask for padding by default")
	}
	cl = NewClient(ts.URL, &ClientOptions{NoPadding: true})
	cl.Check(context.Background(), testNone[0], "")
	if padded.Load() != 1 {
		t.Error("NoPadding still asks for padding")
	}
}

// TestClientAgainstExport serves an export with net/http's file server.
func TestClientAgainstExport(t *testing.T) {
	c := testIndex(t, 5000, "")
	dir := t.TempDir()
	st, err := Export(context.Background(), c, dir, ExportOptions{Bits: []int{12}, Padding: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 1<<12 {
		t.Errorf("%d files", st.Files)
	}
	// Every file is what the server answers with Add-Padding.
	s := newTestServer(t, 5000)
	for _, p := range []string{"000", "ABC", "FFF", "9E1"} {
		data, err := os.ReadFile(filepath.Join(dir, "range", p))
		if err != nil {
			t.Fatal(err)
		}
		if w := do(t, s, "GET", "/range/"+p, "Add-Padding", "true"); w.Body.String() != string(data) {
			t.Errorf("range/%s differs from the server's padded answer", p)
		}
	}
	var man ExportManifest
	data, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err := json.Unmarshal(data, &man); err != nil || man.Format != ExportFormat || !slices.Equal(man.Bits, []int{12}) || !man.Padding {
		t.Errorf("manifest: %+v %v", man, err)
	}
	ts := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer ts.Close()
	checkClient(t, NewClient(ts.URL, nil), false)
}

// TestClientAfterReload: a Client that read /v1/datasets before the
// server swapped in an index with its datasets in another order names
// the datasets of the index that answered, not of the one it read.
func TestClientAfterReload(t *testing.T) {
	s := newTestServer(t, 100)
	ts := httptest.NewServer(s)
	defer ts.Close()
	cl := NewClient(ts.URL, nil)
	ctx := context.Background()
	before, err := cl.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The new index lists leak-z first: dataset 1 is now leak-a, and was
	// leak-b in the list the client holds.
	b := hashset.NewBuilder(hashset.Options{KeyScheme: HashScheme, Created: "2026-11-26", BloomFPR: -1})
	b.AddDataset(hashset.Dataset{Name: "leak-z", Date: "2025-01"})
	a, _ := b.AddDataset(hashset.Dataset{Name: "leak-a", Date: "2022-11"})
	for _, n := range testOnlyA {
		b.Add(Key(n), a, b.Group(map[bool]string{true: "US", false: "AU"}[strings.HasPrefix(n, "+1")]))
	}
	if err := s.Swap(builtChecker(t, b)); err != nil {
		t.Fatal(err)
	}
	res, err := cl.Check(ctx, testOnlyA[0], "")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Exposed || !res.DatasetsKnown || len(res.Datasets) != 1 || res.Datasets[0].Name != "leak-a" {
		t.Errorf("after the reload: exposed %v, datasets %v (known %v), want leak-a", res.Exposed, res.Datasets, res.DatasetsKnown)
	}
	if after, _ := cl.Info(ctx); after.Index.ID == before.Index.ID {
		t.Error("the client still holds the datasets of the old index")
	}
}

// TestClientOfferedLengths: the client sends only the fixed prefix
// lengths, whatever else a server lists.
func TestClientOfferedLengths(t *testing.T) {
	c := testIndex(t, 100, "")
	s, err := NewServer(c, ServerOptions{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var lengths []int
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/datasets" {
			s.ServeHTTP(w, r)
			return
		}
		si := server.Info(c.Index(), rangeDatasets(c.Datasets()), c.Demo())
		si.PrefixBits = lengths
		json.NewEncoder(w).Encode(si)
	}))
	defer ts.Close()
	for _, tc := range []struct {
		offered []int
		bits    int // 0: refused
	}{
		{[]int{12, 28}, 12},
		{[]int{28, 32}, 0},
		{[]int{8, 12, 16}, 16},
	} {
		lengths = tc.offered
		// K = 5: a US number keeps ~11 numbers at 28 bits, so 28 would
		// be chosen if it were allowed.
		cl := NewClient(ts.URL, &ClientOptions{MinAnonymity: 5})
		res, err := cl.Check(context.Background(), testNone[0], "")
		if tc.bits == 0 {
			if err == nil || !strings.Contains(err.Error(), "offers none of the prefix lengths") {
				t.Errorf("offered %v: err %v, want a refusal", tc.offered, err)
			}
			continue
		}
		if err != nil || res.Bits != tc.bits {
			t.Errorf("offered %v: sent %d bits (err %v), want %d", tc.offered, res.Bits, err, tc.bits)
		}
	}
}

// TestClientInfoKeepsEveryField: the datasets document a Client returns
// holds every field the server wrote, so that the conversion from what
// the range client decodes loses nothing, now or after a field is added.
func TestClientInfoKeepsEveryField(t *testing.T) {
	want := ServerInfo{
		Index:      IndexInfo{ID: "0123456789abcdef", Keys: 7, HashScheme: HashScheme, Created: "2026-11-25", Demo: true},
		Datasets:   []DatasetInfo{{Dataset: Dataset{Name: "leak-a", Date: "2022-11", Source: "test"}, Keys: 5}},
		PrefixBits: []int{12, 20},
		Padding:    true,
		Static:     true,
		Private:    true,
	}
	var zero func(path string, v reflect.Value)
	zero = func(path string, v reflect.Value) {
		if v.IsZero() {
			t.Errorf("%s is zero in the test value: set it, so that the test covers it", path)
			return
		}
		switch v.Kind() {
		case reflect.Struct:
			for i := range v.NumField() {
				zero(path+"."+v.Type().Field(i).Name, v.Field(i))
			}
		case reflect.Slice:
			zero(path+"[0]", v.Index(0))
		}
	}
	zero("ServerInfo", reflect.ValueOf(want))
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(want)
	}))
	defer ts.Close()
	got, err := NewClient(ts.URL, nil).Info(context.Background())
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Info = %+v, %v; want %+v", got, err, want)
	}
}

package checker

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/checker/internal/privateapi"

	"github.com/phonecheck/phonecheck/checker/phone"
)

// recorder serves h and records each request's method, path and body.
type recorder struct {
	h    http.Handler
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, path string
	body         []byte
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.Path, body})
	r.mu.Unlock()
	req.Body = io.NopCloser(bytes.NewReader(body))
	r.h.ServeHTTP(w, req)
}

// TestExportPrivateSplit: a private index exported as static files and
// served by a plain file server (the CDN), beside an evaluation server:
// a bucket file is the bytes the server answers; the client checks
// exposed and unexposed numbers, one by one and in a batch, with the
// results of the plain index; the file server saw only GETs, and the
// evaluation server only evaluation-only requests, never a prefix.
func TestExportPrivateSplit(t *testing.T) {
	f := newPrivateBatchFixture(t, 400)
	// Buckets of 12 bits: 4096 files.
	ix, plain := testPrivateIndex(t, f.key, 12, testDS{"leak-a", f.exposed[:300]}, testDS{"leak-b", f.exposed[200:]})
	f.priv = ix
	if f.local, _ = New(plain); f.local == nil {
		t.Fatal("no local checker")
	}
	evalH, err := NewPrivateHandler(ix, f.key, PrivateHandlerOptions{Rate: -1})
	if err != nil {
		t.Fatal(err)
	}
	eval := &recorder{h: evalH}
	evalSrv := httptest.NewServer(eval)
	defer evalSrv.Close()

	dir := t.TempDir()
	st, err := ExportPrivate(context.Background(), ix, dir, PrivateExportOptions{EvaluateURL: evalSrv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 4096 {
		t.Errorf("%d files, want 4096", st.Files)
	}
	cdn := &recorder{h: http.FileServer(http.Dir(dir))}
	cdnSrv := httptest.NewServer(cdn)
	defer cdnSrv.Close()

	// The layout, owner-only, with no secret.
	keyDoc, err := os.ReadFile(filepath.Join(dir, "v1", "private", "key"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg PrivateConfig
	if err := json.Unmarshal(keyDoc, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.EvaluateURL != evalSrv.URL || !slices.Equal(cfg.StaticBucketBits, []int{12}) || cfg.KeyID != f.key.ID() || strings.Contains(string(keyDoc), "private_key") {
		t.Errorf("key document: %s", keyDoc)
	}
	for _, name := range []string{"manifest.json", "v1/private/key", "v1/private/bucket/12/ABC", "v1/datasets"} {
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", name, fi.Mode(), err)
		}
	}
	// A bucket file is what the server answers a bucket-only query with.
	full := Key(f.exposed[0]) >> 52
	for _, prefix := range []uint64{full, 0xABC} {
		file, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(privateapi.BucketPath(prefix, 12))))
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		evalH.ServeHTTP(w, httptest.NewRequest("POST", PrivateQueryPath, bytes.NewReader(wire.AppendRequest(nil, &wire.Request{Bits: 12, Prefix: prefix}))))
		if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), file) {
			t.Errorf("bucket %03X: the file and the server's answer differ (HTTP %d)", prefix, w.Code)
		}
	}
	eval.reqs = nil

	// One by one, through the CDN.
	pc := &PrivateClient{BaseURL: cdnSrv.URL, PublicKey: f.key.Public()}
	for _, tc := range []struct {
		number  string
		exposed bool
	}{{f.exposed[250], true}, {f.others[0], false}} {
		res, err := pc.Check(context.Background(), tc.number, "")
		if err != nil {
			t.Fatal(err)
		}
		want, _ := f.local.Check(tc.number, "")
		if res.Exposed != tc.exposed || len(res.Datasets) != len(want.Datasets) || res.PrefixBits != 12 || !res.Padded {
			t.Errorf("%s: %+v, want exposed %v in %d datasets", phone.Redact(tc.number), res, tc.exposed, len(want.Datasets))
		}
	}
	// A batch, through the CDN: the rows of the local batch.
	input := f.input()
	opts := BatchOptions{Region: "US", Column: "msisdn", ID: "subscriber"}
	want, _ := runLocalBatch(t, f.local, input, opts)
	got, sum := runPrivateBatch(t, &PrivateClient{BaseURL: cdnSrv.URL}, input, PrivateBatchOptions{BatchOptions: opts})
	if got != want {
		t.Errorf("batch through the export differs from the local one:\n%s", firstDiff(got, want))
	}
	if sum.Sent.Evaluator != evalSrv.URL+PrivateQueryPath {
		t.Errorf("evaluator %q", sum.Sent.Evaluator)
	}

	for _, r := range cdn.reqs {
		if r.method != "GET" {
			t.Errorf("the file server got %s %s", r.method, r.path)
		}
	}
	if len(eval.reqs) == 0 {
		t.Fatal("no evaluation request")
	}
	for _, r := range eval.reqs {
		if r.method != "POST" || r.path != PrivateQueryPath || len(r.body) < 3 || r.body[2] != 0 {
			t.Errorf("the evaluation server got %s %s with a prefix (%d bytes)", r.method, r.path, len(r.body))
		}
	}

	// A relative evaluate_url: one host serves the files and, under
	// /eval/, the evaluations.
	dir2 := t.TempDir()
	if _, err := ExportPrivate(context.Background(), ix, dir2, PrivateExportOptions{EvaluateURL: "eval/"}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(dir2)))
	mux.Handle("/eval/", http.StripPrefix("/eval", evalH))
	one := httptest.NewServer(mux)
	defer one.Close()
	res, err := (&PrivateClient{BaseURL: one.URL + "/"}).Check(context.Background(), f.exposed[10], "")
	if err != nil || !res.Exposed {
		t.Errorf("relative evaluate_url: %+v %v", res, err)
	}

	// An index without a padding seed is refused: the same index,
	// opened after its header lost the seed.
	delete(ix.Index().Meta().Info, InfoPadSeed)
	legacy, err := NewPrivate(ix.Index(), f.key)
	if err != nil {
		t.Fatal(err)
	}
	if legacy.DeterministicPadding() {
		t.Fatal("an index without a padding seed pads deterministically")
	}
	if _, err := ExportPrivate(context.Background(), legacy, t.TempDir(), PrivateExportOptions{EvaluateURL: evalSrv.URL}); err == nil || !strings.Contains(err.Error(), "seal it again") {
		t.Errorf("legacy index: %v", err)
	}
}

// TestEvaluateURLChecked: a key document cannot send evaluations to a
// plain-http server from an https base, nor to a URL with a query.
func TestEvaluateURLChecked(t *testing.T) {
	f := newPrivateBatchFixture(t, 10)
	h, err := NewPrivateHandler(f.priv, f.key, PrivateHandlerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ url, want string }{
		{"http://127.0.0.1:9/", "plain http under an https"},
		{"https://127.0.0.1:9/eval?x=1", "query or a fragment"},
		{"ftp://127.0.0.1:9/", "not an http(s) URL"},
		{"https://127.0.0.1:9/", ""},
	} {
		var doc map[string]any
		key := httptest.NewRecorder()
		h.ServeKey(key, httptest.NewRequest("GET", PrivateKeyPath, nil))
		if err := json.Unmarshal(key.Body.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		doc["evaluate_url"] = c.url
		body, _ := json.Marshal(doc)
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		}))
		pc := &PrivateClient{BaseURL: srv.URL, HTTP: srv.Client()}
		cfg, _, err := pc.Config(context.Background())
		srv.Close()
		switch {
		case c.want == "" && (err != nil || cfg.EvaluateURL != c.url):
			t.Errorf("%s: %v", c.url, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want an error with %q", c.url, err, c.want)
		}
	}
}

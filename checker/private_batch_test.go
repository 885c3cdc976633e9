package checker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/checker/phone"
)

// privateBatchFixture is a private server and the plain index it was
// sealed from, over fictional US 555-01XX numbers: exposed are in a
// leak, others are not.
type privateBatchFixture struct {
	key     *OPRFKey
	priv    *PrivateIndex
	local   *Checker
	exposed []string
	others  []string
}

func newPrivateBatchFixture(t testing.TB, n int) *privateBatchFixture {
	t.Helper()
	k, err := GenerateOPRFKey()
	if err != nil {
		t.Fatal(err)
	}
	space := fictionalSpace()
	rng := rand.New(rand.NewPCG(5, 6))
	rng.Shuffle(len(space), func(i, j int) { space[i], space[j] = space[j], space[i] })
	var valid []string
	for _, e := range space {
		if _, err := phone.Normalize(e, ""); err == nil {
			valid = append(valid, e)
			if len(valid) == n {
				break
			}
		}
	}
	exposed := valid[:n*9/10]
	a, b := exposed[:len(exposed)*3/4], exposed[len(exposed)/2:]
	ix, plain := testPrivateIndex(t, k, 20, testDS{"leak-a", a}, testDS{"leak-b", b})
	local, err := New(plain)
	if err != nil {
		t.Fatal(err)
	}
	return &privateBatchFixture{key: k, priv: ix, local: local, exposed: exposed, others: valid[n*9/10:]}
}

func (f *privateBatchFixture) server(t testing.TB, opts PrivateHandlerOptions) *httptest.Server {
	t.Helper()
	h, err := NewPrivateHandler(f.priv, f.key, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// input is a subscriber CSV: every number in national form, some twice,
// and rows that are not numbers.
func (f *privateBatchFixture) input() string {
	var sb strings.Builder
	sb.WriteString("subscriber,msisdn\n")
	all := append(append([]string{}, f.exposed...), f.others...)
	for i, e := range all {
		if i%97 == 5 {
			fmt.Fprintf(&sb, "bad%d,12\n", i)
			fmt.Fprintf(&sb, "none%d,\n", i)
		}
		national := fmt.Sprintf("(%s) %s-%s", e[2:5], e[5:8], e[8:])
		fmt.Fprintf(&sb, "s%d,%s\n", i, national)
		if i%50 == 0 {
			fmt.Fprintf(&sb, "dup%d,%s\n", i, e)
		}
	}
	return sb.String()
}

func runLocalBatch(t testing.TB, c *Checker, input string, opts BatchOptions) (string, *BatchSummary) {
	t.Helper()
	b, err := c.NewBatch(strings.NewReader(input), "subs.csv", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var out bytes.Buffer
	sum, err := b.Run(context.Background(), &out)
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), sum
}

func runPrivateBatch(t testing.TB, pc *PrivateClient, input string, opts PrivateBatchOptions) (string, *BatchSummary) {
	t.Helper()
	b, err := pc.NewBatch(context.Background(), strings.NewReader(input), "subs.csv", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var out bytes.Buffer
	sum, err := b.Run(context.Background(), &out)
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), sum
}

// TestPrivateBatchMatchesLocal: a batch against a private server writes
// the same rows (statuses, datasets, invalid rows and all) as a batch
// against the plain index it was sealed from, in both formats; each
// bucket is fetched once while the cache holds it, and the summary says
// what was sent.
func TestPrivateBatchMatchesLocal(t *testing.T) {
	f := newPrivateBatchFixture(t, 1200)
	srv := f.server(t, PrivateHandlerOptions{Rate: -1, MaxElements: 64})
	input := f.input()
	for _, tc := range []struct {
		name   string
		format string
		cache  int64
	}{
		{"csv", "csv", 0},
		{"jsonl-tiny-cache", "jsonl", 2000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := BatchOptions{Region: "US", Column: "msisdn", ID: "subscriber", Output: tc.format}
			want, wsum := runLocalBatch(t, f.local, input, opts)
			pc := &PrivateClient{BaseURL: srv.URL, PublicKey: f.key.Public(), CacheBytes: tc.cache}
			got, gsum := runPrivateBatch(t, pc, input, PrivateBatchOptions{BatchOptions: opts})
			if got != want {
				t.Errorf("private batch output differs from the local one:\n%s", firstDiff(got, want))
			}
			if gsum.Exposed != wsum.Exposed || gsum.Invalid != wsum.Invalid || gsum.Rows != wsum.Rows {
				t.Errorf("summary: private %d exposed %d invalid %d rows, local %d %d %d",
					gsum.Exposed, gsum.Invalid, gsum.Rows, wsum.Exposed, wsum.Invalid, wsum.Rows)
			}
			if wsum.Exposed < int64(len(f.exposed)) || wsum.Invalid == 0 {
				t.Errorf("fixture: %d exposed, %d invalid", wsum.Exposed, wsum.Invalid)
			}
			for i := range wsum.Datasets {
				if gsum.Datasets[i] != wsum.Datasets[i] {
					t.Errorf("dataset %d: private %+v, local %+v", i, gsum.Datasets[i], wsum.Datasets[i])
				}
			}
			s := gsum.Sent
			if s == nil || s.Mode != ModePrivate || s.PrefixBits != 20 || s.KeyID != f.key.ID() || !s.KeyPinned {
				t.Fatalf("sent: %+v", s)
			}
			valid := gsum.Exposed + gsum.NotExposed
			if s.BlindedElements < int64(len(f.exposed)+len(f.others)) || s.BlindedElements > valid {
				t.Errorf("%d blinded elements for %d distinct and %d valid rows", s.BlindedElements, len(f.exposed)+len(f.others), valid)
			}
			if s.EvalRequests < s.BlindedElements/64 {
				t.Errorf("%d evaluation requests for %d elements of at most 64", s.EvalRequests, s.BlindedElements)
			}
			if s.Prefixes < 100 || s.Prefixes > int64(len(f.exposed)+len(f.others)) {
				t.Errorf("%d prefixes", s.Prefixes)
			}
			if tc.cache == 0 && s.BucketRequests != s.Prefixes {
				t.Errorf("%d bucket requests for %d prefixes: a bucket was fetched twice", s.BucketRequests, s.Prefixes)
			}
		})
	}
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\n got  %q\n want %q", i+1, a, b)
		}
	}
	return "(same lines)"
}

// TestPrivateBatchRateLimited: a server that limits this client makes
// the batch wait (every request pauses for the Retry-After), never fail,
// and the results are still right.
func TestPrivateBatchRateLimited(t *testing.T) {
	f := newPrivateBatchFixture(t, 60)
	// 16 evaluations at once, 60 a second: ~65 elements take 1+ s.
	srv := f.server(t, PrivateHandlerOptions{Rate: 60, Burst: 16, MaxElements: 16})
	input := f.input()
	opts := BatchOptions{Region: "US", Column: "msisdn", ID: "subscriber"}
	want, _ := runLocalBatch(t, f.local, input, opts)
	var told atomic.Int64
	pc := &PrivateClient{BaseURL: srv.URL, MaxWait: time.Minute, MaxRetries: 50}
	got, sum := runPrivateBatch(t, pc, input, PrivateBatchOptions{BatchOptions: opts,
		RateLimited: func(wait time.Duration, msg string) {
			told.Add(1)
			if wait <= 0 || !strings.Contains(msg, "rate limited") {
				t.Errorf("told to wait %v: %q", wait, msg)
			}
		}})
	if got != want {
		t.Errorf("rate-limited private batch differs from the local one:\n%s", firstDiff(got, want))
	}
	if sum.Sent.RateLimited == 0 || told.Load() != sum.Sent.RateLimited {
		t.Errorf("rate limited %d times, told %d times", sum.Sent.RateLimited, told.Load())
	}
}

// TestPrivateBatchNoPrivateMode: a server without private mode fails the
// batch before any row is read.
func TestPrivateBatchNoPrivateMode(t *testing.T) {
	plain := newTestServer(t, 10)
	srv := httptest.NewServer(plain)
	defer srv.Close()
	pc := &PrivateClient{BaseURL: srv.URL}
	_, err := pc.NewBatch(context.Background(), strings.NewReader("+14155550132\n"), "-", PrivateBatchOptions{})
	var se *ServerError
	if !errors.As(err, &se) || se.Status != 404 {
		t.Fatalf("batch against a plain server: %v", err)
	}
}

// TestPrivateBatchTransientErrors: a server that drops connections and
// answers 502 now and then does not cost the run: requests are retried,
// and the results are the local batch's.
func TestPrivateBatchTransientErrors(t *testing.T) {
	f := newPrivateBatchFixture(t, 60)
	h, err := NewPrivateHandler(f.priv, f.key, PrivateHandlerOptions{Rate: -1, MaxElements: 16})
	if err != nil {
		t.Fatal(err)
	}
	// Every request fails the first time it is sent (a 502 or a dropped
	// connection, in turn) and succeeds when retried.
	var (
		mu     sync.Mutex
		seen   = map[string]bool{}
		failed atomic.Int64
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == PrivateQueryPath {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			mu.Lock()
			first := !seen[string(body)]
			seen[string(body)] = true
			mu.Unlock()
			if first {
				if failed.Add(1)%2 == 0 {
					w.WriteHeader(http.StatusBadGateway)
					return
				}
				hj, ok := w.(http.Hijacker)
				if !ok {
					t.Error("no hijacker")
					return
				}
				c, _, _ := hj.Hijack()
				c.Close() // a dropped connection
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	input := f.input()
	opts := BatchOptions{Region: "US", Column: "msisdn", ID: "subscriber"}
	want, _ := runLocalBatch(t, f.local, input, opts)
	pc := &PrivateClient{BaseURL: srv.URL, TransientRetries: 3, firstBackoff: time.Millisecond}
	got, _ := runPrivateBatch(t, pc, input, PrivateBatchOptions{BatchOptions: opts})
	if got != want {
		t.Errorf("private batch through transient errors differs from the local one:\n%s", firstDiff(got, want))
	}
	if failed.Load() == 0 {
		t.Error("no request failed: the test tests nothing")
	}
}

package webclient_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/checker"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/checker/internal/synth"
	"github.com/phonecheck/phonecheck/checker/internal/web/webclient"
	"github.com/phonecheck/phonecheck/checker/phone"
	"github.com/phonecheck/phonecheck/hashset"
)

// fetcher is the page's transport in Go: net/http, and a log of what was
// sent.
type fetcher struct {
	sent []webclient.Request
}

func (f *fetcher) fetch(ctx context.Context, r webclient.Request) (webclient.Response, error) {
	f.sent = append(f.sent, r)
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return webclient.Response{}, err
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return webclient.Response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return webclient.Response{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"),
		RetryAfter: resp.Header.Get("Retry-After"), Body: body}, err
}

// fictional is n valid US numbers of the NXX-555-01XX lines, reserved for
// fiction.
func fictional(n int) []string {
	var out []string
	for area := 201; area <= 999 && len(out) < n; area++ {
		for line := 100; line <= 199 && len(out) < n; line += 7 {
			e := fmt.Sprintf("+1%d5550%d", area, line)
			if _, err := phone.Normalize(e, ""); err == nil {
				out = append(out, e)
			}
		}
	}
	return out
}

type fixture struct {
	nums     []string // [0,300) in leak-a, [200,500) in leak-b, [500,600) in none
	plain    *checker.Checker
	key      *checker.OPRFKey
	priv     *checker.PrivateIndex
	plainURL string
	privURL  string
}

func plainIndex(t *testing.T, nums []string) *hashset.Reader {
	b := hashset.NewBuilder(hashset.Options{KeyScheme: checker.HashScheme})
	g := b.Group("US")
	for _, d := range []struct {
		name   string
		lo, hi int
	}{{"leak-a", 0, 300}, {"leak-b", 200, 500}} {
		id, err := b.AddDataset(hashset.Dataset{Name: d.name, Date: "2026-01", Source: "fiction"})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nums[d.lo:d.hi] {
			b.Add(checker.Key(n), id, g)
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

func newFixture(t *testing.T, popts checker.PrivateHandlerOptions) *fixture {
	t.Helper()
	f := &fixture{nums: fictional(600)}
	if len(f.nums) < 600 {
		t.Fatalf("%d fictional numbers", len(f.nums))
	}
	var err error
	if f.plain, err = checker.New(plainIndex(t, f.nums)); err != nil {
		t.Fatal(err)
	}
	if f.key, err = checker.GenerateOPRFKey(); err != nil {
		t.Fatal(err)
	}
	var sealed bytes.Buffer
	if _, err := checker.Seal(context.Background(), plainIndex(t, f.nums), &sealed, checker.SealOptions{Key: f.key, BucketBits: 12}); err != nil {
		t.Fatal(err)
	}
	r, err := hashset.NewReader(bytes.NewReader(sealed.Bytes()), int64(sealed.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if f.priv, err = checker.NewPrivate(r, f.key); err != nil {
		t.Fatal(err)
	}
	ps, err := checker.NewServer(f.plain, checker.ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	plainSrv := httptest.NewServer(ps)
	t.Cleanup(plainSrv.Close)
	ph, err := checker.NewPrivateHandler(f.priv, f.key, popts)
	if err != nil {
		t.Fatal(err)
	}
	privSrv := httptest.NewServer(ph)
	t.Cleanup(privSrv.Close)
	f.plainURL, f.privURL = plainSrv.URL+"/", privSrv.URL+"/"
	return f
}

func names(ds []checker.Dataset) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Name)
	}
	return out
}

func outcomeNames(o webclient.Outcome) []string {
	var out []string
	for _, d := range o.Datasets {
		out = append(out, d.Name)
	}
	return out
}

// TestSameAnswerAsTheCommand: the page's check and the command's clients
// give the same answer and send the same prefix, for numbers in either
// leak, in both, in none, typed in several ways, against a plain server,
// a private server, and a static export of each.
func TestSameAnswerAsTheCommand(t *testing.T) {
	f := newFixture(t, checker.PrivateHandlerOptions{Rate: -1})
	ctx := context.Background()

	plainDir, privDir := t.TempDir(), t.TempDir()
	if _, err := checker.Export(ctx, f.plain, plainDir, checker.ExportOptions{Bits: []int{12}, Padding: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := checker.ExportPrivate(ctx, f.priv, privDir, checker.PrivateExportOptions{EvaluateURL: f.privURL}); err != nil {
		t.Fatal(err)
	}
	plainCDN := httptest.NewServer(http.FileServer(http.Dir(plainDir)))
	defer plainCDN.Close()
	privCDN := httptest.NewServer(http.FileServer(http.Dir(privDir)))
	defer privCDN.Close()

	var typed []struct{ raw, region string }
	for _, i := range []int{0, 1, 250, 251, 499, 550, 599} {
		e := f.nums[i]
		nat := e[2:]
		typed = append(typed,
			struct{ raw, region string }{e, ""},
			struct{ raw, region string }{fmt.Sprintf("(%s) %s-%s", nat[:3], nat[3:6], nat[6:]), "US"},
			struct{ raw, region string }{"00 1 " + nat, "EG"})
	}
	for _, srv := range []struct {
		name, base string
		private    bool
	}{
		{"plain server", f.plainURL, false},
		{"plain export", plainCDN.URL + "/", false},
		{"private server", f.privURL, true},
		{"private export", privCDN.URL + "/", true},
	} {
		for _, c := range typed {
			fe := &fetcher{}
			got := webclient.Check(ctx, fe.fetch, webclient.Options{Number: c.raw, Region: c.region, Base: srv.base})
			n, err := phone.Normalize(c.raw, c.region)
			if err != nil {
				t.Fatal(err)
			}
			var exposed bool
			var want []string
			var prefix string
			var bits int
			if srv.private {
				// The command's client chooses the length itself, as
				// check --server does.
				pc := &checker.PrivateClient{BaseURL: srv.base}
				res, err := pc.Lookup(ctx, n)
				if err != nil {
					t.Fatalf("%s: command: %v", srv.name, err)
				}
				bits = res.PrefixBits
				exposed, want, prefix = res.Exposed, names(res.Datasets), fmt.Sprintf("%0*X", (bits+3)/4, res.Prefix)
			} else {
				res, err := checker.NewClient(srv.base, nil).Lookup(ctx, n)
				if err != nil {
					t.Fatalf("%s: command: %v", srv.name, err)
				}
				exposed, want, prefix, bits = res.Exposed, names(res.Datasets), res.Prefix, res.Bits
			}
			if got.Status == webclient.StatusError {
				t.Fatalf("%s, %s: page: %+v", srv.name, phone.Redact(n.E164), got.Error)
			}
			if (got.Status == webclient.StatusExposed) != exposed || !slices.Equal(outcomeNames(got), want) {
				t.Errorf("%s, %s: page says %s %v, command %v %v", srv.name, phone.Redact(n.E164), got.Status, outcomeNames(got), exposed, want)
			}
			if got.Sent == nil || got.Sent.Prefix != prefix || got.Sent.Bits != bits {
				t.Errorf("%s, %s: page sent %+v, command %s (%d bits)", srv.name, phone.Redact(n.E164), got.Sent, prefix, bits)
			}
			if got.Number == nil || got.Number.Region != n.Region || got.Number.CountryCode != 1 || got.Number.International == "" {
				t.Errorf("%s: number read as region %v", srv.name, got.Number != nil && got.Number.Region == n.Region) // not the number itself
			}
			// Nothing but the prefix, and blinded elements, left.
			digits := n.E164[1:]
			for _, r := range fe.sent {
				if strings.Contains(r.URL, digits) || strings.Contains(r.URL, digits[1:]) || bytes.Contains(r.Body, []byte(digits)) {
					t.Errorf("%s: the number went out in %s %s", srv.name, r.Method, r.URL)
				}
				if strings.Contains(strings.ToUpper(r.URL), fmt.Sprintf("%016X", checker.Key(n.E164))[:8]) && !srv.private {
					t.Errorf("%s: more than the prefix in %s", srv.name, r.URL)
				}
			}
			if srv.private != (got.Sent.Mode == "private") || srv.private != got.Sent.Verified || srv.private != (got.Sent.BlindedElements == 1) {
				t.Errorf("%s: sent %+v", srv.name, got.Sent)
			}
			if srv.name == "private export" && got.Sent.Evaluator == "" {
				t.Errorf("%s: no evaluator named", srv.name)
			}
			// The private server's document offers decode hints: the
			// page's query carries one for its element, as the command's
			// does. A static export's document does not offer them.
			if srv.private {
				hinted := 0
				for _, r := range fe.sent {
					if r.Method != "POST" {
						continue
					}
					req, err := wire.ParseRequest(r.Body, 1)
					if err != nil {
						t.Fatalf("%s: the page sent a request the server cannot read: %v", srv.name, err)
					}
					if len(req.Elements) > 0 && len(req.Hints) == len(req.Elements) {
						hinted++
					}
				}
				if want := map[bool]int{true: 1, false: 0}[srv.name == "private server"]; hinted != want {
					t.Errorf("%s: %d queries with decode hints, want %d", srv.name, hinted, want)
				}
			}
		}
	}
}

func TestInvalid(t *testing.T) {
	for _, c := range []struct{ raw, region, reason string }{
		{"+20 10", "EG", "too short"},
		{"", "EG", "empty"},
		{"hello", "US", "not a number"},
	} {
		fe := &fetcher{}
		got := webclient.Check(context.Background(), fe.fetch, webclient.Options{Number: c.raw, Region: c.region, Base: "http://127.0.0.1:9/"})
		if got.Status != webclient.StatusInvalid || got.Reason != c.reason {
			t.Errorf("%q in %s: %+v, want invalid (%s)", c.raw, c.region, got, c.reason)
		}
		if len(fe.sent) != 0 {
			t.Errorf("%q: an invalid number sent %d requests", c.raw, len(fe.sent))
		}
	}
}

// TestRetried: digits that are not a valid number of the chosen country
// but are one read as international come back marked, so that the page
// asks whether that country is meant; a number valid in the chosen
// country does not.
func TestRetried(t *testing.T) {
	for i, c := range []struct {
		raw, region string
		retried     bool
	}{
		{"61491570156", "US", true},     // AU, mobile, without its plus
		{"(415) 555-0132", "US", false}, // valid in US
		{"+61 491 570 156", "US", false},
	} {
		out, _, ok := webclient.Describe(c.raw, c.region)
		if !ok || out.Number == nil || out.Number.Retried != c.retried {
			t.Errorf("case %d (under %s): ok %v, retried %v; want retried %v", i, c.region, ok, out.Number != nil && out.Number.Retried, c.retried)
		}
	}
}

// TestErrors: a server down, a rate limit with its wait, a tampered proof
// and a key document that lies each end in an error the page can name.
func TestErrors(t *testing.T) {
	f := newFixture(t, checker.PrivateHandlerOptions{Rate: 1e-3, Burst: 1, MaxElements: 1})
	ctx := context.Background()
	num := f.nums[10]
	check := func(base string) webclient.Outcome {
		fe := &fetcher{}
		return webclient.Check(ctx, fe.fetch, webclient.Options{Number: num, Base: base})
	}

	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL + "/"
	down.Close()
	if got := check(downURL); got.Status != webclient.StatusError || got.Error.Code != webclient.ErrNetwork {
		t.Errorf("server down: %+v", got)
	}

	if got := check(f.privURL); got.Status != webclient.StatusExposed {
		t.Fatalf("first check: %+v %+v", got, got.Error)
	}
	got := check(f.privURL)
	if got.Status != webclient.StatusError || got.Error.Code != webclient.ErrRateLimited || got.Error.RetryAfter < 1 {
		t.Errorf("rate limited: %+v %+v", got, got.Error)
	}

	// A proxy that changes one byte of the proof (at 14+32) or, as a key
	// rotation under way looks, of the answer's key id (at 4).
	f2 := newFixture(t, checker.PrivateHandlerOptions{Rate: -1})
	flipAt := 14 + 32
	tamper := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequest(r.Method, strings.TrimSuffix(f2.privURL, "/")+r.URL.Path, r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if r.Method == "POST" && resp.StatusCode == 200 && len(body) > 14+32+1 {
			body[flipAt] ^= 1
		}
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		w.Write(body)
	}))
	defer tamper.Close()
	if got := check(tamper.URL + "/"); got.Status != webclient.StatusError || got.Error.Code != webclient.ErrProof {
		t.Errorf("tampered proof: %+v %+v", got, got.Error)
	}
	flipAt = 4
	if got := check(tamper.URL + "/"); got.Status != webclient.StatusError || got.Error.Code != webclient.ErrKeyChanged {
		t.Errorf("an answer under another key id: %+v %+v, want key_changed (a rotation, not a forgery)", got, got.Error)
	}
	if got := check(f2.privURL); got.Status != webclient.StatusExposed {
		t.Errorf("untampered: %+v", got)
	}

	// A server that answers 500.
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"internal error"}`, 500)
	}))
	defer broken.Close()
	if got := check(broken.URL + "/"); got.Status != webclient.StatusError || got.Error.Code != webclient.ErrServer || got.Error.Status != 500 {
		t.Errorf("500: %+v %+v", got, got.Error)
	}
}

// TestSmallCountry: a number of a country with few numbers gets an
// answer, with the anonymity said plainly and, from a private server, the
// larger download offered; asking for it sends 8 bits.
func TestSmallCountry(t *testing.T) {
	f := newFixture(t, checker.PrivateHandlerOptions{Rate: -1})
	aw := synth.Numbers(19, 1, map[string]float64{"AW": 1})[0] // a seeded synthetic Aruban number
	if !strings.HasPrefix(aw, "+297") {
		t.Fatalf("synthetic Aruban number %s", phone.Redact(aw))
	}
	fe := &fetcher{}
	got := webclient.Check(context.Background(), fe.fetch, webclient.Options{Number: aw, Base: f.privURL})
	if got.Status != webclient.StatusNotExposed || got.Sent == nil {
		t.Fatalf("Aruba: %+v %+v", got, got.Error)
	}
	s := got.Sent
	if !s.Short || s.Bits != 12 || s.Anonymity < 100 || s.Anonymity > 1000 || s.LargerBits != 8 || s.LargerAnonymity < 1000 ||
		s.LargerBytes < int64(s.Entries)*16*7 || s.LargerBytes > int64(s.Entries)*16*9 {
		t.Errorf("Aruba, private: sent %+v", s)
	}
	// A country with numbers enough: no larger download offered.
	if us := webclient.Check(context.Background(), fe.fetch, webclient.Options{Number: f.nums[0], Base: f.privURL}); us.Sent.Short || us.Sent.LargerBits != 0 {
		t.Errorf("US, private: sent %+v", us.Sent)
	}
	got = webclient.Check(context.Background(), fe.fetch, webclient.Options{Number: aw, Base: f.privURL, PrefixBits: 8})
	if got.Status != webclient.StatusNotExposed || got.Sent.Bits != 8 || got.Sent.Short || got.Sent.LargerBits != 0 || len(got.Sent.Prefix) != 2 {
		t.Errorf("Aruba at 8 bits: %+v %+v", got.Sent, got.Error)
	}
	got = webclient.Check(context.Background(), fe.fetch, webclient.Options{Number: aw, Base: f.plainURL})
	if got.Status != webclient.StatusNotExposed || !got.Sent.Short || got.Sent.Bits != 12 || got.Sent.LargerBits != 0 {
		t.Errorf("Aruba, plain: %+v", got.Sent)
	}
	got = webclient.Check(context.Background(), fe.fetch, webclient.Options{Number: aw, Base: f.plainURL, PrefixBits: 8})
	if got.Status != webclient.StatusError || got.Error.Code != webclient.ErrPrefix {
		t.Errorf("8 bits from a plain server: %+v", got)
	}
}

// TestPatience: as the command, the page waits out a short rate limit and
// retries a 503 without Retry-After, instead of failing at once.
func TestPatience(t *testing.T) {
	f := newFixture(t, checker.PrivateHandlerOptions{Rate: 1, Burst: 1, MaxElements: 1})
	ctx := context.Background()
	fe := &fetcher{}
	for i := range 2 {
		start := time.Now()
		got := webclient.Check(ctx, fe.fetch, webclient.Options{Number: f.nums[i], Base: f.privURL})
		if got.Status != webclient.StatusExposed {
			t.Fatalf("check %d under a 1/s limit: %+v %+v", i, got, got.Error)
		}
		if i == 1 && time.Since(start) < 500*time.Millisecond {
			t.Errorf("the second check did not wait for the limit (%v)", time.Since(start))
		}
	}
	var fails atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fails.Add(1) == 1 {
			http.Error(w, `{"error":"busy"}`, 503)
			return
		}
		req, _ := http.NewRequest(r.Method, strings.TrimSuffix(f.privURL, "/")+r.URL.Path, r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer flaky.Close()
	time.Sleep(1100 * time.Millisecond) // the limit's token back
	if got := webclient.Check(ctx, fe.fetch, webclient.Options{Number: f.nums[3], Base: flaky.URL + "/"}); got.Status != webclient.StatusExposed || fails.Load() < 2 {
		t.Errorf("after one 503: %+v %+v (%d requests)", got, got.Error, fails.Load())
	}
}

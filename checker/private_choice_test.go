package checker

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
)

// Aruba mobile numbers: the library's example number, exposed in the test
// index, and one beside it that is not. Aruba is too small for K at any
// length of the ladder: ~264 valid numbers a 12-bit prefix, ~4,200 an
// 8-bit one.
const (
	testAWExposed = "+2975601234"
	testAWClean   = "+2975601299"
)

// TestPrivateSmallCountry: in private mode an Aruba number is checked at
// the shortest length of the ladder, the result says it falls short of K
// and offers the 8-bit download with its size; asked for, 8 bits are sent
// and the answer is still right. Strict sends nothing.
func TestPrivateSmallCountry(t *testing.T) {
	k, err := GenerateOPRFKey()
	if err != nil {
		t.Fatal(err)
	}
	nums := fictionalSpace()[:3000]
	ix, _ := testPrivateIndex(t, k, 20, testDS{"leak-a", append(nums[:2000], testAWExposed)}, testDS{"leak-b", nums[1500:]})
	s, err := NewServerOf(Indexes{Private: ix, Key: k}, ServerOptions{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var (
		mu   sync.Mutex
		sent []int // prefix bits of each query
	)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == PrivateQueryPath {
			body, _ := io.ReadAll(r.Body)
			if req, err := wire.ParseRequest(body, DefaultMaxElements); err == nil {
				mu.Lock()
				sent = append(sent, req.Bits)
				mu.Unlock()
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		s.ServeHTTP(w, r)
	}))
	defer ts.Close()
	lastSent := func() []int {
		mu.Lock()
		defer mu.Unlock()
		out := sent
		sent = nil
		return out
	}
	ctx := context.Background()
	keys := ix.Index().Len()

	// The default: 12 bits, short of K, the larger download offered.
	pc := &PrivateClient{BaseURL: ts.URL, PublicKey: k.Public()}
	for _, tc := range []struct {
		number  string
		exposed bool
	}{{testAWExposed, true}, {testAWClean, false}} {
		res, err := pc.Check(ctx, tc.number, "")
		if err != nil {
			t.Fatal(err)
		}
		ch := res.Choice
		if res.Exposed != tc.exposed || res.PrefixBits != 12 || ch.Bits != 12 || !ch.Short || ch.Region != "AW" || math.Round(ch.Anonymity) != 264 {
			t.Errorf("%s: exposed %v, %d bits, choice %+v", tc.number[:4], res.Exposed, res.PrefixBits, ch)
		}
		wantBytes := wire.AnswerSize(keys, 20, 8, len(ix.Sets()), true)
		if l := ch.Larger; l == nil || l.Bits != 8 || math.Round(l.Anonymity) != 4219 || l.Bytes != wantBytes || l.Bytes < 1000 {
			t.Errorf("%s: larger %+v, want 8 bits, ~4219 numbers, %d bytes", tc.number[:4], l, wantBytes)
		}
		if s := lastSent(); len(s) != 1 || s[0] != 12 {
			t.Errorf("%s: sent %v bits", tc.number[:4], s)
		}
	}

	// 8 bits asked for: sent, and the answer is right.
	pc8 := &PrivateClient{BaseURL: ts.URL, PublicKey: k.Public(), PrefixBits: LargerPrefixBits}
	for _, tc := range []struct {
		number  string
		exposed bool
	}{{testAWExposed, true}, {testAWClean, false}, {nums[0], true}, {nums[2500], true}} {
		res, err := pc8.Check(ctx, tc.number, "")
		if err != nil {
			t.Fatal(err)
		}
		if res.Exposed != tc.exposed || res.PrefixBits != 8 || res.Prefix != Key(res.Number.E164)>>56 || res.Choice.Larger != nil {
			t.Errorf("%s at 8 bits: exposed %v, %d bits, choice %+v", tc.number[:4], res.Exposed, res.PrefixBits, res.Choice)
		}
		if res.Number.Region == "AW" && (res.Choice.Short || math.Round(res.Choice.Anonymity) != 4219) {
			t.Errorf("%s at 8 bits: choice %+v", tc.number[:4], res.Choice)
		}
		if s := lastSent(); len(s) != 1 || s[0] != 8 {
			t.Errorf("%s at 8 bits: sent %v bits", tc.number[:4], s)
		}
	}

	// Lengths a client does not send, and Strict.
	for _, bits := range []int{10, 24} {
		if _, err := (&PrivateClient{BaseURL: ts.URL, PrefixBits: bits}).Check(ctx, testAWExposed, ""); !errors.Is(err, ErrPrefixNotOffered) {
			t.Errorf("%d bits: %v, want ErrPrefixNotOffered", bits, err)
		}
	}
	if _, err := (&PrivateClient{BaseURL: ts.URL, Strict: true}).Check(ctx, testAWExposed, ""); !errors.Is(err, ErrAnonymity) {
		t.Errorf("strict: %v, want ErrAnonymity", err)
	}
	if s := lastSent(); len(s) != 0 {
		t.Errorf("refused checks sent %v", s)
	}
}

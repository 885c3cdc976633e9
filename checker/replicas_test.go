package checker

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/phonecheck/phonecheck/checker/phone"
)

// TestReplicasAcrossARotation: two replicas behind one round-robin
// balancer, in the middle of a key rotation (each serves its own key and
// the index sealed under it). A client that pinned the old key refuses
// the new one's document before sending anything; an unpinned client
// whose document and answer come from different replicas says that the
// server's key changed, and compares nothing; once both replicas serve
// the same key, every client gets its answers.
func TestReplicasAcrossARotation(t *testing.T) {
	space := fictionalSpace()
	rng := rand.New(rand.NewPCG(5, 6))
	rng.Shuffle(len(space), func(i, j int) { space[i], space[j] = space[j], space[i] })
	var nums []string
	for _, e := range space {
		if _, err := phone.Normalize(e, ""); err == nil {
			nums = append(nums, e)
			if len(nums) == 50 {
				break
			}
		}
	}
	replica := func(k *OPRFKey) *httptest.Server {
		ix, _ := testPrivateIndex(t, k, 16, testDS{"leak-a", nums[:25]})
		h, err := NewPrivateHandler(ix, k, PrivateHandlerOptions{Rate: -1})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv
	}
	oldKey, _ := GenerateOPRFKey()
	newKey, _ := GenerateOPRFKey()
	a, b := replica(oldKey), replica(newKey)
	var backends atomic.Pointer[[2]*httptest.Server]
	backends.Store(&[2]*httptest.Server{a, b})
	var n atomic.Int64
	// Round robin over the key documents; a query goes to the other
	// replica than the last document did, as a balancer may send it.
	var lastDoc atomic.Int64
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		switch {
		case strings.HasSuffix(r.URL.Path, "/v1/private/key"):
			lastDoc.Store(i)
		case r.Method == http.MethodPost:
			i = lastDoc.Load() + 1
		}
		be := backends.Load()[i%2]
		u, _ := url.Parse(be.URL)
		httputil.NewSingleHostReverseProxy(u).ServeHTTP(w, r)
	}))
	defer lb.Close()
	ctx := context.Background()
	num, _ := phone.Normalize(nums[0], "")

	// Pinned to the old key: whichever replica answers the document, a
	// new key is refused before anything is sent.
	for range 4 {
		pc := &PrivateClient{BaseURL: lb.URL, KeyID: oldKey.ID()}
		_, err := pc.Lookup(ctx, num)
		if err != nil && !errors.Is(err, ErrKeyMismatch) {
			t.Fatalf("pinned client: %v", err)
		}
		if err != nil && !strings.Contains(err.Error(), newKey.ID()) {
			t.Errorf("pinned client's refusal does not name the key it saw: %v", err)
		}
	}
	// Unpinned: document from one replica, answer from the other.
	mismatches := 0
	for range 4 {
		pc := &PrivateClient{BaseURL: lb.URL}
		res, err := pc.Lookup(ctx, num)
		switch {
		case errors.Is(err, ErrKeyMismatch):
			mismatches++
			if !strings.Contains(err.Error(), "key changed") {
				t.Errorf("mismatch not said plainly: %v", err)
			}
		case err != nil:
			t.Fatalf("unpinned client: %v", err)
		case !res.Exposed:
			t.Errorf("an answer under the document's key was wrong")
		}
	}
	if mismatches == 0 {
		t.Error("no key change seen across two replicas with two keys: the test did not alternate")
	}
	// The rotation done: both replicas on the new key.
	backends.Store(&[2]*httptest.Server{b, replica(newKey)})
	for range 4 {
		pc := &PrivateClient{BaseURL: lb.URL, KeyID: newKey.ID()}
		res, err := pc.Lookup(ctx, num)
		if err != nil || !res.Exposed || res.KeyID != newKey.ID() {
			t.Fatalf("after the rotation: %+v %v", res, err)
		}
	}
}

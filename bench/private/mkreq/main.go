// Command mkreq writes valid private-mode requests for the load generator
// of bench/private/run.sh: one hex-encoded POST body a line, each the
// prefix and one blinded element of a synthetic number, blinded by
// checker.PrivateClient itself against the key the server publishes.
//
// Numbers are those of bench/range/mkindex (+999 then 1000000000+i, not
// real numbers: 999 is no country code); half of the requests ask about
// one of the first -exposed numbers (in the index), half about numbers
// past them (not in it).
//
// The client is run with an HTTP transport that forwards every request
// to the server and keeps each POST body, so the requests are exactly
// what a real client sends, with no request-building API beyond the
// client's, and every answer is checked by the client (proof, padding,
// match) before timing: an exposed number must be found, any other not,
// or mkreq fails.
package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"sync"

	"github.com/phonecheck/phonecheck/checker"
	"github.com/phonecheck/phonecheck/checker/phone"
)

// capture forwards every request and keeps the POST bodies.
type capture struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.bodies = append(c.bodies, b)
		c.mu.Unlock()
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	return http.DefaultTransport.RoundTrip(r)
}

func main() {
	server := flag.String("server", "http://127.0.0.1:18191", "server whose public key and bucket bits to use")
	n := flag.Int("n", 2048, "requests to write")
	exposed := flag.Int("exposed", 500_000, "numbers in the index (mkindex -n)")
	bits := flag.Int("bits", 0, "prefix bits to send (0: the client's choice for the number's anonymity)")
	out := flag.String("out", "requests.hex", "file to write")
	flag.Parse()
	tr := &capture{}
	pc := &checker.PrivateClient{BaseURL: *server, HTTP: &http.Client{Transport: tr}, PrefixBits: *bits, MaxWait: -1}
	ctx := context.Background()
	cfg, _, err := pc.Config(ctx)
	if err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 0, 16)
	found, prefixBits := 0, 0
	for i := range *n {
		j, want := i/2, true
		if i%2 == 1 {
			j, want = *exposed+i, false
		}
		buf = strconv.AppendInt(append(buf[:0], "+999"...), int64(1_000_000_000+j), 10)
		r, err := pc.Lookup(ctx, phone.Number{E164: string(buf), Region: "ZZ"})
		if err != nil {
			log.Fatalf("mkreq: request %d: %v", i, err)
		}
		if r.Exposed != want || !r.Padded || len(tr.bodies) != i+1 {
			log.Fatalf("mkreq: request %d: exposed %v (want %v), padded %v, %d bodies", i, r.Exposed, want, r.Padded, len(tr.bodies))
		}
		if r.Exposed {
			found++
		}
		prefixBits = r.PrefixBits
	}
	f, err := os.OpenFile(*out+".tmp", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		log.Fatal(err)
	}
	for _, b := range tr.bodies {
		fmt.Fprintln(f, hex.EncodeToString(b))
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	if err := os.Rename(*out+".tmp", *out); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "mkreq: wrote %d requests of %d bytes to %s, every answer checked by the client (%d exposed, as expected; key %s, %d-bit buckets, %d-bit prefixes sent)\n",
		len(tr.bodies), len(tr.bodies[0]), *out, found, cfg.KeyID, cfg.BucketBits, prefixBits)
}

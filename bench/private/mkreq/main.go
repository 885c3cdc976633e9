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
// The client is run with an HTTP transport that forwards GET (the key
// endpoint) to the server and captures each POST body instead of sending
// it, so the requests are exactly what a real client sends, with no
// request-building API beyond the client's.
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

// capture forwards GETs and keeps POST bodies, answering them 418.
type capture struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet {
		return http.DefaultTransport.RoundTrip(r)
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.bodies = append(c.bodies, b)
	c.mu.Unlock()
	return &http.Response{StatusCode: http.StatusTeapot, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader([]byte(`{"error":"captured"}`))), Request: r}, nil
}

func main() {
	server := flag.String("server", "http://127.0.0.1:18191", "server whose public key and bucket bits to use")
	n := flag.Int("n", 2048, "requests to write")
	exposed := flag.Int("exposed", 500_000, "numbers in the index (mkindex -n)")
	bits := flag.Int("bits", 0, "prefix bits (0: the server's bucket bits)")
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
	for i := range *n {
		j := i / 2
		if i%2 == 1 {
			j = *exposed + i
		}
		buf = strconv.AppendInt(append(buf[:0], "+999"...), int64(1_000_000_000+j), 10)
		if _, err := pc.Lookup(ctx, phone.Number{E164: string(buf), Region: "ZZ"}); err == nil {
			log.Fatal("mkreq: a request was answered, not captured")
		}
	}
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	for _, b := range tr.bodies {
		fmt.Fprintln(f, hex.EncodeToString(b))
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "mkreq: wrote %d requests of %d bytes to %s (key %s, %d-bit buckets)\n",
		len(tr.bodies), len(tr.bodies[0]), *out, cfg.KeyID, cfg.BucketBits)
}

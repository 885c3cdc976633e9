// Command migpreq is the MIGP side of bench/private/run.sh: it writes the
// file that fills MIGP's demo server with the benchmark's numbers, and
// MIGP requests for the load generator, built and checked by migp-go's
// own client package.
//
//	migpreq -fill -n 200000 >breach.txt     # one "number:" line each
//	migpreq -server URL -n 2000 -exposed 200000 -out requests.hex
//
// The numbers are those of bench/range/mkindex (+999 then
// 1000000000+i, not real numbers: 999 is no country code), each a MIGP
// username with an empty password, the demo server filled with one entry
// each (run.sh passes -num-variants 0 -username-variant=false and a null
// slow hash). Requests alternate as bench/private/mkreq's do: even ones
// ask about one of the first -exposed numbers, odd ones about numbers
// past them. Before writing, every request is sent once and its answer
// finalized by migp-go's client: an exposed number must come back "in
// breach", any other "not in breach", or migpreq fails.
package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"

	"github.com/cloudflare/migp-go/pkg/migp"
)

func number(buf []byte, i int) []byte {
	return strconv.AppendInt(append(buf[:0], "+999"...), int64(1_000_000_000+i), 10)
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("migpreq: ")
	server := flag.String("server", "http://127.0.0.1:18192", "MIGP demo server")
	n := flag.Int("n", 2000, "requests to write (or, with -fill, numbers)")
	exposed := flag.Int("exposed", 200_000, "numbers the server was filled with")
	fill := flag.Bool("fill", false, "write the fill file to stdout instead")
	out := flag.String("out", "migp-requests.hex", "file to write")
	flag.Parse()
	if *fill {
		w := bufio.NewWriter(os.Stdout)
		buf := make([]byte, 0, 16)
		for i := range *n {
			w.Write(number(buf, i))
			w.WriteString(":\n")
		}
		if err := w.Flush(); err != nil {
			log.Fatal(err)
		}
		return
	}

	resp, err := http.Get(*server + "/config")
	if err != nil {
		log.Fatal(err)
	}
	var cfg migp.Config
	err = json.NewDecoder(resp.Body).Decode(&cfg)
	resp.Body.Close()
	if err != nil {
		log.Fatalf("config: %v", err)
	}
	c, err := migp.NewClient(cfg)
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.OpenFile(*out+".tmp", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		log.Fatal(err)
	}
	w := bufio.NewWriter(f)
	buf := make([]byte, 0, 16)
	var found, size int
	for i := range *n {
		j, want := i/2, migp.InBreach
		if i%2 == 1 {
			j, want = *exposed+i, migp.NotInBreach
		}
		req, st, err := c.Request(number(buf, j), nil)
		if err != nil {
			log.Fatal(err)
		}
		body, err := json.Marshal(req)
		if err != nil {
			log.Fatal(err)
		}
		got, err := check(*server, body, st)
		if err != nil {
			log.Fatalf("request %d: %v", i, err)
		}
		if got != want {
			log.Fatalf("request %d: answer says %q, want %q", i, got, want)
		}
		if got == migp.InBreach {
			found++
		}
		size = len(body)
		fmt.Fprintln(w, hex.EncodeToString(body))
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	if err := os.Rename(*out+".tmp", *out); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %d requests of %d bytes to %s, every answer checked with migp-go's client (%d in breach, as expected; %d-bit buckets)",
		*n, size, *out, found, cfg.BucketIDBitSize)
}

// check sends one request and finalizes its answer with migp-go's client.
func check(server string, body []byte, st migp.ClientRequestContext) (migp.BreachStatus, error) {
	resp, err := http.Post(server+"/evaluate", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	var r migp.ServerResponse
	if err := r.UnmarshalBinary(b); err != nil {
		return 0, err
	}
	status, _, err := st.Finalize(r)
	return status, err
}

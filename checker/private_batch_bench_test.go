package checker

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/checker/phone"
)

// BenchmarkPrivateBatch is private batch throughput: 10,000 synthetic
// messy subscriber rows checked against a private server (an index of
// 100,000 synthetic numbers sealed at 20-bit buckets, served in this
// process over loopback HTTP with no rate limit, 128 elements a request)
// through [PrivateClient.NewBatch], end to end: read, normalize, hash,
// blind, evaluate with proof on the server, verify, unblind, fetch the
// buckets, match, write CSV. Client and server share the machine's cores.
// In the same run it measures two baselines on the same rows: the same
// batch against the plain index the private one was sealed from (what an
// operator holding the index gets), and [PrivateClient.LookupBatch], the
// in-memory private batch (numbers normalized beforehand). It reports
// numbers/s of each and the ratios.
//
//	go test ./checker -run '^$' -bench PrivateBatch -benchtime 1x
func BenchmarkPrivateBatch(b *testing.B) {
	dir := b.TempDir()
	gen := func(name string, opts GenOptions) string {
		p := filepath.Join(dir, name)
		var buf bytes.Buffer
		if _, err := Generate(&buf, opts); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
			b.Fatal(err)
		}
		return p
	}
	leak := gen("leak.txt", GenOptions{Seed: 1, N: 100_000, Format: "txt", Region: "EG"})
	// Half the subscribers are in the leak.
	inLeak := gen("subs-a.txt", GenOptions{Seed: 2, N: 5_000, Format: "txt", Region: "EG"})
	other := gen("subs-b.txt", GenOptions{Seed: 3, N: 5_000, Format: "txt", Region: "EG"})
	var input []byte
	for _, p := range []string{inLeak, other} {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		input = append(input, data...)
	}
	bd, err := Ingest(context.Background(), BuildOptions{Datasets: []DatasetSpec{{Name: "leak", Region: "EG", Files: []string{leak, inLeak}}}})
	if err != nil {
		b.Fatal(err)
	}
	plainPath := filepath.Join(dir, "plain.idx")
	if _, err := bd.WriteFile(plainPath); err != nil {
		b.Fatal(err)
	}
	c, err := Open(plainPath)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	k, err := GenerateOPRFKey()
	if err != nil {
		b.Fatal(err)
	}
	privPath := filepath.Join(dir, "private.idx")
	if _, err := SealFile(context.Background(), c.Index(), privPath, SealOptions{Key: k}); err != nil {
		b.Fatal(err)
	}
	pix, err := OpenPrivate(privPath, k)
	if err != nil {
		b.Fatal(err)
	}
	defer pix.Close()
	h, err := NewPrivateHandler(pix, k, PrivateHandlerOptions{Rate: -1})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	opts := BatchOptions{Region: "EG"}

	// Baseline 1: the same batch against the plain index.
	start := time.Now()
	bt, err := c.NewBatch(bytes.NewReader(input), "subs.txt", opts)
	if err != nil {
		b.Fatal(err)
	}
	lsum, err := bt.Run(context.Background(), io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	bt.Close()
	localRate := float64(lsum.Rows) / time.Since(start).Seconds()

	// Baseline 2: LookupBatch, everything in memory, numbers normalized.
	var ns []phone.Number
	in, err := NewInput(bytes.NewReader(input), "subs.txt", InputOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for {
		rec, err := in.Next()
		if err != nil {
			break
		}
		if n, err := phone.Normalize(rec.Raw, "EG"); err == nil {
			ns = append(ns, n)
		}
	}
	start = time.Now()
	if _, err := (&PrivateClient{BaseURL: srv.URL}).LookupBatch(context.Background(), ns); err != nil {
		b.Fatal(err)
	}
	lookupRate := float64(len(ns)) / time.Since(start).Seconds()

	b.ResetTimer()
	var rows, exposed int64
	var sent *PrivateBatchSent
	for range b.N {
		pc := &PrivateClient{BaseURL: srv.URL, PublicKey: k.Public()}
		bt, err := pc.NewBatch(context.Background(), bytes.NewReader(input), "subs.txt", PrivateBatchOptions{BatchOptions: opts})
		if err != nil {
			b.Fatal(err)
		}
		sum, err := bt.Run(context.Background(), io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		bt.Close()
		if sum.Exposed != lsum.Exposed || sum.Invalid != lsum.Invalid {
			b.Fatalf("private batch: %d exposed %d invalid; local %d %d", sum.Exposed, sum.Invalid, lsum.Exposed, lsum.Invalid)
		}
		rows += sum.Rows
		exposed = sum.Exposed
		sent = sum.Sent
	}
	b.StopTimer()
	rate := float64(rows) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "numbers/s")
	b.ReportMetric(localRate, "local-numbers/s")
	b.ReportMetric(lookupRate, "lookupbatch-numbers/s")
	b.ReportMetric(rate/lookupRate, "x-lookupbatch")
	b.ReportMetric(rate/localRate, "x-local")
	b.ReportMetric(float64(sent.Bytes)/float64(rows), "bytes/number")
	b.Logf("%d rows, %d exposed; sent %d prefixes, %d elements in %d requests", lsum.Rows, exposed, sent.Prefixes, sent.BlindedElements, sent.EvalRequests)
}

package checker

// Batch checks against a private server: an operator's subscriber file
// checked against a remote private index without the numbers leaving the
// operator. The rows, their format and the summary are those of a local
// [Batch]; only the lookup differs.

import (
	"context"
	"io"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/ingest"
	"github.com/phonecheck/phonecheck/checker/internal/privateapi"
)

// PrivateBatchSent says what left the device in a batch against a private
// server: the prefixes of the buckets fetched (bucket-only requests, no
// element) and the blinded elements evaluated (evaluation-only requests,
// no prefix). The server learns the set of prefixes and the number of
// elements, nothing else.
type PrivateBatchSent = privateapi.BatchSent

// PrivateBatchOptions add to [BatchOptions] what a batch against a
// private server needs.
type PrivateBatchOptions struct {
	BatchOptions
	// RateLimited, if set, is called each time the batch waits out a 429
	// (from several goroutines): the server limits the evaluations of
	// this client.
	RateLimited func(wait time.Duration, message string)
}

// OpenBatch opens the input file at path ("-" is standard input) for a
// batch check against the private server. It fetches the server's key
// and parameters first: a server without private mode, or another key
// than the pinned one, fails here, before anything about a number is
// sent and before any output.
//
// Each chunk of rows is normalized and hashed here; its distinct keys are
// blinded and evaluated in evaluation-only requests of up to max_elements
// (BatchSize) elements, and the bucket of each prefix not already held is
// fetched with a bucket-only request (or from a static export), each
// distinct bucket once while the cache (CacheBytes) holds it; up to
// Workers requests are in flight. A 429 is waited out (all requests
// pause for its Retry-After, up to MaxWait, MaxRetries times per request).
func (c *PrivateClient) OpenBatch(ctx context.Context, path string, opts PrivateBatchOptions) (*Batch, error) {
	pb, err := c.client().NewBatcher(ctx, opts.RateLimited)
	if err != nil {
		return nil, err
	}
	in, err := ingest.OpenInput(path, opts.inputOptions())
	if err != nil {
		return nil, err
	}
	return privateBatch(pb, in, opts.BatchOptions)
}

// NewBatch is [PrivateClient.OpenBatch] on a reader; name is used in
// messages.
func (c *PrivateClient) NewBatch(ctx context.Context, r io.Reader, name string, opts PrivateBatchOptions) (*Batch, error) {
	pb, err := c.client().NewBatcher(ctx, opts.RateLimited)
	if err != nil {
		return nil, err
	}
	in, err := ingest.NewInput(r, name, opts.inputOptions())
	if err != nil {
		return nil, err
	}
	return privateBatch(pb, in, opts.BatchOptions)
}

// privateBatch returns the batch engine over in with pb as its lookup;
// the summary says what was sent.
func privateBatch(pb *privateapi.Batcher, in *ingest.Input, opts BatchOptions) (*Batch, error) {
	b, err := pb.Batch(in, opts.engineOptions())
	if err != nil {
		return nil, err
	}
	return &Batch{b: b, sent: pb.Sent}, nil
}

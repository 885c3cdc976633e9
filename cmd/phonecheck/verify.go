package main

import (
	"context"
	"fmt"

	"github.com/phonecheck/phonecheck/hashset"
)

var cmdVerify = &Command{
	Name:      "verify",
	UsageLine: "verify INDEX",
	Short:     "check every checksum and invariant of an index",
	Long: `
Verify reads the whole index and checks every section's checksum and the
structure (sorted keys, provenance in range). Opening an index checks only
its header, so that opening stays fast whatever the size; run verify after
copying an index, or when check reports an error. It exits 1 on any
corruption. (serve checks every checksum itself before it serves an
index; verify also walks the keys for the structure.)
`,
}

func init() { cmdVerify.Run = runVerify }

func runVerify(ctx context.Context, cmd *Command, args []string) error {
	if len(args) != 1 {
		return usagef("want one INDEX, got %d arguments", len(args))
	}
	r, err := hashset.Open(args[0])
	if err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	defer r.Close()
	if err := r.VerifyContext(ctx, 0); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	fmt.Fprintf(stdout, "%s: ok (%d keys, %d sections, %s)\n", args[0], r.Len(), len(r.Sections()), humanBytes(r.Size()))
	return nil
}

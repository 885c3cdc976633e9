package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/phonecheck/phonecheck/checker"
)

var cmdKeygen = &Command{
	Name:      "keygen",
	UsageLine: "keygen --out KEY",
	Short:     "generate the secret key of the private (OPRF) mode",
	Long: `
Keygen writes a new secret key for the private mode (RFC 9497 VOPRF,
ristretto255-SHA512) to KEY, readable by its owner only, and prints its
public key and key id. It never overwrites a file.

The key is what keeps a private index from being harvested: whoever holds
it can test every phone number against the index offline. Keep it on the
server, never in the index's directory on a shared disk. 'phonecheck seal'
and the server refuse a key file that group or others can read.

Rotating the key means generating a new one and sealing the plain index
again under it ('phonecheck seal --key NEW ...'): an index sealed under one
key is useless with another, and the server refuses the pair. Clients that
pinned the old public key must be given the new one.
`,
}

var keygenFlags struct{ out string }

func init() {
	cmdKeygen.SetFlags = func(fs *flag.FlagSet) {
		fs.StringVar(&keygenFlags.out, "out", "", "key file to create (required)")
	}
	cmdKeygen.Run = runKeygen
}

func runKeygen(ctx context.Context, cmd *Command, args []string) error {
	if keygenFlags.out == "" {
		return usagef("--out KEY is required")
	}
	if len(args) != 0 {
		return usagef("keygen takes no arguments")
	}
	k, err := checker.GenerateOPRFKey()
	if err != nil {
		return err
	}
	if err := k.WriteKeyFile(keygenFlags.out, time.Now().UTC().Format(time.RFC3339)); err != nil {
		if errors.Is(err, os.ErrExist) {
			return withHint(err, "keygen never overwrites a key: every index sealed under it would be lost; choose another --out")
		}
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: key id %s\npublic key %x\n", keygenFlags.out, k.ID(), k.Public().Bytes())
	return nil
}

// Command floor measures the physical floor of a build:
// reading a dataset's rows and one SHA-256 per row, one goroutine, no
// normalization. bench/build.sh runs it beside `phonecheck build` on the
// same file and prints the ratio.
package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/phonecheck/phonecheck/checker"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: floor FILE")
		os.Exit(2)
	}
	in, err := checker.OpenInput(os.Args[1], checker.InputOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer in.Close()
	start := time.Now()
	var rows int
	var x byte
	for {
		rec, err := in.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		sum := sha256.Sum256([]byte(rec.Raw))
		x ^= sum[0]
		rows++
	}
	sec := time.Since(start).Seconds()
	fmt.Printf("floor %d rows: %.2f s, %.0f rows/s (%d)\n", rows, sec, float64(rows)/sec, x&0)
}

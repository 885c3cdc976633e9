// Command mkindex writes a synthetic index of N keys for the range
// benchmark (bench/range/run.sh) in a few seconds: keys are the hashes of
// N distinct strings in E.164 shape that are not real numbers (country
// code 999 is unassigned), in two datasets that overlap by a tenth, so
// counts are 1 or 2.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"strconv"

	"github.com/phonecheck/phonecheck/checker"
	"github.com/phonecheck/phonecheck/hashset"
)

func main() {
	n := flag.Int("n", 10_000_000, "keys")
	out := flag.String("out", "bench.idx", "index file to write")
	flag.Parse()
	b := hashset.NewBuilder(hashset.Options{KeyScheme: checker.HashScheme, BloomFPR: -1,
		Info: map[string]string{"phonecheck.synthetic": "bench/range/mkindex"}})
	a, err := b.AddDataset(hashset.Dataset{Name: "synthetic-a", Date: "2026-01", Source: "bench/range/mkindex"})
	if err != nil {
		log.Fatal(err)
	}
	c, err := b.AddDataset(hashset.Dataset{Name: "synthetic-b", Date: "2026-02", Source: "bench/range/mkindex"})
	if err != nil {
		log.Fatal(err)
	}
	g := b.Group("ZZ")
	buf := make([]byte, 0, 16)
	for i := range *n {
		buf = strconv.AppendInt(append(buf[:0], "+999"...), int64(1_000_000_000+i), 10)
		k := checker.Key(string(buf))
		if i%10 != 9 {
			b.Add(k, a, g)
		}
		if i%10 >= 8 {
			b.Add(k, c, g)
		}
	}
	st, err := b.WriteFile(*out)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "mkindex: wrote %d keys to %s (%d bytes)\n", st.Unique, *out, st.Bytes)
}

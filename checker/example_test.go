package checker_test

import (
	"bytes"
	"context"
	"fmt"
	"testing/fstest"

	"github.com/phonecheck/phonecheck/checker"
	"github.com/phonecheck/phonecheck/hashset"
)

func ExampleKey() {
	key := checker.Key("+14155550132")
	fmt.Println(checker.Prefix(key, 20)) // what a range query sends; = printf +14155550132 | sha256sum | cut -c1-5
	// Output:
	// 9E191
}

func ExampleChecker() {
	files := fstest.MapFS{
		"leak.txt": {Data: []byte("+1 415 555 0132\n(415) 555-0133\nnot a number\n")},
	}
	b, err := checker.Ingest(context.Background(), checker.BuildOptions{
		FS:       files,
		Datasets: []checker.DatasetSpec{{Name: "example-leak", Date: "2022-11", Region: "US", Files: []string{"leak.txt"}}},
	})
	if err != nil {
		panic(err)
	}
	var buf bytes.Buffer
	rep, err := b.Write(&buf)
	if err != nil {
		panic(err)
	}
	fmt.Println("rows", rep.Rows, "valid", rep.Valid, "invalid", rep.Invalid[0].Reason, "at line", rep.Invalid[0].First[0].Line)

	idx, err := hashset.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		panic(err)
	}
	c, err := checker.New(idx)
	if err != nil {
		panic(err)
	}
	for _, raw := range []string{"415-555-0133", "415-555-0199"} {
		res, err := c.Check(raw, "US")
		if err != nil {
			panic(err)
		}
		fmt.Println(res.Number.E164, res.Exposed, res.Datasets)
	}
	// Output:
	// rows 3 valid 2 invalid not a number at line 3
	// +14155550133 true [{example-leak 2022-11 }]
	// +14155550199 false []
}

package hashset_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/phonecheck/phonecheck/hashset"
)

func ExampleBuilder() {
	b := hashset.NewBuilder(hashset.Options{KeyScheme: "example-v1"})
	leak, _ := b.AddDataset(hashset.Dataset{Name: "leak-2022", Date: "2022-11"})
	other, _ := b.AddDataset(hashset.Dataset{Name: "other"})
	gb := b.Group("GB")
	b.Add(0x1111_0000_0000_0001, leak, gb)
	b.Add(0x1111_0000_0000_0001, leak, gb) // again in the same dataset
	b.Add(0x1111_0000_0000_0001, other, gb)
	b.Add(0x2222_0000_0000_0002, other, gb)

	dir, _ := os.MkdirTemp("", "hashset")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "index.idx")
	st, err := b.WriteFile(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("added %d, unique %d, repeated within a dataset %d, in several datasets %d\n",
		st.Added, st.Unique, st.DupWithin, st.InSeveral)

	r, err := hashset.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	for _, key := range []uint64{0x1111_0000_0000_0001, 0x3333_0000_0000_0003} {
		datasets, ok := r.Contains(key)
		var names []string
		for _, d := range datasets {
			names = append(names, r.Meta().Datasets[d].Name)
		}
		fmt.Println(ok, names)
	}
	fmt.Println(r.Meta().Groups)
	// Output:
	// added 4, unique 2, repeated within a dataset 1, in several datasets 1
	// true [leak-2022 other]
	// false []
	// map[GB:2]
}

func ExampleReader_Range() {
	b := hashset.NewBuilder(hashset.Options{})
	d, _ := b.AddDataset(hashset.Dataset{Name: "example"})
	for _, k := range []uint64{0xabcde_00000000001, 0xabcde_80000000000, 0xabcdf_00000000000, 0x12345_00000000000} {
		b.Add(k, d, 0)
	}
	dir, _ := os.MkdirTemp("", "hashset")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "index.idx")
	if _, err := b.WriteFile(path); err != nil {
		log.Fatal(err)
	}
	r, err := hashset.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	// Every key whose top 20 bits are 0xabcde: a k-anonymity bucket.
	entries, err := r.Range(0xabcde, 20)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range entries {
		fmt.Printf("%016x %v\n", e.Key, e.Datasets)
	}
	// Output:
	// abcde00000000001 [0]
	// abcde80000000000 [0]
}

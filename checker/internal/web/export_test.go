package web

// Sizes are the module's sizes, plain and in each encoding served.
type Sizes struct{ Raw, Gzip, Brotli int }

// ModuleSizes returns the sizes of s's module, for the benchmarks.
func ModuleSizes(s *Site) Sizes {
	for p, a := range s.assets {
		if len(p) > 5 && p[len(p)-5:] == ".wasm" {
			raw, _ := a.plain()
			return Sizes{len(raw), len(a.gz), len(a.br)}
		}
	}
	return Sizes{}
}

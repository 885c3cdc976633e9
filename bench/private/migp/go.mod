module github.com/phonecheck/phonecheck/bench/private/migp

go 1.26.8

require github.com/cloudflare/migp-go v0.0.0-00010101000000-000000000000

require (
	github.com/bwesterb/go-ristretto v1.2.1 // indirect
	github.com/cloudflare/circl v1.1.1-0.20211202201456-cd788e30354b // indirect
	github.com/spaolacci/murmur3 v1.1.0 // indirect
	golang.org/x/crypto v0.0.0-20211117183948-ae814b36b871 // indirect
	golang.org/x/sys v0.0.0-20211124211545-fe61309f8881 // indirect
)

// MIGP is not on the Go module proxy: bench/private/run.sh builds this
// module with a copy of this file whose replace points at $MIGP_SRC, a
// checkout of cloudflare/migp-go (measured at 8e51683).
replace github.com/cloudflare/migp-go => ./migp-go-checkout

tool github.com/cloudflare/migp-go/cmd/server

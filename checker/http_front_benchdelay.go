package checker

import "time"

// benchDelay is extra work each answer costs a lane: zero, except in a
// build tagged benchdelay (http_front_benchdelay_on.go), where
// bench/range/run.sh sets it to slow phonecheck to nginx's capacity and
// compare the two servers' full-load p99 at the same request rate.
var benchDelay time.Duration

// spin keeps the thread busy for d, as slower request handling would.
func spin(d time.Duration) {
	for t0 := time.Now(); time.Since(t0) < d; {
	}
}

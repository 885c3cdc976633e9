//go:build benchdelay

package checker

import (
	"os"
	"time"
)

func init() {
	d, err := time.ParseDuration(os.Getenv("PHONECHECK_BENCH_DELAY"))
	if err == nil && d > 0 {
		benchDelay = d
	}
}

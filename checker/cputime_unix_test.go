//go:build unix

package checker

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time this process has used (user + system): per
// element it is immune to other processes sharing the cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

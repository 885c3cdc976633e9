// Command hiccup measures how much of the time a thread that wants to
// run does not: it reads the monotonic clock in a tight loop, on a
// thread of its own, and counts the gaps between two reads longer than
// -min. On an idle machine those gaps are the host's doing (other
// processes and kernel threads taking the core, the hypervisor pausing
// the VM), and they bound what any server's p99 can show there: a server
// whose thread loses its core for 5 ms keeps its clients waiting 5 ms.
//
//	taskset -c 0 go run ./bench/range/hiccup -d 2s
//
// It prints one line: the share of the time lost in gaps, their count,
// the longest, and how many were longer than 1 and 2 ms.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"
)

func main() {
	d := flag.Duration("d", 2*time.Second, "how long to measure")
	minGap := flag.Duration("min", 500*time.Microsecond, "shortest gap counted")
	flag.Parse()
	if *d <= 0 || *minGap <= 0 {
		fmt.Fprintln(os.Stderr, "hiccup: -d and -min must be positive")
		os.Exit(2)
	}
	runtime.LockOSThread()
	start := time.Now()
	last := start
	var lost, longest time.Duration
	var n, over1, over2 int
	for {
		now := time.Now()
		if g := now.Sub(last); g >= *minGap {
			n++
			lost += g
			longest = max(longest, g)
			if g > time.Millisecond {
				over1++
			}
			if g > 2*time.Millisecond {
				over2++
			}
		}
		last = now
		if now.Sub(start) >= *d {
			break
		}
	}
	total := last.Sub(start)
	fmt.Printf("%.2f%% of %v lost in %d gaps >= %v (%d > 1 ms, %d > 2 ms), longest %.1f ms\n",
		100*lost.Seconds()/total.Seconds(), total.Round(time.Millisecond), n, *minGap, over1, over2,
		float64(longest.Microseconds())/1000)
}

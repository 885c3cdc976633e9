package main

// Sizes, memory and disk for build --memory: parsing "2GiB", the machine's
// RAM, a directory's free space, and the process's peak RSS.

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// parseSize reads a size in bytes: a number with an optional unit, KiB,
// MiB, GiB, TiB (or K, M, G, T, KB, MB, GB, TB, all powers of 1024).
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || v <= 0 || v*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("%q is not a size (say 2GiB or 512MiB)", s)
	}
	return int64(v * float64(mult)), nil
}

// procValue returns the value in kB of a "Name: N kB" line of a /proc
// file, in bytes, or -1.
func procValue(path, name string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}

// defaultMemory is build's bound on memory without --memory: half of
// the machine's RAM, leaving the rest to the page cache that reading the
// input and writing the index go through, or 4 GiB where RAM is unknown.
func defaultMemory() int64 {
	if total := procValue("/proc/meminfo", "MemTotal"); total > 0 {
		return total / 2
	}
	return 4 << 30
}

// peakRSS returns the process's peak resident set size, or -1 where the
// system does not say.
func peakRSS() int64 { return procValue("/proc/self/status", "VmHWM") }

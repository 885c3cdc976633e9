//go:build gc && !purego

package sha512x8

import "golang.org/x/sys/cpu"

var available = cpu.X86.HasAVX512F

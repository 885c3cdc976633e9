//go:build !unix

package main

// diskFree returns -1: this system's free space is not looked up.
func diskFree(dir string) int64 { return -1 }

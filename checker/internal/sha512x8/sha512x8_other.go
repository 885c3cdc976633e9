//go:build !amd64 || !gc || purego

package sha512x8

const available = false

func compress8(s *State, m *Block, k *[80][Lanes]uint64) { panic("sha512x8: no 8-lane path") }

//go:build !linux

package checker

import (
	"errors"
	"net"
)

// Lanes (the front's event loops) are Linux-only: elsewhere every
// connection is served by a goroutine.

type lane struct{}

func (l *lane) wakeUp() {}

func lanesSupported(net.Listener) bool { return false }

func (f *Front) startLanes() error { return errors.ErrUnsupported }

func (f *Front) acceptLanes(net.Listener) error { return errors.ErrUnsupported }

//go:build !linux

package httpfront

import (
	"errors"
	"net"
)

// Event loops are Linux-only: elsewhere every connection is served by a
// goroutine.

type eventLoop struct{}

func (l *eventLoop) wakeUp() {}

func eventLoopsSupported(net.Listener) bool { return false }

func (s *Server) startEventLoops() error { return errors.ErrUnsupported }

func (s *Server) acceptEventLoops(net.Listener) error { return errors.ErrUnsupported }

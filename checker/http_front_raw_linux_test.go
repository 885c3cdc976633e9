package checker

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		acc <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-acc
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

func TestFrontIORaw(t *testing.T) {
	s, c := tcpPair(t)
	if _, ok := frontIO(s).(*rawIO); !ok {
		t.Fatalf("frontIO(TCP) = %T, want *rawIO", frontIO(s))
	}
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	if got := frontIO(p1); got != io.ReadWriter(p1) {
		t.Fatalf("frontIO(pipe) = %T, want the pipe itself", got)
	}
	rw := frontIO(s)

	// A write far bigger than the socket buffers: the raw write meets
	// EAGAIN and must wait for the reader, then finish, in order.
	big := make([]byte, 8<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	got := make(chan []byte, 1)
	go func() {
		var b bytes.Buffer
		buf := make([]byte, 3000)
		for b.Len() < len(big) {
			time.Sleep(50 * time.Microsecond) // a slow reader
			n, err := c.Read(buf)
			if err != nil {
				break
			}
			b.Write(buf[:n])
		}
		got <- b.Bytes()
	}()
	if n, err := rw.Write(big); n != len(big) || err != nil {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(big))
	}
	if b := <-got; !bytes.Equal(b, big) {
		t.Fatalf("the reader got %d bytes, not the %d written", len(b), len(big))
	}

	// A read that has to wait for the data.
	go func() {
		time.Sleep(20 * time.Millisecond)
		c.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	}()
	buf := make([]byte, 64)
	n, err := rw.Read(buf)
	if err != nil || string(buf[:n]) != "GET / HTTP/1.1\r\n\r\n" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}

	// A deadline ends a waiting read with a timeout, as net.Conn's does.
	s.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	start := time.Now()
	if _, err := rw.Read(buf); !isTimeout(err) {
		t.Fatalf("Read past the deadline: %v, want a timeout", err)
	} else if d := time.Since(start); d < 20*time.Millisecond || d > 5*time.Second {
		t.Fatalf("the deadline ended the read after %v", d)
	}
	s.SetReadDeadline(time.Time{})

	// The peer's close is io.EOF.
	c.Close()
	if _, err := rw.Read(buf); err != io.EOF {
		t.Fatalf("Read after the peer closed: %v, want io.EOF", err)
	}
	// Our own close is net.ErrClosed, for reads and writes.
	s.Close()
	if _, err := rw.Read(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after Close: %v, want net.ErrClosed", err)
	}
	if _, err := rw.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close: %v, want net.ErrClosed", err)
	}
}

// TestFrontIORawReset: a write to a connection the peer reset fails
// with an error, not a hang or a silent success.
func TestFrontIORawReset(t *testing.T) {
	s, c := tcpPair(t)
	c.(*net.TCPConn).SetLinger(0) // close with RST
	c.Close()
	rw := frontIO(s)
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, err = rw.Write(make([]byte, 64<<10))
		time.Sleep(time.Millisecond)
	}
	if err == nil {
		t.Fatal("writes to a reset connection kept succeeding")
	}
}

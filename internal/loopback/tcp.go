package loopback

import (
	"errors"
	"net"
	"sync"
)

// Listener is one net.Listener over two TCP listeners, on 127.0.0.1 and
// on ::1: Accept returns the connections of either.
type Listener struct {
	v4, v6   net.Listener
	accepted chan accepted
	done     chan struct{}
	once     sync.Once
}

// accepted is the result of one Accept of either listener.
type accepted struct {
	c   net.Conn
	err error
}

// ListenTCP listens on 127.0.0.1:0 and [::1]:0, each on a port of its own.
func ListenTCP() (*Listener, error) {
	v4, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	v6, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		v4.Close()
		return nil, err
	}
	l := &Listener{v4: v4, v6: v6, accepted: make(chan accepted), done: make(chan struct{})}
	go l.pump(v4)
	go l.pump(v6)
	return l, nil
}

// pump hands the results of ln's Accept to Accept until ln is closed.
func (l *Listener) pump(ln net.Listener) {
	for {
		c, err := ln.Accept()
		select {
		case l.accepted <- accepted{c, err}:
		case <-l.done:
			if c != nil {
				c.Close()
			}
			return
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// Accept returns the next connection to either address, or the error of
// either listener's Accept (such as running out of descriptors). After
// Close it returns net.ErrClosed.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case a := <-l.accepted:
		return a.c, a.err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close closes both listeners, and unblocks Accept.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return errors.Join(l.v4.Close(), l.v6.Close())
}

// Addr is the address on 127.0.0.1.
func (l *Listener) Addr() net.Addr { return l.v4.Addr() }

// Addr6 is the address on ::1.
func (l *Listener) Addr6() net.Addr { return l.v6.Addr() }

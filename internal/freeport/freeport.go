// Package freeport finds loopback UDP ports that are free at the time of the look, for the
// tests and load tools that start an outside program (SIPp, a PBX under test) which must be
// told its ports on the command line.
//
// A port found free can be taken by someone else before the program binds it; the functions
// only make that unlikely. The usual trap is SIPp's -mp: SIPp binds the given port and the
// ones after it (audio and video RTP and RTCP), and a kernel-chosen port made even often has a
// busy neighbour on a loaded machine — so UDPRun binds every port of the run before it
// answers.
package freeport

import (
	"errors"
	"net"
)

// ErrNoRun is returned when no run of free ports was found in the tries allowed.
var ErrNoRun = errors.New("freeport: no run of free UDP ports found on 127.0.0.1")

var loopback = net.IPv4(127, 0, 0, 1)

// UDP returns a UDP port on 127.0.0.1 that the kernel handed out a moment ago.
func UDP() (int, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: loopback})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// UDPRun returns an even port p such that p, p+1, …, p+n-1 could all be bound on 127.0.0.1 at
// the time of the look (each is bound, then released, before it returns).
func UDPRun(n int) (int, error) {
	for try := 0; try < 50; try++ {
		p, err := UDP()
		if err != nil {
			return 0, err
		}
		base := p &^ 1
		if base == 0 {
			continue
		}
		if bindable(base, n) {
			return base, nil
		}
	}
	return 0, ErrNoRun
}

// bindable binds base … base+n-1 and releases them; it reports whether all could be bound.
func bindable(base, n int) bool {
	var held []*net.UDPConn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for p := base; p < base+n; p++ {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: loopback, Port: p})
		if err != nil {
			return false
		}
		held = append(held, c)
	}
	return true
}

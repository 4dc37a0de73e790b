package freeport

import (
	"net"
	"testing"
)

// A run is even and every port of it can be bound right after; a run with a port held by
// someone else is never returned (control: bindable sees the held port).
func TestUDPRunIsFree(t *testing.T) {
	for _, n := range []int{1, 4} {
		p, err := UDPRun(n)
		if err != nil {
			t.Fatal(err)
		}
		if p%2 != 0 {
			t.Fatalf("UDPRun(%d) = %d: want an even port", n, p)
		}
		if !bindable(p, n) {
			t.Fatalf("UDPRun(%d) = %d: its ports cannot all be bound", n, p)
		}
	}
	p, err := UDPRun(4)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: loopback, Port: p + 3})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if bindable(p, 4) {
		t.Fatalf("ports %d–%d with %d held: bindable, want not", p, p+3, p+3)
	}
}

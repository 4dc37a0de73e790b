package media

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// freeEvenRange finds n consecutive even UDP ports on loopback that are free now, above the
// kernel's ephemeral range (so that other processes' outgoing sockets do not take them).
func freeEvenRange(t *testing.T, n int) int {
	t.Helper()
	for try := 0; try < 100; try++ {
		base := 61000 + 2*rand.IntN(2000)
		var held []*net.UDPConn
		ok := true
		for i := 0; i < n && ok; i++ {
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: base + 2*i})
			if err != nil {
				ok = false
				break
			}
			held = append(held, c)
		}
		for _, c := range held {
			c.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free run of even ports")
	return 0
}

// TestPortsArePickedAtRandom: consecutive calls must not get predictable media ports (the
// RTP Bleed report guessed 41000, 41002, … in order).
func TestPortsArePickedAtRandom(t *testing.T) {
	p, err := NewPortPool(loopback, 61000, 65534)
	if err != nil {
		t.Fatal(err)
	}
	var ports []int
	for i := 0; i < 30; i++ {
		c, port, err := p.Get()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ports = append(ports, port)
	}
	next := 0 // how often a call got the port right after the previous call's
	for i := 1; i < len(ports); i++ {
		if d := ports[i] - ports[i-1]; d == 2 || d == -2 {
			next++
		}
	}
	// ~2250 ports: a random pick lands next to the previous one with probability ~1/1100.
	if next > 3 {
		t.Fatalf("%d of %d consecutive ports are neighbours: %v", next, len(ports)-1, ports)
	}
}

func TestReleasedPortRestsAndEveryPortIsUsed(t *testing.T) {
	base := freeEvenRange(t, 10)
	p, err := NewPortPool(loopback, base, base+19) // 10 even ports
	if err != nil {
		t.Fatal(err)
	}
	c, first, err := p.Get()
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	p.Put(first)
	seen := map[int]bool{}
	var conns []*net.UDPConn
	for i := 0; i < 9; i++ { // the nine others come before the resting one
		c, port, err := p.Get()
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if port == first {
			t.Fatalf("the released port %d came back while %d others were free", first, 9-i)
		}
		seen[port] = true
	}
	c, port, err := p.Get() // only the resting one is left: it is taken rather than refusing
	if err != nil || port != first {
		t.Fatalf("last port %d, %v; want the resting %d", port, err, first)
	}
	conns = append(conns, c)
	if len(seen) != 9 {
		t.Fatalf("%d distinct ports, want 9", len(seen))
	}
	if _, _, err := p.Get(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("exhausted pool: %v, want ErrNoPorts", err)
	}
	for _, c := range conns {
		c.Close()
	}
}

func TestPortHeldElsewhereIsSkipped(t *testing.T) {
	base := freeEvenRange(t, 2)
	p, err := NewPortPool(loopback, base, base+3)
	if err != nil {
		t.Fatal(err)
	}
	held, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: base})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	for i := 0; i < 5; i++ {
		c, port, err := p.Get()
		if err != nil || port != base+2 {
			t.Fatalf("got %d, %v; want %d (%d is held)", port, err, base+2, base)
		}
		c.Close()
		p.Put(port)
	}
}

func TestBadPortRange(t *testing.T) {
	for _, r := range [][2]int{{0, 100}, {2000, 1000}, {1000, 70000}, {1001, 1001}} {
		if _, err := NewPortPool(loopback, r[0], r[1]); !errors.Is(err, ErrPortRange) {
			t.Errorf("%d-%d: %v, want ErrPortRange", r[0], r[1], err)
		}
	}
}

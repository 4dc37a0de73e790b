// Package udpfloor measures this machine's floor for media: the CPU that one loopback UDP
// send plus one receive of an RTP-sized packet costs through Go's net package, with no
// paybridge code, converted to CPU-milliseconds per call-second (a media call moves 50 packets
// in and 50 out each second). paybridge's own cost per call-second is reported as a multiple
// of it (loadtest/capacity).
//
// Two figures: Tight (send then read in one goroutine: the packet is already queued, nothing
// parks — the kernel's and net's cost alone, the floor of issue 17) and Wakeup (a ping-pong
// between two goroutines parked in the netpoller, as a receive loop is when packets come 20 ms
// apart).
package udpfloor

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"syscall"
	"time"
)

// PacketSize is one G.711 RTP packet: a 12-byte header and 20 ms of audio.
const PacketSize = 12 + 160

// PacketsPerCallSecond is what a media call moves each way: one packet every 20 ms.
const PacketsPerCallSecond = 50

// Result is the cost of moving packets through loopback UDP in this process.
type Result struct {
	Mode    string        // "tight" or "wakeup"
	Packets int           // send+receive pairs
	CPU     time.Duration // user+system CPU of the process over the run
	Wall    time.Duration
}

// PairCPU is the CPU one send plus one receive costs.
func (r Result) PairCPU() time.Duration { return r.CPU / time.Duration(max(r.Packets, 1)) }

// PerCallSecond is the floor of a media call: 50 packets in and 50 out each second, so 50
// send+receive pairs, in CPU-milliseconds per call-second.
func (r Result) PerCallSecond() float64 {
	return float64(r.PairCPU()*PacketsPerCallSecond) / float64(time.Millisecond)
}

func (r Result) String() string {
	return fmt.Sprintf("%-6s %9d pairs  %6.2f µs CPU per send+receive  %5.3f CPU-ms per call-second  (%.0f%% of a core)",
		r.Mode, r.Packets, float64(r.PairCPU())/1e3, r.PerCallSecond(), 100*float64(r.CPU)/float64(max(r.Wall, 1)))
}

// cpuTime is this process's user+system time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func pair() (a, b *net.UDPConn, err error) {
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	if a, err = net.ListenUDP("udp", lo); err != nil {
		return nil, nil, err
	}
	if b, err = net.ListenUDP("udp", lo); err != nil {
		a.Close()
		return nil, nil, err
	}
	return a, b, nil
}

// Tight sends n packets from one socket to another and reads each back at once, in one
// goroutine: the packet is already queued when the read comes, so nothing parks. It is the
// kernel's and Go's net package's cost of a sendto and a recvfrom, and nothing else.
func Tight(n int) (Result, error) {
	a, b, err := pair()
	if err != nil {
		return Result{}, err
	}
	defer a.Close()
	defer b.Close()
	to := b.LocalAddr().(*net.UDPAddr).AddrPort()
	pkt := make([]byte, PacketSize)
	buf := make([]byte, 1500)
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < n; i++ {
		if _, err := a.WriteToUDPAddrPort(pkt, to); err != nil {
			return Result{}, err
		}
		if _, _, err := b.ReadFromUDPAddrPort(buf); err != nil {
			return Result{}, err
		}
	}
	return Result{Mode: "tight", Packets: n, CPU: cpuTime() - cpu0, Wall: time.Since(start)}, nil
}

// Wakeup is a ping-pong between two goroutines: each waits in a read (parked in Go's
// netpoller) until the other's packet arrives, as a call's receive loop does when packets come
// 20 ms apart. Every packet costs a send, a receive and a wake-up.
func Wakeup(n int) (Result, error) {
	a, b, err := pair()
	if err != nil {
		return Result{}, err
	}
	defer a.Close()
	defer b.Close()
	toA := a.LocalAddr().(*net.UDPAddr).AddrPort()
	toB := b.LocalAddr().(*net.UDPAddr).AddrPort()
	start, cpu0 := time.Now(), cpuTime()
	errc := make(chan error, 1)
	go func() { errc <- bounce(b, toA, n/2) }()
	if err := serve(a, toB, n/2); err != nil {
		return Result{}, err
	}
	if err := <-errc; err != nil {
		return Result{}, err
	}
	return Result{Mode: "wakeup", Packets: n / 2 * 2, CPU: cpuTime() - cpu0, Wall: time.Since(start)}, nil
}

func serve(c *net.UDPConn, to netip.AddrPort, n int) error {
	pkt := make([]byte, PacketSize)
	buf := make([]byte, 1500)
	for i := 0; i < n; i++ {
		if _, err := c.WriteToUDPAddrPort(pkt, to); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := c.ReadFromUDPAddrPort(buf); err != nil {
			return err
		}
	}
	return nil
}

func bounce(c *net.UDPConn, to netip.AddrPort, n int) error {
	buf := make([]byte, 1500)
	for i := 0; i < n; i++ {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		m, _, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return err
		}
		if _, err := c.WriteToUDPAddrPort(buf[:m], to); err != nil {
			return err
		}
	}
	return nil
}

// Best runs f runs times and keeps the run with the least CPU per pair: other work on a shared
// machine can only make a run cost more, never less.
func Best(f func(int) (Result, error), n, runs int) (Result, error) {
	var rs []Result
	for range max(runs, 1) {
		r, err := f(n)
		if err != nil {
			return Result{}, err
		}
		rs = append(rs, r)
	}
	return slices.MinFunc(rs, func(a, b Result) int { return int(a.PairCPU() - b.PairCPU()) }), nil
}

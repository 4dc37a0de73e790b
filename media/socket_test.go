package media

import (
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

func loopbackUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// flood sends n RTP-sized datagrams to conn, which nobody reads.
func flood(t *testing.T, conn *net.UDPConn, n int) {
	t.Helper()
	tx := loopbackUDP(t)
	defer tx.Close()
	pkt := make([]byte, 172)
	pkt[0] = 0x80
	for i := 0; i < n; i++ {
		if _, err := tx.WriteToUDP(pkt, conn.LocalAddr().(*net.UDPAddr)); err != nil {
			t.Fatal(err)
		}
	}
}

// The kernel's drop counter and queue are read from the socket: a socket nobody reads, with a
// small buffer, holds some datagrams and drops the rest; the control (a socket with room for
// every datagram) drops none and queues them all.
func TestSocketStateCountsKernelDrops(t *testing.T) {
	small := loopbackUDP(t)
	defer small.Close()
	if _, err := SetReceiveBuffer(small, 4096); err != nil {
		t.Fatal(err)
	}
	flood(t, small, 500)
	st, err := ReadSocketState(small)
	if err != nil {
		t.Fatal(err)
	}
	if st.Drops == 0 || st.Queued == 0 {
		t.Fatalf("small buffer flooded with 500 datagrams: %+v, want drops and a queue", st)
	}

	roomy := loopbackUDP(t)
	defer roomy.Close()
	if _, err := SetReceiveBuffer(roomy, 1<<20); err != nil {
		t.Fatal(err)
	}
	flood(t, roomy, 50)
	st, err = ReadSocketState(roomy)
	if err != nil {
		t.Fatal(err)
	}
	if st.Drops != 0 || st.Queued < 50*172 {
		t.Fatalf("control: 50 datagrams into a 1 MiB buffer: %+v, want no drop and all queued", st)
	}
}

// A session reports its socket's drops in Stats and to OnSocketDrops, once each, and the
// final count is taken as it closes.
func TestSessionReportsSocketDrops(t *testing.T) {
	conn := loopbackUDP(t)
	if _, err := SetReceiveBuffer(conn, 4096); err != nil {
		t.Fatal(err)
	}
	var told atomic.Int64
	sched := NewScheduler()
	defer sched.Close()
	m := NewSession(conn, SessionConfig{Scheduler: sched, OnSocketDrops: func(n int64) { told.Add(n) }})
	flood(t, conn, 300)
	m.PollSocket()
	first := m.Stats().SocketDrops
	if first == 0 || told.Load() != first {
		t.Fatalf("after a flood: Stats %d drops, told %d; want the same, not 0", first, told.Load())
	}
	m.PollSocket() // nothing new: nothing told twice
	flood(t, conn, 300)
	kernel, _ := ReadSocketState(conn)
	m.Close()
	if got := m.Stats().SocketDrops; got != kernel.Drops || got <= first || told.Load() != got {
		t.Fatalf("after Close: Stats %d, told %d, the kernel counted %d (first poll %d)", got, told.Load(), kernel.Drops, first)
	}
}

// SetReceiveBuffer reports what the kernel granted: what was asked below net.core.rmem_max,
// the cap above it (so serve can say the sysctl limits it).
func TestSetReceiveBufferReportsTheKernelCap(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Fatal(err)
	}
	rmemMax, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	c := loopbackUDP(t)
	defer c.Close()
	want := min(64<<10, rmemMax)
	if got, err := SetReceiveBuffer(c, want); err != nil || got != want {
		t.Fatalf("asked %d under the cap: granted %d, %v", want, got, err)
	}
	if got, err := SetReceiveBuffer(c, rmemMax*2); err != nil || got != rmemMax {
		t.Fatalf("asked %d over the cap %d: granted %d, %v; want the cap", rmemMax*2, rmemMax, got, err)
	}
}

package media

import (
	"net/netip"
	"testing"
	"time"
)

// The source rules of source.go, packet by packet. farEnd (127.0.0.1:40000) is the SDP
// address of newTestMedia's session and 127.0.0.1 the signalling source.

func sendRun(m *Session, src netip.AddrPort, ssrc uint32, from uint16, n int) {
	for i := 0; i < n; i++ {
		m.receive(pkt(0, from+uint16(i), ssrc), src)
	}
}

func sendTo(m *Session) netip.AddrPort {
	if p := m.remote.Load(); p != nil {
		return *p
	}
	return netip.AddrPort{}
}

func TestLatchOnceFromTheSignallingAddress(t *testing.T) {
	m, st := newTestMedia(t)
	natted := netip.MustParseAddrPort("127.0.0.1:50000")
	sendRun(m, natted, 7, 100, learnAfter)
	if got := sendTo(m); got != natted {
		t.Fatalf("send address %v, want the latched %v", got, natted)
	}
	if got := m.Stats(); got.Latched != natted || got.Foreign != 0 || got.Received != 1 || st.audio != 160 {
		t.Fatalf("after the latch: %+v, audio %d (the probation packets are not foreign; the third is accepted)", got, st.audio)
	}
	// Never a second latch: another port of the same address, in sequence, for a long time.
	other := netip.MustParseAddrPort("127.0.0.1:50002")
	sendRun(m, other, 7, 103, 50)
	if got := sendTo(m); got != natted {
		t.Fatalf("a second source moved the stream to %v", got)
	}
	if got := m.Stats(); got.Foreign != 50 || got.Received != 1 {
		t.Fatalf("second source: %+v, want 50 foreign and nothing more accepted", got)
	}
	// Nor the SDP address itself, once latched elsewhere.
	sendRun(m, farEnd, 7, 153, 5)
	if got := m.Stats(); got.Foreign != 55 || sendTo(m) != natted {
		t.Fatalf("SDP address after the latch: %+v", got)
	}
}

func TestNoLatchOnceTheSDPAddressSent(t *testing.T) {
	m, _ := newTestMedia(t)
	sendRun(m, farEnd, 7, 1, 1) // the caller's first packet locks the source
	sendRun(m, netip.MustParseAddrPort("127.0.0.1:50000"), 7, 2, 20)
	if got := m.Stats(); got.Received != 1 || got.Foreign != 20 || got.Latched.IsValid() || sendTo(m) != farEnd {
		t.Fatalf("%+v, sending to %v", got, sendTo(m))
	}
}

func TestNoLatchFromAnotherAddress(t *testing.T) {
	m, _ := newTestMedia(t)
	sendRun(m, netip.MustParseAddrPort("127.0.0.2:50000"), 7, 1, 20) // not where the signalling came from
	if got := m.Stats(); got.Received != 0 || got.Foreign != 20 || sendTo(m) != farEnd {
		t.Fatalf("%+v, sending to %v", got, sendTo(m))
	}
	// The SDP address is still accepted afterwards.
	sendRun(m, farEnd, 9, 500, 2)
	if got := m.Stats(); got.Received != 2 {
		t.Fatalf("the SDP address after the attempt: %+v", got)
	}
}

func TestStrictModeNeverLatches(t *testing.T) {
	m, _ := newTestMedia(t)
	m.source.strict = true
	sendRun(m, netip.MustParseAddrPort("127.0.0.1:50000"), 7, 1, 20)
	if got := m.Stats(); got.Received != 0 || got.Foreign != 20 || sendTo(m) != farEnd {
		t.Fatalf("%+v, sending to %v", got, sendTo(m))
	}
}

func TestNoLatchAfterTheWindow(t *testing.T) {
	m, _ := newTestMedia(t)
	m.paramsMu.Lock()
	m.sdpAt = time.Now().Add(-latchWindow - time.Second)
	m.paramsMu.Unlock()
	sendRun(m, netip.MustParseAddrPort("127.0.0.1:50000"), 7, 1, 20)
	if got := m.Stats(); got.Received != 0 || got.Foreign != 20 {
		t.Fatalf("%+v", got)
	}
}

func TestAbandonedProbationIsForeign(t *testing.T) {
	m, _ := newTestMedia(t)
	a := netip.MustParseAddrPort("127.0.0.1:50000")
	sendRun(m, a, 7, 1, learnAfter-1) // not yet proven
	m.receive(pkt(0, 9, 7), a)        // out of sequence: the run starts over, the first two were foreign
	if got := m.Stats(); got.Foreign != learnAfter-1 {
		t.Fatalf("foreign %d, want %d", got.Foreign, learnAfter-1)
	}
	sendRun(m, farEnd, 8, 100, 1) // the real caller: the pending candidate was foreign too
	if got := m.Stats(); got.Foreign != learnAfter || got.Received != 1 || got.Latched.IsValid() {
		t.Fatalf("%+v", got)
	}
}

func TestNewSDPAddressStartsOver(t *testing.T) {
	m, _ := newTestMedia(t)
	natted := netip.MustParseAddrPort("127.0.0.1:50000")
	sendRun(m, natted, 7, 1, learnAfter)
	p := m.Params()

	// A refresh naming the same address, and a c=0.0.0.0 hold, keep the latch.
	m.SetParams(p)
	hold := p
	hold.Remote = netip.MustParseAddrPort("0.0.0.0:40000")
	m.SetParams(hold)
	sendRun(m, natted, 7, 4, 3)
	if got := m.Stats(); got.Received != 4 || got.Foreign != 0 || sendTo(m) != natted {
		t.Fatalf("after refresh and hold: %+v, sending to %v", got, sendTo(m))
	}

	// A re-INVITE naming another address: audio goes there, and one new latch is allowed.
	moved := p
	moved.Remote = netip.MustParseAddrPort("127.0.0.1:41000")
	m.SetParams(moved)
	if got := sendTo(m); got != moved.Remote {
		t.Fatalf("after the new SDP sending to %v", got)
	}
	natted2 := netip.MustParseAddrPort("127.0.0.1:50004")
	sendRun(m, natted2, 99, 700, learnAfter)
	if got := m.Stats(); got.Latched != natted2 || sendTo(m) != natted2 {
		t.Fatalf("no new latch after the new SDP: %+v", got)
	}
	sendRun(m, natted, 7, 7, 3) // the old source is foreign now
	if got := m.Stats(); got.Foreign != 3 {
		t.Fatalf("old source after the move: %+v", got)
	}
}

func TestMalformedFromAForeignSourceIsForeign(t *testing.T) {
	m, _ := newTestMedia(t)
	m.dropMalformed(netip.MustParseAddrPort("127.0.0.1:50000"))
	m.dropMalformed(farEnd)
	if got := m.Stats(); got.Dropped != 2 || got.Foreign != 1 {
		t.Fatalf("%+v", got)
	}
}

// TestLockedSourceInEitherForm: the locked source is accepted whether its IPv4 address comes
// plain or mapped into IPv6 (a dual-stack socket), in any order — the packet-by-packet shortcut
// for the locked source takes the form it last saw, the rules the other — and a new SDP
// address makes both forms foreign at once (strict: no latch candidate to hide them).
func TestLockedSourceInEitherForm(t *testing.T) {
	m, _ := newTestMedia(t)
	m.source.strict = true
	mapped := netip.AddrPortFrom(netip.AddrFrom16(farEnd.Addr().As16()), farEnd.Port())
	seq := uint16(1)
	for _, src := range []netip.AddrPort{farEnd, farEnd, mapped, mapped, farEnd, mapped} {
		sendRun(m, src, 7, seq, 1)
		seq++
	}
	if got := m.Stats(); got.Received != 6 || got.Foreign != 0 || got.Dropped != 0 {
		t.Fatalf("the SDP source in both forms: %+v", got)
	}
	p := m.Params()
	p.Remote = netip.MustParseAddrPort("127.0.0.2:41000")
	m.SetParams(p)
	sendRun(m, mapped, 7, seq, 1)
	sendRun(m, farEnd, 7, seq+1, 1)
	if got := m.Stats(); got.Received != 6 || got.Foreign != 2 {
		t.Fatalf("the old source after a new SDP address: %+v", got)
	}
	sendRun(m, p.Remote, 8, 900, 2)
	if got := m.Stats(); got.Received != 8 || got.Foreign != 2 {
		t.Fatalf("the new SDP source: %+v", got)
	}
}

package media

import (
	"net/netip"
	"time"
)

// Where a session's media may come from (the defence against "RTP Bleed": keypresses
// injected into someone else's call from another address, and the call's audio stolen by the
// same trick).
//
// The SDP names one address and port. Packets from exactly that address are the session's
// media; the first one locks the source for good. Anything else is foreign: dropped and
// counted, whatever its SSRC and sequence numbers. The one exception is symmetric-RTP
// latching, for a caller whose packets do not come from the address its SDP names (behind NAT
// the SDP names a private address, or the right address with a port the NAT does not keep; a
// multi-homed host names one interface and sends from another):
//
//   - never in strict mode (SessionConfig.StrictRTP);
//   - only while nothing has been accepted: once a packet from the SDP address arrived there
//     is no need, and no latch;
//   - only early: within latchWindow of the SDP arriving (or of the session starting);
//   - only from the IP address the signalling came from (SessionConfig.SignalIP; any port:
//     NAT maps ports);
//   - only after learnAfter consecutive in-sequence packets of one SSRC from that address;
//   - only once: a latched source is locked like the SDP one. Only new Params whose SDP names
//     another address (a re-INVITE or UPDATE) start the rules over.
//
// The sender uses the same decision: audio goes to the SDP address until a latch moves it.

// learnAfter is how many consecutive in-sequence packets of one SSRC it takes to latch onto
// a NAT-mapped source, or to adopt a new SSRC from the locked source (re-INVITEs and
// transfers change it).
const learnAfter = 3

// latchWindow is how long after the SDP (or the start) a latch may happen.
const latchWindow = 5 * time.Second

// sourceVerdict is what to do with a packet, by where it came from.
type sourceVerdict int

const (
	sourceAccept    sourceVerdict = iota // the call's media peer
	sourceForeign                        // anyone else: drop and count
	sourceProbation                      // a plausible NAT mapping not yet proven: drop, count if it never latches
	sourceLatched                        // the probation just ended: this packet and the source are accepted
)

// sourceGuard holds the source decision of one session. Only the RTP reader touches it.
type sourceGuard struct {
	strict bool
	sigIP  netip.Addr // where the session's signalling came from

	gen     uint64         // the SDP generation the state below belongs to
	sdp     netip.AddrPort // the address the SDP names (invalid or unspecified: none)
	peer    netip.AddrPort // the accepted source: the SDP address, or the latched one
	until   time.Time      // latching is allowed before this
	locked  bool           // a packet was accepted: the source no longer changes
	latched bool

	cand     netip.AddrPort
	candSSRC uint32
	candSeq  uint16
	candN    int
}

// reset starts the rules over for a new SDP address.
func (g *sourceGuard) reset(gen uint64, sdp netip.AddrPort, since time.Time) (abandoned int) {
	abandoned = g.dropCandidate()
	g.gen, g.sdp, g.until = gen, sdp, since.Add(latchWindow)
	g.peer = netip.AddrPort{}
	if usableAddr(sdp) {
		g.peer = sdp
	}
	g.locked, g.latched = false, false
	return abandoned
}

// dropCandidate forgets a latch candidate and returns how many packets it had (they were
// foreign after all).
func (g *sourceGuard) dropCandidate() int {
	n := g.candN
	g.cand, g.candN = netip.AddrPort{}, 0
	return n
}

// check classifies a packet from src. abandoned is the number of earlier probation packets
// that turned out foreign (a candidate given up).
func (g *sourceGuard) check(src netip.AddrPort, ssrc uint32, seq uint16, now time.Time) (v sourceVerdict, abandoned int) {
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	if g.peer.IsValid() && src == g.peer {
		g.locked = true
		return sourceAccept, g.dropCandidate()
	}
	if !g.mayLatch(src, now) {
		return sourceForeign, g.dropCandidate()
	}
	if src == g.cand && ssrc == g.candSSRC && seq == g.candSeq+1 {
		g.candN++
	} else {
		abandoned = g.dropCandidate()
		g.cand, g.candSSRC, g.candN = src, ssrc, 1
	}
	g.candSeq = seq
	if g.candN < learnAfter {
		return sourceProbation, abandoned
	}
	g.peer, g.locked, g.latched = src, true, true
	g.cand, g.candN = netip.AddrPort{}, 0
	return sourceLatched, abandoned
}

// mayLatch reports whether src may still become the call's source.
func (g *sourceGuard) mayLatch(src netip.AddrPort, now time.Time) bool {
	if g.strict || g.locked || !now.Before(g.until) || !g.sigIP.IsValid() {
		return false
	}
	return src.Addr() == g.sigIP
}

// usableAddr reports whether ap names a real destination.
func usableAddr(ap netip.AddrPort) bool {
	return ap.IsValid() && !ap.Addr().IsUnspecified() && ap.Port() != 0
}

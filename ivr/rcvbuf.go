package ivr

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"

	"github.com/paybridge/paybridge/media"
)

// ReceiveBuffers are the UDP receive buffers (SO_RCVBUF) the server asked for and what the
// kernel granted. Granted below Requested means net.core.rmem_max caps it: raise that sysctl
// (docs/operations.md) or bursts the buffer cannot hold are dropped by the kernel (counted in
// paybridge_udp_socket_drops_total).
type ReceiveBuffers struct {
	RTPRequested int `json:"rtp_requested"`
	RTPGranted   int `json:"rtp_granted"`
	SIPRequested int `json:"sip_requested"`
	SIPGranted   int `json:"sip_granted"`
}

// Capped reports whether the kernel granted less than was asked on either socket.
func (b ReceiveBuffers) Capped() bool {
	return b.RTPGranted < b.RTPRequested || b.SIPGranted < b.SIPRequested
}

// ReceiveBuffers reports the receive buffers asked for and granted.
func (s *Server) ReceiveBuffers() ReceiveBuffers { return s.bufs }

// sizeReceiveBuffers sets the SIP socket's buffer, makes the port pool ask for the RTP one on
// every call socket (measured once on a probe socket: every socket gets the same grant), and
// logs the kernel's cap when it bites.
func (s *Server) sizeReceiveBuffers(bindIP netip.Addr) {
	if want := s.cfg.SIPReceiveBuffer; want > 0 && s.udpConn != nil {
		s.bufs.SIPRequested = want
		s.bufs.SIPGranted, _ = media.SetReceiveBuffer(s.udpConn, want)
	}
	if want := s.cfg.RTPReceiveBuffer; want > 0 {
		s.ports.SetReceiveBuffer(want)
		s.bufs.RTPRequested = want
		if probe, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(bindIP, 0))); err == nil {
			s.bufs.RTPGranted, _ = media.SetReceiveBuffer(probe, want)
			probe.Close()
		}
	}
	b := s.bufs
	if b.Capped() {
		s.log.Warn("the kernel caps UDP receive buffers below the size asked for (raise net.core.rmem_max)",
			"sip_requested", b.SIPRequested, "sip_granted", b.SIPGranted,
			"rtp_requested", b.RTPRequested, "rtp_granted", b.RTPGranted)
	}
}

// retryAfter is the Retry-After of a 503 for capacity: 3 to 8 seconds, spread so that the
// callers refused together do not all come back together.
func (s *Server) retryAfter() string { return strconv.Itoa(3 + rand.IntN(6)) }

package callgen

import (
	"errors"
	"net/netip"
	"time"
)

// DTMF modes.
const (
	RFC4733 = "rfc4733"
	Inband  = "inband"
)

// Config is one load run.
type Config struct {
	Target netip.AddrPort // the endpoint's SIP address (UDP)
	User   string         // the dialled number (Request-URI user)
	From   string         // the caller's number (default +447700900123)
	Calls  int            // calls to place
	Rate   float64        // new calls per second
	Keys   string         // keys every caller presses (0-9 * # A-D)
	DTMF   string         // RFC4733 (default) or Inband
	// SRTP offers RTP/SAVP with an SDES key (AES_CM_128_HMAC_SHA1_80) and encrypts every packet
	// with it; the answer must accept it.
	SRTP bool
	Lead time.Duration // silence before the first key (default 1 s)
	// ByeWait bounds the wait for the far end's BYE after the stream ended (default 30 s, as
	// the SIPp scenario); then the caller hangs up and the call counts as timed out.
	ByeWait time.Duration
	// Sockets is how many RTP sockets the calls share (default 2).
	Sockets int
	LocalIP netip.Addr // default 127.0.0.1
}

func (c *Config) defaults() error {
	if !c.Target.IsValid() {
		return errors.New("callgen: no target")
	}
	if c.Calls <= 0 || c.Rate <= 0 {
		return errors.New("callgen: calls and rate must be positive")
	}
	if c.From == "" {
		c.From = "+447700900123"
	}
	if c.DTMF == "" {
		c.DTMF = RFC4733
	}
	if c.DTMF != RFC4733 && c.DTMF != Inband {
		return errors.New("callgen: dtmf must be rfc4733 or inband")
	}
	if c.Lead <= 0 {
		c.Lead = time.Second
	}
	if c.ByeWait <= 0 {
		c.ByeWait = 30 * time.Second
	}
	if c.Sockets <= 0 {
		c.Sockets = 2
	}
	if !c.LocalIP.IsValid() {
		c.LocalIP = netip.MustParseAddr("127.0.0.1")
	}
	return nil
}

// Result is what the generator saw.
type Result struct {
	Placed    int // INVITEs sent
	Answered  int // 200 OK
	Refused   int // 503 Service Unavailable
	Rejected  int // any other final response ≥ 300
	Failed    int // no final response, bad answer SDP, transport errors
	FarBye    int // answered calls the endpoint hung up
	TimedOut  int // answered calls with no BYE within ByeWait after the stream (we hung up)
	Completed int // answered calls whose whole stream was sent before the BYE

	PeakConcurrent int
	CallSeconds    float64 // sum over answered calls of answer → end
	RTPSent        int64
	RTPReceived    int64
	SendCalls      int64         // sendmmsg calls (RTPSent/SendCalls = packets per system call)
	TickLateMax    time.Duration // the most a tick came after the 20 ms it was due
	TicksLate      int64         // ticks that came a whole tick late or more (the generator was starved)
	Elapsed        time.Duration
}

package ivr

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/media"
)

// CallHandler runs one answered call. The call is up when it is invoked; when it returns the
// server hangs up (if the call is still up) and releases the media.
type CallHandler func(ctx context.Context, call *Call)

// Router picks the handler for a dialled number (the Request-URI user). A false result is
// answered 404, exactly like a number that is routed but refused, so callers cannot probe
// which numbers exist.
type Router interface {
	Route(to string) (CallHandler, bool)
}

// RouterFunc adapts a function to Router.
type RouterFunc func(to string) (CallHandler, bool)

// Route calls f(to).
func (f RouterFunc) Route(to string) (CallHandler, bool) { return f(to) }

// PromptSource resolves a prompt name to 8 kHz mono 16-bit PCM. The prompts package's set
// satisfies it; a PromptFunc adapts anything else.
type PromptSource interface {
	PCM(name string) ([]int16, error)
}

// PromptFunc adapts a function to PromptSource.
type PromptFunc func(name string) ([]int16, error)

// PCM calls f(name).
func (f PromptFunc) PCM(name string) ([]int16, error) { return f(name) }

// Metrics receives the counters the server keeps. Every method must be cheap and safe for
// concurrent use; labels are fixed strings, never caller data.
type Metrics interface {
	CallStarted()
	CallEnded(cause string)
	SIPResponse(method string, code int)
	RTPPackets(received, lost int)
	// RTPForeign counts datagrams dropped on a call's media port because they came from an
	// address other than the call's media peer (called as they are dropped).
	RTPForeign(n int)
	// SRTPDropped counts an SRTP packet dropped for failing authentication (replay=false) or
	// as a replay (called as it is dropped; never logged per packet).
	SRTPDropped(replay bool)
	Digit(source dtmf.Source)
	// CallRefused counts a new call answered 503 for capacity; reason is one of the Refused*
	// constants.
	CallRefused(reason string)
	// SocketDrops counts datagrams the kernel dropped because a socket's receive queue was
	// full; socket is "rtp" (a call's media port) or "sip".
	SocketDrops(socket string, n int64)
}

// NopMetrics discards everything.
type NopMetrics struct{}

func (NopMetrics) CallStarted()              {}
func (NopMetrics) CallEnded(string)          {}
func (NopMetrics) SIPResponse(string, int)   {}
func (NopMetrics) RTPPackets(int, int)       {}
func (NopMetrics) RTPForeign(int)            {}
func (NopMetrics) Digit(dtmf.Source)         {}
func (NopMetrics) CallRefused(string)        {}
func (NopMetrics) SocketDrops(string, int64) {}
func (NopMetrics) SRTPDropped(bool)          {}

// Config configures a Server. Zero values take the documented defaults.
type Config struct {
	// SIPAddr is the UDP and TCP listen address (default "0.0.0.0:5060"; port 0 = any free
	// port, the same number for UDP and TCP).
	SIPAddr string
	// TLSAddr is the SIP over TLS listen address ("" = no TLS listener; port 0 = any free
	// port). A call that arrives on TLS is answered with a Contact that brings its in-dialog
	// requests back on TLS (sips: when the caller's Contact is sips:, else transport=tls), and
	// its in-dialog requests are accepted on TLS only: there is no plaintext fallback.
	TLSAddr string
	// TLS configures the TLS listener: certificate, chain, client verification (a
	// tlsconf.Server's Config reloads them). Required with TLSAddr; MinVersion must be TLS 1.2
	// or later.
	TLS *tls.Config
	// SRTP is the media encryption policy of new calls, by the transport they came on.
	SRTP SRTPPolicies
	// PlanSRTP, when set, is the policy of the plan a dialled number reaches (callplan's
	// <CallPlan srtp>): the stricter of it and SRTP's applies to the call.
	PlanSRTP func(to string) media.SRTPPolicy
	// PublicIP goes into Contact and SDP c=/o=. Default: the SIPAddr host, or the first
	// non-loopback address when SIPAddr is unspecified.
	PublicIP netip.Addr
	// RTPPortMin..RTPPortMax is the RTP port range (even ports, picked at random; default
	// 10000-20000).
	RTPPortMin, RTPPortMax int
	// StrictRTP accepts a call's media only from the address and port its SDP names: no
	// symmetric-RTP latching, so callers behind NAT that do not fix their SDP get no audio
	// and no keypresses through. Off, a call may latch once, early, onto a NAT mapping of
	// the signalling source's address (see media/source.go and docs/sip.md).
	StrictRTP bool

	// Router selects the handler of each call. Required.
	Router Router
	// Prompts resolves prompt names for Call.Play. Default: every prompt is unknown.
	Prompts PromptSource
	// NewDTMF creates the per-call merged keypress detector: the call's media session feeds
	// it audio, losses, RFC 4733 events and SIP INFO bodies, and each keypress comes out once
	// through onDigit. Default: dtmf.NewStream.
	NewDTMF func(onDigit func(dtmf.Event)) media.DTMFStream
	// NewMasker creates the per-call recording masker (default dtmf.NewMasker with its
	// defaults: 60 ms look-ahead).
	NewMasker func() media.Masker

	// RecordDir is where recordings go (one WAV per call, masked). Record turns recording on
	// for every call; a handler may also call Call.Record.
	RecordDir string
	Record    bool

	// MediaTimeout hangs a call up when no RTP arrives for this long while the far end is
	// supposed to send (default 30s; negative disables).
	MediaTimeout time.Duration
	// RingTime is how long a call rings (180) before it is answered (default 0).
	RingTime time.Duration
	// MaxCalls is the ceiling of calls in progress: new calls beyond it are answered 503. 0
	// (the default) makes it automatic: the RTP ports of the range. Below the ceiling the
	// admission controller (admission.go) holds new calls to what the media health allows.
	MaxCalls int
	// FixedLimit holds new calls to MaxCalls alone: the admission controller still measures
	// and reports the media health but never moves the limit. It is a measurement mode
	// (serve --admission fixed, loadtest/capacity -fixed: a memory or CPU figure per call
	// needs a known number of calls up on a shared machine), never for production: a node
	// with it keeps accepting calls whose media it cannot serve. Ignored when MaxCalls is 0.
	FixedLimit bool
	// RTPReceiveBuffer and SIPReceiveBuffer are the receive buffers requested on each call's
	// RTP socket and on the SIP UDP socket (SO_RCVBUF; defaults media.DefaultRTPReceiveBuffer
	// and media.DefaultSIPReceiveBuffer; negative: the kernel's default). The kernel caps
	// them at net.core.rmem_max: NewServer logs the cap when it bites (ReceiveBuffers).
	RTPReceiveBuffer, SIPReceiveBuffer int

	// RateLimit is the number of new SIP transactions per second allowed per source address
	// (0 = off); RateBurst the bucket size (default 2×RateLimit). Sources in AllowList are
	// never limited.
	RateLimit float64
	RateBurst int
	AllowList []netip.Prefix

	// TCP bounds SIP over TCP: connections in total and per source, and how long one may go
	// without a complete message (half-open and slow connections). Zero fields: DefaultTCPLimits.
	TCP TCPLimits

	// UserAgent is the Server/User-Agent header value (default "paybridge").
	UserAgent string
	// Logger receives structured logs (default slog.Default()). Digits never reach it.
	Logger *slog.Logger
	// Metrics receives counters (default NopMetrics).
	Metrics Metrics
}

// SRTPPolicies are the media encryption policies of calls by the SIP transport they arrive
// on. The zero value is off everywhere (plain RTP only).
type SRTPPolicies struct {
	UDP, TCP, TLS media.SRTPPolicy
}

// AllSRTP is the same policy on every transport.
func AllSRTP(p media.SRTPPolicy) SRTPPolicies { return SRTPPolicies{UDP: p, TCP: p, TLS: p} }

// For is the policy of a call that came on transport ("UDP", "TCP", "TLS").
func (p SRTPPolicies) For(transport string) media.SRTPPolicy {
	switch strings.ToUpper(transport) {
	case "TLS":
		return p.TLS
	case "TCP":
		return p.TCP
	}
	return p.UDP
}

package ivr

import (
	"bytes"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// scannerAgents are User-Agent fragments of SIP scanners (SIPVicious and its clones). Their
// requests are dropped before parsing: no answer, no cost, nothing learnt.
var scannerAgents = [][]byte{
	[]byte("friendly-scanner"), []byte("sipvicious"), []byte("sipcli"), []byte("sip-scan"),
	[]byte("sundayddr"), []byte("iwar"), []byte("sipsak"), []byte("pplsip"), []byte("vaxsipuseragent"),
}

// inDialog methods are never rate limited: they belong to calls already admitted.
var inDialog = map[sip.RequestMethod]bool{
	sip.ACK: true, sip.BYE: true, sip.CANCEL: true, sip.INFO: true, sip.UPDATE: true,
	sip.PRACK: true, sip.NOTIFY: true, sip.REFER: true,
}

// rateLimiter is a token bucket per source address for new SIP transactions.
type rateLimiter struct {
	rate  float64
	burst float64
	allow []netip.Prefix

	mu      sync.Mutex
	buckets map[netip.Addr]*bucket
	sweep   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(rate float64, burst int, allow []netip.Prefix) *rateLimiter {
	b := float64(burst)
	if b <= 0 {
		b = 2 * rate
	}
	if b < 1 {
		b = 1
	}
	return &rateLimiter{rate: rate, burst: b, allow: allow, buckets: map[netip.Addr]*bucket{}}
}

func (l *rateLimiter) allowed(a netip.Addr) bool {
	for _, p := range l.allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// admit decides whether a request from src may cost us anything. ua is the raw message (or
// its User-Agent line); method is "" when not yet parsed.
func (l *rateLimiter) admit(src netip.Addr, raw []byte, method sip.RequestMethod) bool {
	if l.allowed(src) {
		return true
	}
	if isScanner(raw) {
		return false
	}
	if l.rate <= 0 || inDialog[method] {
		return true
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweep) > time.Minute && len(l.buckets) > 1024 {
		for a, b := range l.buckets {
			if now.Sub(b.last) > time.Minute {
				delete(l.buckets, a)
			}
		}
		l.sweep = now
	}
	b := l.buckets[src]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[src] = b
	}
	b.tokens += now.Sub(b.last).Seconds() * l.rate
	if b.tokens > l.burst {
		b.tokens = l.burst
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func isScanner(raw []byte) bool {
	i := indexFold(raw, []byte("user-agent:"))
	if i < 0 {
		return false
	}
	line := raw[i:]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	for _, s := range scannerAgents {
		if indexFold(line, s) >= 0 {
			return true
		}
	}
	return false
}

// indexFold is a case-insensitive bytes.Index for ASCII needles in lower case.
func indexFold(h, needle []byte) int {
	n := len(needle)
	for i := 0; i+n <= len(h); i++ {
		ok := true
		for j := 0; j < n; j++ {
			c := h[i+j]
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != needle[j] {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	return -1
}

// readFilter runs on every UDP datagram before sipgo parses it.
func (s *Server) readFilter(p sip.TransportReadProps, data []byte) ([]byte, error) {
	if p.Transport != "UDP" && p.Transport != "udp" {
		return data, nil // TCP chunks are not messages; the handler guard covers TCP
	}
	ua, ok := p.RemoteAddr.(*net.UDPAddr)
	if !ok {
		return data, nil
	}
	method := sip.RequestMethod("")
	if sp := bytes.IndexByte(data, ' '); sp > 0 && sp < 16 {
		method = sip.RequestMethod(data[:sp])
	}
	if method == "SIP/2.0" {
		return data, nil // a response
	}
	if !s.limit.admit(ua.AddrPort().Addr().Unmap(), data, method) {
		return nil, nil
	}
	if s.answerCutBody(data, ua) {
		return nil, nil
	}
	return data, nil
}

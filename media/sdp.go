package media

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// SessionSDP is what paybridge understands of a session description (an offer or an answer):
// the origin, the session-level connection address and direction, and every m-line in order.
// It is produced by ParseSDP from pion/sdp's strict parser or, when that refuses a body that
// real phones send (misordered lines), from a lenient line parser.
type SessionSDP struct {
	OriginUser    string
	OriginID      uint64
	OriginVersion uint64
	Conn          string // session-level c= address; "" when absent
	Direction     string // session-level direction attribute; "" when absent
	Media         []SDPMedia
	// Lenient is true when the strict parser refused the body and the fallback parsed it.
	Lenient bool
}

// SDPMedia is one m-line with the attributes paybridge uses.
type SDPMedia struct {
	Media     string   // "audio", "video", "application", …
	Port      int      // 0 = disabled stream
	Proto     string   // "RTP/AVP", "RTP/SAVP", "UDP/TLS/RTP/SAVPF", …
	Formats   []string // payload types (or format tokens) in the offer's order
	Conn      string   // media-level c= address; "" = the session's
	Direction string   // "sendrecv", "sendonly", "recvonly", "inactive"; "" when absent
	PTime     int      // a=ptime in ms; 0 when absent
	RTPMap    map[int]string
	Fmtp      map[int]string
	// Crypto are the stream's SDES a=crypto lines in order (RFC 4568), usable or not (Err).
	// Their keys are secret: Zero overwrites them once the description has served.
	Crypto []Crypto
}

// Secure reports whether the m-line's transport is SRTP (RTP/SAVP or RTP/SAVPF).
func (m *SDPMedia) Secure() bool { return m.Proto == "RTP/SAVP" || m.Proto == "RTP/SAVPF" }

// Zero overwrites every SDES key of the description (its a=crypto lines). A description
// whose keys were handed to a Session is zeroed when it is no longer needed; the session
// keeps its own copies.
func (s *SessionSDP) Zero() {
	if s == nil {
		return
	}
	for i := range s.Media {
		for j := range s.Media[i].Crypto {
			s.Media[i].Crypto[j].Zero()
		}
	}
}

// Directions of a media stream (RFC 3264 section 6.1).
const (
	SendRecv = "sendrecv"
	SendOnly = "sendonly"
	RecvOnly = "recvonly"
	Inactive = "inactive"
)

// maxCryptoLines bounds the a=crypto lines read per m-line (an offer has one per suite).
const maxCryptoLines = 16

// MaxSDPSize bounds what ParseSDP reads (a larger body is ErrSDPMalformed); a real audio offer
// is well under 2 KB.
const MaxSDPSize = 16 << 10

// ParseSDP parses an SDP body. It tries pion/sdp first; when pion refuses the body (pion is
// strict about line order, and real offers put t= after c= or a= before s=), it falls back to
// a lenient line parser that accepts lines in any order. A body neither accepts is
// ErrSDPMalformed with the reason.
func ParseSDP(body []byte) (*SessionSDP, error) {
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrSDPMalformed)
	}
	if len(body) > MaxSDPSize {
		return nil, fmt.Errorf("%w: body of %d bytes is too large", ErrSDPMalformed, len(body))
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(string(body)); err == nil {
		if s, err := fromPion(&sd); err == nil {
			return s, nil
		}
	}
	s, err := parseLenient(body)
	if err != nil {
		return nil, err
	}
	s.Lenient = true
	return s, nil
}

func fromPion(sd *sdp.SessionDescription) (*SessionSDP, error) {
	s := &SessionSDP{
		OriginUser:    sd.Origin.Username,
		OriginID:      sd.Origin.SessionID,
		OriginVersion: sd.Origin.SessionVersion,
	}
	if c := sd.ConnectionInformation; c != nil && c.Address != nil {
		s.Conn = c.Address.Address
	}
	for _, a := range sd.Attributes {
		if isDirection(a.Key) {
			s.Direction = a.Key
		}
	}
	for _, md := range sd.MediaDescriptions {
		m := SDPMedia{
			Media:   md.MediaName.Media,
			Port:    md.MediaName.Port.Value,
			Proto:   strings.Join(md.MediaName.Protos, "/"),
			Formats: append([]string(nil), md.MediaName.Formats...),
		}
		if m.Port < 0 || m.Port > 65535 {
			return nil, fmt.Errorf("%w: m= port %d out of range", ErrSDPMalformed, m.Port)
		}
		if c := md.ConnectionInformation; c != nil && c.Address != nil {
			m.Conn = c.Address.Address
		}
		for _, a := range md.Attributes {
			m.attribute(a.Key, a.Value)
		}
		s.Media = append(s.Media, m)
	}
	return s, nil
}

// parseLenient reads "x=value" lines in any order. Lines before the first m= are
// session-level, the rest belong to the m-line above them. Unknown line types are ignored,
// as RFC 4566 asks of unknown attributes.
func parseLenient(body []byte) (*SessionSDP, error) {
	s := &SessionSDP{}
	var cur *SDPMedia
	sawV := false
	for n, raw := range bytes.Split(body, []byte("\n")) {
		line := strings.TrimRight(string(raw), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if len(line) < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z' {
			return nil, fmt.Errorf("%w: line %d is not type=value", ErrSDPMalformed, n+1)
		}
		val := line[2:]
		switch line[0] {
		case 'v':
			if strings.TrimSpace(val) != "0" {
				return nil, fmt.Errorf("%w: unsupported version", ErrSDPMalformed)
			}
			sawV = true
		case 'o':
			f := strings.Fields(val)
			if len(f) != 6 {
				return nil, fmt.Errorf("%w: o= needs 6 fields", ErrSDPMalformed)
			}
			s.OriginUser = f[0]
			// Over-large ids are tolerated (we never echo them); keep what fits.
			s.OriginID, _ = strconv.ParseUint(f[1], 10, 64)
			s.OriginVersion, _ = strconv.ParseUint(f[2], 10, 64)
		case 'c':
			f := strings.Fields(val)
			if len(f) != 3 {
				return nil, fmt.Errorf("%w: c= needs 3 fields", ErrSDPMalformed)
			}
			addr, _, _ := strings.Cut(f[2], "/")
			if cur != nil {
				cur.Conn = addr
			} else {
				s.Conn = addr
			}
		case 'm':
			f := strings.Fields(val)
			if len(f) < 3 {
				return nil, fmt.Errorf("%w: m= needs media, port and proto", ErrSDPMalformed)
			}
			portStr, _, _ := strings.Cut(f[1], "/")
			port, err := strconv.Atoi(portStr)
			if err != nil || port < 0 || port > 65535 {
				return nil, fmt.Errorf("%w: m= port is not a port number", ErrSDPMalformed)
			}
			s.Media = append(s.Media, SDPMedia{Media: f[0], Port: port, Proto: f[2], Formats: f[3:]})
			cur = &s.Media[len(s.Media)-1]
		case 'a':
			key, value, _ := strings.Cut(val, ":")
			if cur != nil {
				cur.attribute(key, value)
			} else if isDirection(key) {
				s.Direction = key
			}
		}
		// Keep cur valid after appends reallocated s.Media.
		if len(s.Media) > 0 {
			cur = &s.Media[len(s.Media)-1]
		}
	}
	if !sawV {
		return nil, fmt.Errorf("%w: no v= line", ErrSDPMalformed)
	}
	return s, nil
}

func (m *SDPMedia) attribute(key, value string) {
	switch {
	case isDirection(key):
		m.Direction = key
	case key == "ptime":
		if v, err := strconv.Atoi(strings.TrimSpace(value)); err == nil && v > 0 && v <= 1000 {
			m.PTime = v
		}
	case key == "crypto":
		if len(m.Crypto) >= maxCryptoLines {
			return
		}
		c, err := ParseCrypto(value)
		if err != nil {
			c = Crypto{Tag: -1, Err: err}
		}
		m.Crypto = append(m.Crypto, c)
	case key == "rtpmap" || key == "fmtp":
		ptStr, rest, ok := strings.Cut(strings.TrimSpace(value), " ")
		pt, err := strconv.Atoi(ptStr)
		if !ok || err != nil || pt < 0 || pt > 127 {
			return
		}
		if key == "rtpmap" {
			if m.RTPMap == nil {
				m.RTPMap = map[int]string{}
			}
			m.RTPMap[pt] = strings.TrimSpace(rest)
		} else {
			if m.Fmtp == nil {
				m.Fmtp = map[int]string{}
			}
			m.Fmtp[pt] = strings.TrimSpace(rest)
		}
	}
}

func isDirection(k string) bool {
	return k == SendRecv || k == SendOnly || k == RecvOnly || k == Inactive
}

// direction is the effective direction of m (media level, else session level, else sendrecv).
func (s *SessionSDP) direction(m *SDPMedia) string {
	switch {
	case m.Direction != "":
		return m.Direction
	case s.Direction != "":
		return s.Direction
	}
	return SendRecv
}

// conn is the effective connection address of m.
func (s *SessionSDP) conn(m *SDPMedia) string {
	if m.Conn != "" {
		return m.Conn
	}
	return s.Conn
}

// encoding returns the rtpmap encoding name and clock rate of pt, using the static table for
// 0 and 8 when the offer does not map them.
func (m *SDPMedia) encoding(pt int) (name string, rate int) {
	if v, ok := m.RTPMap[pt]; ok {
		enc := strings.Split(v, "/")
		name = strings.ToUpper(enc[0])
		if len(enc) > 1 {
			rate, _ = strconv.Atoi(enc[1])
		}
		return name, rate
	}
	for _, c := range [...]Codec{PCMU, PCMA} { // the static payload types (RFC 3551)
		if pt == int(c.PayloadType()) {
			return c.Name(), c.ClockRate()
		}
	}
	return "", 0
}

// invertDirection is the direction a UA answers with (RFC 3264 section 6.1).
func invertDirection(d string) string {
	switch d {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	case Inactive:
		return Inactive
	}
	return SendRecv
}

// parseRTPAddr turns an SDP connection address and port into an address. "0.0.0.0" (RFC 2543
// hold) is returned as the unspecified address and is valid.
func parseRTPAddr(conn string, port int) (netip.AddrPort, error) {
	a, err := netip.ParseAddr(conn)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: connection address is not an IP address", ErrSDPMalformed)
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(port)), nil
}

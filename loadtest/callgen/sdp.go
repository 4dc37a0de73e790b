package callgen

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/pion/sdp/v3"

	"github.com/paybridge/paybridge/media"
)

// offer is the caller's SDP: PCMU and telephone-event/8000 on PT 101, as the SIPp scenario.
func offer(ip netip.Addr, port int, id uint64) []byte {
	return fmt.Appendf(nil, "v=0\r\no=callgen %d 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"+
		"a=fmtp:101 0-15\r\na=ptime:20\r\n", id, ip, ip, port)
}

// answerAddr is where the answer wants our RTP, and the telephone-event payload type it chose.
func answerAddr(body []byte) (netip.AddrPort, uint8, error) {
	var s sdp.SessionDescription
	if err := s.Unmarshal(body); err != nil {
		return netip.AddrPort{}, 0, fmt.Errorf("answer SDP: %w", err)
	}
	for _, m := range s.MediaDescriptions {
		if m.MediaName.Media != "audio" || m.MediaName.Port.Value == 0 {
			continue
		}
		c := s.ConnectionInformation
		if m.ConnectionInformation != nil {
			c = m.ConnectionInformation
		}
		if c == nil || c.Address == nil {
			return netip.AddrPort{}, 0, errors.New("answer SDP: no c= line")
		}
		ip, err := netip.ParseAddr(c.Address.Address)
		if err != nil {
			return netip.AddrPort{}, 0, fmt.Errorf("answer SDP: c= %w", err)
		}
		pt := uint8(101)
		for _, a := range m.Attributes {
			var n int
			var rest string
			if a.Key == "rtpmap" {
				if _, err := fmt.Sscanf(a.Value, "%d %s", &n, &rest); err == nil && len(rest) >= 15 && rest[:15] == "telephone-event" {
					pt = uint8(n)
				}
			}
		}
		return netip.AddrPortFrom(ip, uint16(m.MediaName.Port.Value)), pt, nil
	}
	return netip.AddrPort{}, 0, errors.New("answer SDP: no audio stream")
}

// answerSRTP is the SRTP of a call whose offer carried key: the answer must have chosen it.
func answerSRTP(body []byte, key *media.Crypto) (*media.SRTP, error) {
	s, err := media.ParseSDP(body)
	if err != nil {
		return nil, fmt.Errorf("answer SDP: %w", err)
	}
	defer s.Zero()
	p, err := media.NegotiateWith(s, media.SRTPRequired)
	if err != nil {
		return nil, fmt.Errorf("answer SDP: %w", err)
	}
	if p.Crypto.Tag != key.Tag || p.Crypto.Suite != key.Suite {
		return nil, fmt.Errorf("answer SDP: %w", media.ErrCryptoMismatch)
	}
	return media.NewSRTP(key, p.Crypto)
}

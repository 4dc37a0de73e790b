package media

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Params is the outcome of an offer/answer exchange for one audio stream: what a Session
// sends, where, and what it accepts.
type Params struct {
	Index     int            // index of the audio m-line in the offer
	Remote    netip.AddrPort // where the far end asked to receive RTP (may be 0.0.0.0 on hold)
	Codec     Codec          // PCMU or PCMA (on the offer's payload type), the first the offer listed
	EventPT   int            // the offer's telephone-event/8000 payload type; -1 when absent
	EventFmtp string         // the offer's fmtp for telephone-event ("0-16" when absent)
	PTime     int            // packetization we send: 20, or 30 when the offer asked for 30
	Direction string         // the direction we answer with
	// Proto is the m-line transport we answer with: RTP/AVP, or the offer's RTP/SAVP or
	// RTP/SAVPF for an encrypted stream.
	Proto string
	// Crypto is the far end's a=crypto line the exchange chose (its tag, suite and key): nil
	// for plain RTP. It points into the description Negotiate read; a Session keeps a copy.
	Crypto *Crypto
}

// Sends reports whether the answer lets us send RTP.
func (p Params) Sends() bool { return p.Direction == SendRecv || p.Direction == SendOnly }

// Receives reports whether the far end will send RTP to us (so the media timeout applies).
func (p Params) Receives() bool { return p.Direction == SendRecv || p.Direction == RecvOnly }

// Encrypted reports whether the stream is SRTP.
func (p Params) Encrypted() bool { return p.Crypto != nil }

// Negotiate is NegotiateWith(s, SRTPOff): plain RTP only.
func Negotiate(s *SessionSDP) (Params, error) { return NegotiateWith(s, SRTPOff) }

// NegotiateWith picks the audio stream, codec, telephone-event payload type, ptime, direction
// and — by policy — the SRTP crypto line from an offer (or from an answer to our own offer:
// the same rules pick the answer's choice). An RTP/SAVP(F) stream needs a usable a=crypto
// line (the first in the offer's order is taken: the offerer lists its preference); an
// RTP/AVP stream that carries a=crypto lines ("best effort" SDES) is encrypted unless the
// policy is SRTPOff. Under SRTPOptional an encrypted stream is preferred to a plain one of the
// same offer; under SRTPRequired a plain one is refused. The error wraps ErrNoAudio,
// ErrUnsupportedTransport, ErrNoCommonCodec, ErrSRTPRequired or ErrNoCommonCrypto; its text
// is fit for the reason of a 488 answer and never quotes a key.
func NegotiateWith(s *SessionSDP, policy SRTPPolicy) (Params, error) {
	errNone := ErrNoAudio
	var plain *Params // the first usable plain stream, while looking for an encrypted one
	for i := range s.Media {
		m := &s.Media[i]
		if m.Media != "audio" || m.Port == 0 {
			continue
		}
		var crypto *Crypto
		proto := "RTP/AVP"
		switch {
		case m.Proto == "RTP/AVP" || m.Proto == "RTP/AVPF":
			if policy != SRTPOff {
				crypto = firstUsableCrypto(m.Crypto)
			}
			if crypto == nil && policy == SRTPRequired {
				errNone = ErrSRTPRequired
				if len(m.Crypto) > 0 {
					errNone = noCommonCrypto(m.Crypto)
				}
				continue
			}
		case m.Secure():
			if policy == SRTPOff {
				errNone = fmt.Errorf("%w: %s (SRTP is off)", ErrUnsupportedTransport, m.Proto)
				continue
			}
			crypto = firstUsableCrypto(m.Crypto)
			if crypto == nil {
				errNone = noCommonCrypto(m.Crypto)
				continue
			}
			proto = m.Proto
		default:
			errNone = fmt.Errorf("%w: %s", ErrUnsupportedTransport, m.Proto)
			continue
		}
		p, err := streamParams(s, i, m)
		if errors.Is(err, ErrSDPMalformed) {
			return Params{}, err
		}
		if err != nil {
			errNone = err
			continue
		}
		p.Proto, p.Crypto = proto, crypto
		if crypto != nil || policy == SRTPOff {
			return p, nil
		}
		if plain == nil {
			plain = &p
		}
	}
	if plain != nil {
		return *plain, nil
	}
	return Params{}, errNone
}

// streamParams reads the codec, events, ptime, address and direction of the audio m-line i.
func streamParams(s *SessionSDP, i int, m *SDPMedia) (Params, error) {
	p := Params{Index: i, EventPT: -1}
	found := false
	for _, f := range m.Formats {
		pt, err := strconv.Atoi(f)
		if err != nil || pt < 0 || pt > 127 {
			continue
		}
		name, rate := m.encoding(pt)
		if !found {
			if c, ok := CodecByName(name, rate, uint8(pt)); ok {
				p.Codec, found = c, true
				continue
			}
		}
		if p.EventPT < 0 && name == "TELEPHONE-EVENT" && rate == 8000 {
			p.EventPT = pt
			p.EventFmtp = m.Fmtp[pt]
		}
	}
	if !found {
		return Params{}, ErrNoCommonCodec
	}
	if p.EventPT >= 0 && p.EventFmtp == "" {
		p.EventFmtp = "0-16"
	}
	p.PTime = 20
	if m.PTime == 30 {
		p.PTime = 30
	}
	remote, err := parseRTPAddr(s.conn(m), m.Port)
	if err != nil {
		return Params{}, err
	}
	p.Remote = remote
	p.Direction = invertDirection(s.direction(m))
	if remote.Addr().IsUnspecified() && p.Direction == SendRecv {
		// RFC 2543 hold: c=0.0.0.0 means "do not send to me".
		p.Direction = RecvOnly
	}
	return p, nil
}

// firstUsableCrypto is the first a=crypto line paybridge can use, in the offer's order.
func firstUsableCrypto(cs []Crypto) *Crypto {
	for i := range cs {
		if cs[i].Err == nil && cs[i].Suite != SuiteNone {
			return &cs[i]
		}
	}
	return nil
}

// noCommonCrypto is the refusal of a stream none of whose a=crypto lines is usable, with the
// reason of the first.
func noCommonCrypto(cs []Crypto) error {
	for i := range cs {
		if cs[i].Err != nil {
			return fmt.Errorf("%w (%w)", ErrNoCommonCrypto, cs[i].Err)
		}
	}
	return ErrNoCommonCrypto
}

// LocalMedia is our side of a session description.
type LocalMedia struct {
	IP        netip.Addr // the routable address for c= and o=
	Port      int        // our RTP port
	SessionID uint64     // o= session id (fits int64)
	Version   uint64     // o= version; bumped when the description changes
	// Crypto is our a=crypto line in an answer to an encrypted stream (Session.LocalCrypto):
	// the offer's tag and suite with our key.
	Crypto *Crypto
	// Cryptos are the a=crypto lines of our own offer (NewOfferCryptos, Session.OfferCryptos):
	// with any, BuildOffer offers RTP/SAVP.
	Cryptos []*Crypto
	// BestEffortSRTP offers Cryptos on an RTP/AVP stream instead ("best effort" SDES: a far
	// end without SDES ignores them and answers plain RTP).
	BestEffortSRTP bool
}

func (l LocalMedia) session() *sdp.SessionDescription {
	addrType := "IP4"
	if l.IP.Is6() && !l.IP.Is4In6() {
		addrType = "IP6"
	}
	ip := l.IP.Unmap().String()
	return &sdp.SessionDescription{
		Origin: sdp.Origin{
			Username:       "paybridge",
			SessionID:      l.SessionID & (1<<63 - 1),
			SessionVersion: l.Version & (1<<63 - 1),
			NetworkType:    "IN",
			AddressType:    addrType,
			UnicastAddress: ip,
		},
		SessionName: "paybridge",
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN", AddressType: addrType, Address: &sdp.Address{Address: ip},
		},
		TimeDescriptions: []sdp.TimeDescription{{Timing: sdp.Timing{}}},
	}
}

// BuildAnswer answers offer with p: the same number and order of m-lines, the chosen audio
// stream with our port, codec, the offer's telephone-event payload type, ptime and direction,
// and port 0 for every other m-line.
func BuildAnswer(offer *SessionSDP, p Params, local LocalMedia) []byte {
	sd := local.session()
	for i := range offer.Media {
		m := &offer.Media[i]
		if i != p.Index {
			format := "0"
			if len(m.Formats) > 0 {
				format = m.Formats[0]
			}
			proto := strings.Split(m.Proto, "/")
			if m.Proto == "" {
				proto = []string{"RTP", "AVP"}
			}
			sd.MediaDescriptions = append(sd.MediaDescriptions, &sdp.MediaDescription{
				MediaName: sdp.MediaName{Media: m.Media, Port: sdp.RangedPort{Value: 0}, Protos: proto, Formats: []string{format}},
			})
			continue
		}
		sd.MediaDescriptions = append(sd.MediaDescriptions, audioMedia(p, local.Port, local.Crypto))
	}
	out, _ := sd.Marshal()
	return out
}

func audioMedia(p Params, port int, crypto *Crypto) *sdp.MediaDescription {
	proto := []string{"RTP", "AVP"}
	if p.Proto != "" {
		proto = strings.Split(p.Proto, "/")
	}
	md := &sdp.MediaDescription{
		MediaName: sdp.MediaName{
			Media: "audio", Port: sdp.RangedPort{Value: port}, Protos: proto,
			Formats: []string{strconv.Itoa(int(p.Codec.PayloadType()))},
		},
	}
	md.Attributes = append(md.Attributes, rtpmap(p.Codec))
	if p.EventPT >= 0 {
		md.MediaName.Formats = append(md.MediaName.Formats, strconv.Itoa(p.EventPT))
		md.Attributes = append(md.Attributes,
			sdp.NewAttribute("rtpmap", fmt.Sprintf("%d telephone-event/8000", p.EventPT)),
			sdp.NewAttribute("fmtp", fmt.Sprintf("%d %s", p.EventPT, p.EventFmtp)))
	}
	md.Attributes = append(md.Attributes,
		sdp.NewAttribute("ptime", strconv.Itoa(p.PTime)),
		sdp.NewPropertyAttribute(p.Direction))
	if p.Crypto != nil && crypto != nil {
		md.Attributes = append(md.Attributes, sdp.NewAttribute("crypto", crypto.attribute()))
	}
	return md
}

// rtpmap is the a=rtpmap attribute of c ("0 PCMU/8000").
func rtpmap(c Codec) sdp.Attribute {
	return sdp.NewAttribute("rtpmap", strconv.Itoa(int(c.PayloadType()))+" "+c.Name()+"/"+strconv.Itoa(c.ClockRate()))
}

// DefaultEventPT is the telephone-event payload type paybridge offers (it echoes the far
// end's in answers).
const DefaultEventPT = 101

// BuildOffer is paybridge's own offer (late-offer INVITEs and the test caller): PCMU, PCMA
// and telephone-event/8000, ptime 20, sendrecv; RTP/SAVP with one a=crypto line each of
// local.Cryptos when there are any.
func BuildOffer(local LocalMedia) []byte {
	sd := local.session()
	proto := []string{"RTP", "AVP"}
	if len(local.Cryptos) > 0 && !local.BestEffortSRTP {
		proto = []string{"RTP", "SAVP"}
	}
	md := &sdp.MediaDescription{
		MediaName: sdp.MediaName{
			Media: "audio", Port: sdp.RangedPort{Value: local.Port}, Protos: proto,
			Formats: []string{strconv.Itoa(int(PCMU.PayloadType())), strconv.Itoa(int(PCMA.PayloadType())), strconv.Itoa(DefaultEventPT)},
		},
		Attributes: []sdp.Attribute{
			rtpmap(PCMU),
			rtpmap(PCMA),
			sdp.NewAttribute("rtpmap", fmt.Sprintf("%d telephone-event/8000", DefaultEventPT)),
			sdp.NewAttribute("fmtp", fmt.Sprintf("%d 0-16", DefaultEventPT)),
			sdp.NewAttribute("ptime", "20"),
			sdp.NewPropertyAttribute(SendRecv),
		},
	}
	for _, c := range local.Cryptos {
		md.Attributes = append(md.Attributes, sdp.NewAttribute("crypto", c.attribute()))
	}
	sd.MediaDescriptions = []*sdp.MediaDescription{md}
	out, _ := sd.Marshal()
	return out
}

package media

import (
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
}

// Sends reports whether the answer lets us send RTP.
func (p Params) Sends() bool { return p.Direction == SendRecv || p.Direction == SendOnly }

// Receives reports whether the far end will send RTP to us (so the media timeout applies).
func (p Params) Receives() bool { return p.Direction == SendRecv || p.Direction == RecvOnly }

// Negotiate picks the audio stream, codec, telephone-event payload type, ptime and direction
// from an offer (or from an answer to our own offer: the same rules pick the answer's choice).
// The error wraps ErrNoAudio, ErrUnsupportedTransport or ErrNoCommonCodec; its text is fit for
// the reason of a 488 answer.
func Negotiate(s *SessionSDP) (Params, error) {
	errNone := ErrNoAudio
	for i := range s.Media {
		m := &s.Media[i]
		if m.Media != "audio" || m.Port == 0 {
			continue
		}
		if m.Proto != "RTP/AVP" && m.Proto != "RTP/AVPF" {
			errNone = fmt.Errorf("%w: %s", ErrUnsupportedTransport, m.Proto)
			continue
		}
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
			errNone = ErrNoCommonCodec
			continue
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
	return Params{}, errNone
}

// LocalMedia is our side of a session description.
type LocalMedia struct {
	IP        netip.Addr // the routable address for c= and o=
	Port      int        // our RTP port
	SessionID uint64     // o= session id (fits int64)
	Version   uint64     // o= version; bumped when the description changes
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
		sd.MediaDescriptions = append(sd.MediaDescriptions, audioMedia(p, local.Port))
	}
	out, _ := sd.Marshal()
	return out
}

func audioMedia(p Params, port int) *sdp.MediaDescription {
	md := &sdp.MediaDescription{
		MediaName: sdp.MediaName{
			Media: "audio", Port: sdp.RangedPort{Value: port}, Protos: []string{"RTP", "AVP"},
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
// and telephone-event/8000, ptime 20, sendrecv.
func BuildOffer(local LocalMedia) []byte {
	sd := local.session()
	md := &sdp.MediaDescription{
		MediaName: sdp.MediaName{
			Media: "audio", Port: sdp.RangedPort{Value: local.Port}, Protos: []string{"RTP", "AVP"},
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
	sd.MediaDescriptions = []*sdp.MediaDescription{md}
	out, _ := sd.Marshal()
	return out
}

package media

import (
	"fmt"
	"strconv"

	"github.com/pion/sdp/v3"
)

// OfferOptions shape an offer paybridge makes for a leg it places itself (a B2BUA's outbound
// leg): the codec it prefers first, the ptime it asks for.
type OfferOptions struct {
	// Prefer is listed first (on its static payload type); the other G.711 law follows, so a
	// far end that speaks only that one still connects (the bridge transcodes). The zero Codec
	// keeps BuildOffer's order (PCMU, PCMA).
	Prefer Codec
	// PTime is the packetization asked for: 20 (default) or 30.
	PTime int
}

// BuildOfferWith is paybridge's offer for an outbound leg: both G.711 laws with opt.Prefer
// first, telephone-event/8000 on DefaultEventPT, the ptime asked for, sendrecv. Its answer is
// read with Negotiate like any other description: the same rules pick the far end's choice.
func BuildOfferWith(local LocalMedia, opt OfferOptions) []byte {
	first, second := PCMU, PCMA
	if opt.Prefer.law == lawA {
		first, second = PCMA, PCMU
	}
	ptime := 20
	if opt.PTime == 30 {
		ptime = 30
	}
	sd := local.session()
	md := &sdp.MediaDescription{
		MediaName: sdp.MediaName{
			Media: "audio", Port: sdp.RangedPort{Value: local.Port}, Protos: []string{"RTP", "AVP"},
			Formats: []string{strconv.Itoa(int(first.PayloadType())), strconv.Itoa(int(second.PayloadType())), strconv.Itoa(DefaultEventPT)},
		},
		Attributes: []sdp.Attribute{
			rtpmap(first),
			rtpmap(second),
			sdp.NewAttribute("rtpmap", fmt.Sprintf("%d telephone-event/8000", DefaultEventPT)),
			sdp.NewAttribute("fmtp", fmt.Sprintf("%d 0-16", DefaultEventPT)),
			sdp.NewAttribute("ptime", strconv.Itoa(ptime)),
			sdp.NewPropertyAttribute(SendRecv),
		},
	}
	sd.MediaDescriptions = []*sdp.MediaDescription{md}
	out, _ := sd.Marshal()
	return out
}

// Package pcapgen writes the media that SIPp plays for paybridge's tests and load tests: a
// caller keying digits as RFC 4733 telephone-events inside a G.711 stream (a pcap for
// play_pcap_audio) or as in-band tones (raw G.711 for rtp_stream).
//
// The pcap is what SIPp's bundled dtmf_2833_*.pcap files are not: one SSRC and one sequence
// space for audio and events, one RTP timestamp per keypress (so repeated keys stay
// distinct), the marker on each event's first packet and the end packet sent three times.
package pcapgen

import (
	"errors"
	"io"
	"net/netip"
	"time"

	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/internal/audiofile"
)

// Options shape the keyed call.
type Options struct {
	Lead     time.Duration // silence before the first key (default 1 s)
	On       time.Duration // each key's duration (default 100 ms)
	Off      time.Duration // silence after each key (default 100 ms)
	Tail     time.Duration // silence after the last key (default 500 ms)
	EventPT  uint8         // telephone-event payload type (default 101)
	SSRC     uint32        // default 0x5eed0001
	Src, Dst netip.AddrPort
}

func (o *Options) defaults() {
	if o.Lead == 0 {
		o.Lead = time.Second
	}
	if o.On == 0 {
		o.On = 100 * time.Millisecond
	}
	if o.Off == 0 {
		o.Off = 100 * time.Millisecond
	}
	if o.Tail == 0 {
		o.Tail = 500 * time.Millisecond
	}
	if o.EventPT == 0 {
		o.EventPT = 101
	}
	if o.SSRC == 0 {
		o.SSRC = 0x5eed0001
	}
	if !o.Src.IsValid() {
		o.Src = netip.MustParseAddrPort("127.0.0.1:6000")
	}
	if !o.Dst.IsValid() {
		o.Dst = netip.MustParseAddrPort("127.0.0.1:10000")
	}
}

const frame = 20 * time.Millisecond

// Packet is one RTP packet of a keyed call, At after the first.
type Packet struct {
	At     time.Duration
	Packet rtp.Packet
}

// RFC4733 returns the packets of a PCMU stream that keys digits as telephone-events: Lead
// silence, each key On (its events) and Off (silence), then Tail silence; one packet per 20 ms.
func RFC4733(digits string, opt Options) ([]Packet, error) {
	opt.defaults()
	var out []Packet
	var at time.Duration
	var seq uint16 = 1000
	var ts uint32 = 160000
	silence := make([]byte, 160)
	for i := range silence {
		silence[i] = 0xFF // μ-law zero
	}
	first := true
	audio := func(d time.Duration) {
		for n := d / frame; n > 0; n-- {
			out = append(out, Packet{At: at, Packet: rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: ts, SSRC: opt.SSRC, Marker: first}, Payload: silence}})
			first = false
			seq++
			ts += 160
			at += frame
		}
	}
	audio(opt.Lead)
	sender := dtmf.NewSender(8000)
	for i := 0; i < len(digits); i++ {
		d, ok := dtmf.ParseDigit(digits[i])
		if !ok {
			return nil, errors.New("pcapgen: not a DTMF key")
		}
		pkts, err := sender.Packets(d, ts, opt.On, frame)
		if err != nil {
			return nil, err
		}
		for _, sp := range pkts {
			out = append(out, Packet{At: at, Packet: rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: opt.EventPT, SequenceNumber: seq, Timestamp: sp.Timestamp, SSRC: opt.SSRC, Marker: sp.Marker}, Payload: sp.Payload}})
			seq++
			ts += 160 // the audio clock keeps running under the event
			at += frame
		}
		audio(opt.Off)
	}
	audio(opt.Tail)
	return out, nil
}

// Inband returns the packets of a PCMU stream that keys digits as tones (InbandULaw cut into
// 20 ms frames).
func Inband(digits string, opt Options) []Packet {
	opt.defaults()
	ulaw := InbandULaw(digits, opt)
	var out []Packet
	for i := 0; i+160 <= len(ulaw); i += 160 {
		n := i / 160
		out = append(out, Packet{At: time.Duration(n) * frame, Packet: rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0,
			SequenceNumber: uint16(1000 + n), Timestamp: uint32(160000 + i), SSRC: opt.SSRC, Marker: n == 0}, Payload: ulaw[i : i+160]}})
	}
	return out
}

// WriteRFC4733 writes a pcap of a PCMU stream that keys digits as telephone-events (the
// packets of RFC4733, from Src to Dst).
func WriteRFC4733(w io.Writer, digits string, opt Options) error {
	opt.defaults()
	pkts, err := RFC4733(digits, opt)
	if err != nil {
		return err
	}
	pw, err := audiofile.NewPcapWriter(w)
	if err != nil {
		return err
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range pkts {
		if err := pw.WriteRTP(t0.Add(pkts[i].At), opt.Src, opt.Dst, &pkts[i].Packet); err != nil {
			return err
		}
	}
	return nil
}

// InbandULaw returns raw μ-law audio keying digits as tones (−10 dBm0, On/Off), with Lead
// silence before and Tail after.
func InbandULaw(digits string, opt Options) []byte {
	opt.defaults()
	to := dtmf.DefaultToneOptions()
	to.Duration, to.Gap = opt.On, opt.Off
	pcm := make([]int16, int(opt.Lead.Seconds()*8000))
	pcm = append(pcm, dtmf.GenerateDigits(digits, to)...)
	pcm = append(pcm, make([]int16, int(opt.Tail.Seconds()*8000))...)
	out := make([]byte, len(pcm))
	dtmf.EncodeULaw(out, pcm)
	return out
}

package audiofile

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/dtmf"
)

// KeysPcapOptions describes the call leg WriteKeysPcap writes.
type KeysPcapOptions struct {
	// Keys to press; ',' or ' ' is a pause of one key's length.
	Keys string
	// Events sends each key as RFC 4733 telephone-events; Inband puts its tones in the
	// audio. Both may be set (as many gateways do); at least one must be.
	Events, Inband bool
	// EventPT is the telephone-event payload type (default 101).
	EventPT uint8
	// Law is the audio codec: ULaw (PCMU, PT 0, the default) or ALaw (PCMA, PT 8).
	Law Encoding
	// On and Off are each key's duration and the pause after it (default 100 ms each).
	On, Off time.Duration
	// Level of the tones in dBm0 per tone (default −10; 0 means the default).
	Level float64
	// Src and Dst are the addresses written in the packets (SIPp replaces the destination
	// with the call's; defaults 10.0.0.1:40000 → 10.0.0.2:20000).
	Src, Dst netip.AddrPort
	// SSRC and the first sequence number and timestamp (defaults 0x5041, 1, 0).
	SSRC     uint32
	FirstSeq uint16
	FirstTS  uint32
	// Start is the capture time of the first packet (default 2026-01-01 UTC).
	Start time.Time
}

// WriteKeysPcap writes a pcap of one caller's RTP stream pressing opt.Keys: 20 ms G.711
// packets (silence, or the tones with Inband) and, with Events, RFC 4733 packets from
// dtmf.Sender — one SSRC and one sequence space for both, one timestamp per event, an update
// every 20 ms and three end packets. It is the stimulus SIPp's play_pcap_audio sends.
func WriteKeysPcap(w io.Writer, opt KeysPcapOptions) error {
	if !opt.Events && !opt.Inband {
		return errors.New("audiofile: WriteKeysPcap: set Events, Inband or both")
	}
	if opt.EventPT == 0 {
		opt.EventPT = 101
	}
	audioPT := uint8(0)
	switch opt.Law {
	case 0, ULaw:
		opt.Law = ULaw
	case ALaw:
		audioPT = 8
	default:
		return fmt.Errorf("%w: %v (want ULaw or ALaw)", ErrFormat, opt.Law)
	}
	if opt.On <= 0 {
		opt.On = 100 * time.Millisecond
	}
	if opt.Off <= 0 {
		opt.Off = 100 * time.Millisecond
	}
	if opt.Level == 0 {
		opt.Level = -10
	}
	if !opt.Src.IsValid() {
		opt.Src = netip.MustParseAddrPort("10.0.0.1:40000")
	}
	if !opt.Dst.IsValid() {
		opt.Dst = netip.MustParseAddrPort("10.0.0.2:20000")
	}
	if opt.SSRC == 0 {
		opt.SSRC = 0x5041
	}
	if opt.FirstSeq == 0 {
		opt.FirstSeq = 1
	}
	if opt.Start.IsZero() {
		opt.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	pw, err := NewPcapWriter(w)
	if err != nil {
		return err
	}
	seq, ts := opt.FirstSeq, opt.FirstTS
	at := time.Duration(0)
	send := func(pt uint8, tsv uint32, marker bool, payload []byte) error {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq,
			Timestamp: tsv, SSRC: opt.SSRC, Marker: marker}, Payload: payload}
		seq++
		return pw.WriteRTP(opt.Start.Add(at), opt.Src, opt.Dst, &p)
	}
	frames := int((opt.On + opt.Off + 19*time.Millisecond) / (20 * time.Millisecond))
	g711 := make([]byte, 160)
	for i := 0; i < len(opt.Keys); i++ {
		d, isKey := dtmf.ParseDigit(opt.Keys[i])
		if !isKey && opt.Keys[i] != ',' && opt.Keys[i] != ' ' {
			return fmt.Errorf("audiofile: WriteKeysPcap: key %d is not a DTMF key", i)
		}
		var tone []int16
		var ev []dtmf.SenderPacket
		if isKey && opt.Inband {
			tone = dtmf.GenerateDigit(d, dtmf.ToneOptions{Level: opt.Level, Duration: opt.On})
		}
		if isKey && opt.Events {
			if ev, err = dtmf.NewSender(8000).Packets(d, ts, opt.On, 20*time.Millisecond); err != nil {
				return err
			}
		}
		start := at
		for f := 0; f < frames; f++ {
			for len(ev) > 0 && start+ev[0].Offset <= at {
				if err := send(opt.EventPT, ev[0].Timestamp, ev[0].Marker, ev[0].Payload); err != nil {
					return err
				}
				ev = ev[1:]
			}
			frame := make([]int16, 160)
			if f*160 < len(tone) {
				copy(frame, tone[f*160:])
			}
			if opt.Law == ALaw {
				dtmf.EncodeALaw(g711, frame)
			} else {
				dtmf.EncodeULaw(g711, frame)
			}
			if err := send(audioPT, ts, i == 0 && f == 0, g711); err != nil {
				return err
			}
			ts += 160
			at += 20 * time.Millisecond
		}
		for _, p := range ev { // end packets due after the last audio frame of this key
			if err := send(opt.EventPT, p.Timestamp, p.Marker, p.Payload); err != nil {
				return err
			}
		}
	}
	return nil
}

package audiofile

import (
	"sort"
	"time"

	"github.com/paybridge/paybridge/dtmf"
)

// CaptureOptions says how to read the RTP of a capture.
type CaptureOptions struct {
	// EventPT is the telephone-event payload type (what the call's SDP negotiated). Zero
	// means: any dynamic type (96–127) whose payloads are all 4 bytes long.
	EventPT uint8
	// REDPT is the RFC 2198 payload type carrying telephone-events, if any (0: none).
	REDPT uint8
	// EventRate is the telephone-event clock rate (default 8000).
	EventRate int
}

// AudioDigits finds the keys in 8 kHz audio, fed in 20 ms frames. Each Event has its End.
func AudioDigits(pcm []int16) []dtmf.Event {
	var out []dtmf.Event
	s := dtmf.NewStream(dtmf.StreamConfig{OnRelease: func(e dtmf.Event) { out = append(out, e) }})
	for i := 0; i < len(pcm); i += 160 {
		s.Audio(pcm[i:min(i+160, len(pcm))])
	}
	s.Flush()
	return out
}

type ssrcKey struct {
	ssrc uint32
	dst  string
}

// CaptureDigits finds the keys in a capture: in-band in PCMU (PT 0) and PCMA (PT 8) audio,
// RFC 4733 events (optionally inside RFC 2198), and SIP INFO bodies. Each RTP stream (SSRC
// and destination) is its own dtmf.Stream, so tones and events of one keypress in one stream
// are one key; SIP INFO digits form a stream of their own. Times are offsets from the first
// packet of the capture; the result is sorted by Start.
func CaptureDigits(c *Capture, opt CaptureOptions) []dtmf.Event {
	if opt.EventRate <= 0 {
		opt.EventRate = 8000
	}
	var t0 time.Time
	for _, p := range c.RTP {
		if t0.IsZero() || p.Time.Before(t0) {
			t0 = p.Time
		}
	}
	for _, in := range c.Info {
		if t0.IsZero() || in.Time.Before(t0) {
			t0 = in.Time
		}
	}
	eventPT := map[uint8]bool{}
	if opt.EventPT != 0 {
		eventPT[opt.EventPT] = true
	} else {
		bad := map[uint8]bool{}
		for _, p := range c.RTP {
			pt := p.Header.PayloadType
			if pt < 96 || pt > 127 || pt == opt.REDPT {
				continue
			}
			if len(p.Payload) == 4 {
				eventPT[pt] = true
			} else {
				bad[pt] = true
			}
		}
		for pt := range bad {
			delete(eventPT, pt)
		}
	}

	var out []dtmf.Event
	type rtpStream struct {
		s        *dtmf.Stream
		offset   time.Duration
		haveAud  bool
		nextTS   uint32
		lastTime time.Time
		audio    bool // the stream carries audio: the clock follows it
	}
	streams := map[ssrcKey]*rtpStream{}
	hasAudio := map[ssrcKey]bool{}
	for _, p := range c.RTP {
		if pt := p.Header.PayloadType; pt == 0 || pt == 8 {
			hasAudio[ssrcKey{p.Header.SSRC, p.Dst.String()}] = true
		}
	}
	var order []*rtpStream
	pcm := make([]int16, 0, 160)
	for _, p := range c.RTP {
		k := ssrcKey{p.Header.SSRC, p.Dst.String()}
		st := streams[k]
		if st == nil {
			st = &rtpStream{offset: p.Time.Sub(t0), lastTime: p.Time, audio: hasAudio[k]}
			off := st.offset
			st.s = dtmf.NewStream(dtmf.StreamConfig{TelephoneEventRate: opt.EventRate,
				OnRelease: func(e dtmf.Event) {
					e.Start += off
					e.End += off
					out = append(out, e)
				}})
			streams[k] = st
			order = append(order, st)
		}
		if !st.audio && p.Time.After(st.lastTime) {
			st.s.Advance(p.Time.Sub(st.lastTime))
			st.lastTime = p.Time
		}
		pt := p.Header.PayloadType
		switch {
		case pt == 0 || pt == 8:
			ts := p.Header.Timestamp
			if st.haveAud {
				d := int32(ts - st.nextTS)
				if d < 0 {
					continue // duplicate or late packet
				}
				if d > 0 && d < 8000*5 {
					st.s.Gap(int(d))
				}
			}
			if cap(pcm) < len(p.Payload) {
				pcm = make([]int16, len(p.Payload))
			}
			pcm = pcm[:len(p.Payload)]
			if pt == 0 {
				dtmf.DecodeULaw(pcm, p.Payload)
			} else {
				dtmf.DecodeALaw(pcm, p.Payload)
			}
			st.s.Audio(pcm)
			st.haveAud, st.nextTS = true, ts+uint32(len(p.Payload))
		case eventPT[pt]:
			_ = st.s.TelephoneEvent(p.Header.Timestamp, p.Header.SequenceNumber, p.Payload)
		case opt.REDPT != 0 && pt == opt.REDPT:
			blocks, err := dtmf.UnpackRED(p.Payload)
			if err != nil {
				continue
			}
			for _, b := range blocks {
				if eventPT[b.PayloadType] || (opt.EventPT == 0 && len(b.Data) == 4) {
					_ = st.s.TelephoneEvent(p.Header.Timestamp-uint32(b.TimestampOffset), p.Header.SequenceNumber, b.Data)
				}
			}
		}
	}
	for _, st := range order {
		st.s.Advance(time.Second)
		st.s.Flush()
	}
	if len(c.Info) > 0 {
		last := t0
		s := dtmf.NewStream(dtmf.StreamConfig{NoInband: true, OnRelease: func(e dtmf.Event) { out = append(out, e) }})
		for _, in := range c.Info {
			if in.Time.After(last) {
				s.Advance(in.Time.Sub(last))
				last = in.Time
			}
			_ = s.Info(in.ContentType, in.Body)
		}
		s.Flush()
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

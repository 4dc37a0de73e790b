package dtmf

import "time"

// StreamConfig configures one call's digit stream.
type StreamConfig struct {
	// OnDigit is called once per keypress, synchronously, as soon as one source is sure of
	// the key (End is zero). Required.
	OnDigit func(Event)
	// OnRelease, if set, is called when that keypress ends (same Digit, Source and Start;
	// End set).
	OnRelease func(Event)
	// TelephoneEventRate is the clock rate of the negotiated telephone-event format
	// (default 8000).
	TelephoneEventRate int
	// EventTimeout ends an RFC 4733 key whose sender went silent (default 200 ms).
	EventTimeout time.Duration
	// MergeWindow is how far apart two sources may place the same keypress and still be
	// one key (default 80 ms).
	MergeWindow time.Duration
	// NoInband turns the in-band detector off (audio is then only a clock).
	NoInband bool
}

// Stream merges the three sources of one call — in-band tones, RFC 4733 events and SIP INFO
// bodies — into one keypress stream.
//
// Its clock counts the audio fed (Audio and Gap, at 8 kHz) plus time passed with Advance,
// where audio that arrives after an Advance (late, after a stall) first covers the time the
// Advance already counted (see StallLimit). Media arrives in order on one goroutine; the Stream is not safe for concurrent use.
//
// Gateways often send the same key two or three ways at once (20–40 ms of leaked tone, then
// events, sometimes an INFO as well). A key-down from one source is the same keypress as an
// earlier one from another source when both name the same key and it starts within
// MergeWindow of the earlier one, or while the earlier one's first source still holds the
// key, or less than MergeWindow/2 after that source let go. Each source can confirm a
// keypress once, so the same key pressed twice quickly is still two keys.
//
// To merge, the Stream remembers each keypress until it has been released for claimRetention
// of its clock; then it zeroes the record (the digit with it) and forgets it. Flush, the end
// of input, zeroes every released keypress at once. Every event slice it has handled is
// zeroed too: after the retention, no digit of the call is left in the Stream's memory.
type Stream struct {
	cfg StreamConfig
	now time.Duration

	claims  []*claim
	pending []Event // INFO key-ups due when the clock reaches their End
	// pruneAt is no later than the clock time at which the first released keypress is to be
	// forgotten (noDeadline: none is released), so that the usual packet skips the scan.
	pruneAt time.Duration

	// idle is clock time passed by Advance since the detector's last audio or gap that no
	// audio or gap has covered yet. Audio delayed by a stall (queued in the network or in
	// this process, then delivered in a burst) covers it when it arrives: the detector sees
	// the caller's audio as it was sent, and the clock does not count the stall twice. Only
	// once idle reaches StallLimit does the detector take it as a gap (which ends a held key).
	idle time.Duration

	// the detector and the receiver live in the Stream itself: one object per call, not
	// three to reach per packet
	rx  Receiver
	det Detector
}

// noDeadline is a clock time never reached.
const noDeadline = time.Duration(1<<63 - 1)

// StallLimit is how long the clock may run (Advance) without audio before the in-band
// detector takes the silence as a gap in the audio. Audio that arrives sooner, late but in
// order, is fed as if it had come on time, so a stall in the middle of a tone never splits
// one key into two; time the far end really skipped reaches the detector as Gap (a timestamp
// jump: silence suppression, lost packets).
const StallLimit = 2 * time.Second

type claim struct {
	ev       Event         // as reported to OnDigit
	sources  uint8         // bit per Source that confirmed it
	active   uint8         // bit per Source still holding it
	end      time.Duration // latest end of any source (reported to OnRelease)
	released bool
	// the span of the source that created the claim: later sources are matched against it,
	// so a chain of sources cannot stretch one keypress over the next
	firstEnd  time.Duration
	firstHeld bool
}

// claimRetention is how long a released keypress is remembered for merging: a late source
// (an RFC 4733 event back-dated by its duration, an INFO) may still name it.
const claimRetention = 2 * time.Second

// NewStream returns the stream of one call.
func NewStream(cfg StreamConfig) *Stream {
	if cfg.TelephoneEventRate <= 0 {
		cfg.TelephoneEventRate = 8000
	}
	if cfg.MergeWindow <= 0 {
		cfg.MergeWindow = 80 * time.Millisecond
	}
	s := &Stream{cfg: cfg, det: *NewDetector(), rx: *NewReceiver(cfg.TelephoneEventRate), pruneAt: noDeadline}
	if cfg.EventTimeout > 0 {
		s.rx.Timeout = cfg.EventTimeout
	}
	return s
}

// Now returns the stream's clock.
func (s *Stream) Now() time.Duration { return s.now }

// Audio feeds decoded 8 kHz caller audio, in order.
func (s *Stream) Audio(pcm []int16) {
	off := s.now - s.det.Pos() // what the detector finds in it is placed at the clock's now
	s.cover(SampleDuration(int64(len(pcm))))
	if !s.cfg.NoInband {
		if evs := s.det.Process(pcm); evs != nil {
			s.handle(evs, off)
		}
	}
	s.settle()
}

// AudioULaw feeds caller audio as μ-law bytes (the payload of a PCMU packet), in order: the
// same as Audio on the decoded samples (DecodeULaw), without decoding them first — the
// detector takes the bytes through its own tables, and digital silence costs next to
// nothing. A caller that needs the samples for something else decodes and calls Audio.
func (s *Stream) AudioULaw(payload []byte) {
	off := s.now - s.det.Pos()
	s.cover(SampleDuration(int64(len(payload))))
	if !s.cfg.NoInband {
		if evs := s.det.processULaw(payload); evs != nil {
			s.handle(evs, off)
		}
	}
	s.settle()
}

// Gap tells the stream that samples of caller audio are missing (lost RTP packets, or time
// a silence-suppressing sender skipped): a gap for the detector, not silence.
func (s *Stream) Gap(samples int) {
	if samples <= 0 {
		return
	}
	off := s.now - s.det.Pos()
	s.cover(SampleDuration(int64(samples)))
	s.handle(s.det.Gap(samples), off)
	s.settle()
}

// Advance moves the clock by d without media (a silent leg, a virtual clock); it ends keys
// whose events stopped, and INFO keys whose duration passed. For the in-band detector the
// time is a gap only once StallLimit of it has passed without audio: until then the audio
// may merely be late (see Stream.idle).
func (s *Stream) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	s.now += d
	s.idle += d
	if s.idle >= StallLimit {
		off := s.detOffset()
		n := int(s.idle * SampleRate / time.Second)
		s.idle -= SampleDuration(int64(n))
		s.handle(s.det.Gap(n), off)
	}
	s.settle()
}

// settle does what every move of the clock may make due: RFC 4733 keys whose events stopped
// end, INFO keys whose duration passed end, released keypresses past their retention are
// forgotten. The usual packet has none of these, and pays a few compares for it.
func (s *Stream) settle() {
	if evs := s.rx.Expire(s.now); evs != nil {
		s.handle(evs, 0)
	}
	if len(s.pending) > 0 {
		s.dueBy(s.now)
	}
	if s.now >= s.pruneAt {
		s.prune()
	}
}

// detOffset maps the detector's clock onto the stream's where the audio stopped: the clock
// less the idle time no audio has covered yet (a key ended by a stall or the end of input
// ends when its tone did). Audio and Gap place what they find at the clock's now instead, in
// step with RFC 4733 events and INFO keys that arrive in the same burst.
func (s *Stream) detOffset() time.Duration { return s.now - s.idle - s.det.Pos() }

// cover moves the clock for d of audio (or a gap in it): the part the idle clock already
// counted is not counted again.
func (s *Stream) cover(d time.Duration) {
	c := min(d, s.idle)
	s.idle -= c
	s.now += d - c
}

// TelephoneEvent feeds one RFC 4733 payload with its RTP timestamp and sequence number. The
// caller has checked the payload type and unpacked RFC 2198 redundancy. A malformed payload
// is returned as an error and otherwise ignored.
func (s *Stream) TelephoneEvent(ts uint32, seq uint16, payload []byte) error {
	evs, err := s.rx.Receive(ts, seq, payload, s.now)
	s.handle(evs, 0)
	return err
}

// Info feeds the body of a SIP INFO request. The key goes down now and up after the body's
// duration (or 100 ms when it gives none) as the clock advances.
func (s *Stream) Info(contentType string, body []byte) error {
	d, dur, err := ParseInfo(contentType, body)
	if err != nil {
		return err
	}
	if dur <= 0 {
		dur = 100 * time.Millisecond
	}
	s.handle([]Event{{Digit: d, Source: SourceINFO, Start: s.now}}, 0)
	s.pending = append(s.pending, Event{Digit: d, Source: SourceINFO, Start: s.now, End: s.now + dur})
	return nil
}

// due releases INFO keys whose duration has passed (all of them when all is set).
func (s *Stream) due(all bool) {
	if all {
		s.dueBy(1<<62 - 1)
		return
	}
	s.dueBy(s.now)
}

// dueBy releases INFO keys that ended by t.
func (s *Stream) dueBy(t time.Duration) {
	if len(s.pending) == 0 {
		return
	}
	keep := s.pending[:0]
	var ready []Event
	for _, e := range s.pending {
		if e.End <= t {
			ready = append(ready, e)
		} else {
			keep = append(keep, e)
		}
	}
	clear(s.pending[len(keep):]) // the released keys' old places in the backing array
	s.pending = keep
	s.handle(ready, 0)
}

// Flush ends every key still held (end of input).
func (s *Stream) Flush() {
	s.handle(s.det.Flush(), s.detOffset())
	timeout := s.rx.Timeout
	s.rx.Timeout = 0
	s.handle(s.rx.Expire(s.now), 0)
	s.rx.Timeout = timeout
	s.due(true)
	s.forget(func(c *claim) bool { return c.active == 0 })
}

// handle merges evs into the stream, then zeroes them: the slices the detector, the receiver
// and dueBy hand over are the stream's to clear.
func (s *Stream) handle(evs []Event, off time.Duration) {
	for _, e := range evs {
		e.Start += off
		if e.End != 0 {
			e.End += off
			s.up(e)
		} else {
			s.dueBy(e.Start) // INFO keys that ended before this one began, first
			s.down(e)
		}
	}
	clear(evs)
}

func (s *Stream) down(e Event) {
	bit := uint8(1) << e.Source
	w := s.cfg.MergeWindow
	s.prune()
	for _, c := range s.claims {
		if c.ev.Digit != e.Digit || c.sources&bit != 0 {
			continue
		}
		if e.Start >= c.ev.Start-w && (e.Start-c.ev.Start <= w || c.firstHeld || e.Start < c.firstEnd+w/2) {
			c.sources |= bit
			c.active |= bit
			return
		}
	}
	c := &claim{ev: e, sources: bit, active: bit, end: e.Start, firstEnd: e.Start, firstHeld: true}
	s.claims = append(s.claims, c)
	if s.cfg.OnDigit != nil {
		s.cfg.OnDigit(e)
	}
}

func (s *Stream) up(e Event) {
	bit := uint8(1) << e.Source
	for i := len(s.claims) - 1; i >= 0; i-- {
		c := s.claims[i]
		if c.ev.Digit != e.Digit || c.active&bit == 0 {
			continue
		}
		c.active &^= bit
		if e.End > c.end {
			c.end = e.End
		}
		if c.active == 0 {
			s.pruneAt = min(s.pruneAt, c.end+claimRetention)
		}
		if e.Source == c.ev.Source {
			c.firstHeld, c.firstEnd = false, e.End
		}
		if c.active == 0 && !c.released {
			c.released = true
			if s.cfg.OnRelease == nil {
				return
			}
			r := c.ev
			r.End = c.end
			s.cfg.OnRelease(r)
		}
		return
	}
}

// prune forgets keypresses released claimRetention ago or more.
func (s *Stream) prune() {
	if s.now < s.pruneAt {
		return // the usual packet: no keypress to forget yet
	}
	s.forget(func(c *claim) bool { return c.active == 0 && s.now-c.end >= claimRetention })
}

// forget zeroes and drops the claims done says are done with, and works out when the next
// released one is due to go.
func (s *Stream) forget(done func(*claim) bool) {
	keep := s.claims[:0]
	s.pruneAt = noDeadline
	for _, c := range s.claims {
		if done(c) {
			*c = claim{} // the digit goes with it
			continue
		}
		keep = append(keep, c)
		if c.active == 0 {
			s.pruneAt = min(s.pruneAt, c.end+claimRetention)
		}
	}
	clear(s.claims[len(keep):])
	s.claims = keep
}

// Deadline reports how much of the stream's clock may pass before Advance has work to do: an
// RFC 4733 key whose events stopped ends (the receiver's Timeout after its last update), an
// INFO key's duration ends, a released keypress is forgotten (claimRetention after its
// release), or the in-band detector takes the time without audio as a gap (StallLimit). ok is
// false when none of these is pending. Between deadlines, one Advance of the whole time does
// what many small ones would: a caller that has nothing else to do (a session whose far end
// sends nothing) may sleep until then.
func (s *Stream) Deadline() (d time.Duration, ok bool) {
	at := s.pruneAt
	if c := s.rx.cur; c != nil {
		at = min(at, c.lastUpdate+s.rx.Timeout)
	}
	for _, e := range s.pending {
		at = min(at, e.End)
	}
	if !s.cfg.NoInband {
		at = min(at, s.now+StallLimit-s.idle)
	}
	if at == noDeadline {
		return 0, false
	}
	return max(at-s.now, 0), true
}

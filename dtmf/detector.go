package dtmf

import "time"

// Detector finds DTMF tones in 8 kHz linear audio: the in-band source of a call.
//
// It runs the Goertzel bank over 102-sample blocks that start every 51 samples (so block
// edges never line up with packet edges in a way that matters), and debounces per block:
//
//   - a key goes down after 4 consecutive blocks agree on it (a 20 ms burst can never do
//     that, 40 ms always does), and is reported at once as an Event with End == 0 — about
//     32 ms after the tone's onset;
//   - it goes up after 5 consecutive blocks that do not carry it (a dropout of up to 15 ms
//     keeps one key; 40 ms of silence always splits two), and is reported again, the same
//     Digit and Start, with End > 0;
//   - a different key for 4 blocks ends the current one and starts the new one.
//
// Times are offsets from the first sample the Detector saw, counting gaps, at 125 µs per
// sample. Feed it frames of any size; results do not depend on how audio is split.
// A Detector is not safe for concurrent use.
type Detector struct {
	bl  blocker
	lim *limits
	pos int64 // samples consumed, including gaps

	// The Masker shares this detector's filtering: each block is also judged under its wide
	// limits, and onMask gets the block's span when it looks like a tone.
	maskLim *limits
	onMask  func(from, to int64)

	cand      Digit
	candHits  int
	candStart int64

	cur        Digit
	curStart   int64
	lastHitEnd int64
	misses     int
}

const (
	beginBlocks = 4   // agreeing blocks before a key is down
	endBlocks   = 5   // disagreeing blocks before it is up
	maxBridge   = 480 // gaps up to 60 ms are bridged; longer ones end the key
)

// NewDetector returns a detector for 8 kHz audio.
func NewDetector() *Detector {
	return &Detector{bl: blocker{b: sharedBank}, lim: &strictLimits}
}

// SampleDuration converts a sample count at 8 kHz to a duration.
func SampleDuration(n int64) time.Duration { return time.Duration(n) * sampleNanos }

// sampleNanos is one sample's duration: exactly 125 µs at 8 kHz, so a multiplication replaces
// the division per packet.
const sampleNanos = time.Second / SampleRate

// Process feeds decoded audio and returns the key-down (End == 0) and key-up (End > 0)
// events that the audio completes, in order.
func (d *Detector) Process(pcm []int16) []Event {
	var out []Event
	for len(pcm) > 0 {
		n, full := d.bl.take(pcm)
		pcm = pcm[n:]
		out = d.took(n, full, out)
	}
	return out
}

// processULaw is Process for μ-law audio: the events Process gives for the decoded samples
// (DecodeULaw), without a decoded copy.
func (d *Detector) processULaw(src []byte) []Event {
	var out []Event
	for len(src) > 0 {
		n, full := d.bl.takeULaw(src)
		src = src[n:]
		out = d.took(n, full, out)
	}
	return out
}

// took counts n samples the blocker took and judges the block they completed (full).
func (d *Detector) took(n int, full bool, out []Event) []Event {
	d.pos += int64(n)
	if !full {
		return out
	}
	out = d.block(d.bl.analyze(d.lim, d.cur), out)
	if d.onMask != nil && d.bl.analyze(d.maskLim, 0) != 0 {
		d.onMask(d.pos-blockLen, d.pos)
	}
	d.bl.shift()
	return out
}

// Gap tells the detector that samples of audio were lost (a missing RTP packet). It is
// neither tone nor silence: a key held across a gap of up to 60 ms stays one key; a longer
// gap ends it (the returned event).
func (d *Detector) Gap(samples int) []Event {
	if samples <= 0 {
		return nil
	}
	d.bl.reset()
	d.pos += int64(samples)
	if samples <= maxBridge {
		return nil
	}
	d.cand, d.candHits = 0, 0
	return d.end(nil)
}

// Flush ends a key still held at the end of the input.
func (d *Detector) Flush() []Event { return d.end(nil) }

// Active reports the key currently held, if any.
func (d *Detector) Active() (Digit, bool) { return d.cur, d.cur != 0 }

// Pos returns the detector's clock: the offset of the next sample.
func (d *Detector) Pos() time.Duration { return SampleDuration(d.pos) }

func (d *Detector) end(out []Event) []Event {
	if d.cur == 0 {
		return out
	}
	out = append(out, Event{Digit: d.cur, Source: SourceInband,
		Start: SampleDuration(d.curStart), End: SampleDuration(d.lastHitEnd)})
	d.cur, d.misses = 0, 0
	return out
}

func (d *Detector) block(hit Digit, out []Event) []Event {
	start, end := d.pos-blockLen, d.pos
	if d.cur != 0 && hit == d.cur {
		d.misses = 0
		d.lastHitEnd = end
		d.cand, d.candHits = 0, 0
		return out
	}
	if d.cur != 0 {
		d.misses++
	}
	switch {
	case hit == 0:
		d.cand, d.candHits = 0, 0
	case hit == d.cand:
		d.candHits++
	default:
		d.cand, d.candHits, d.candStart = hit, 1, start
	}
	if d.cand != 0 && d.candHits >= beginBlocks {
		out = d.end(out)
		d.cur, d.curStart, d.lastHitEnd = d.cand, d.candStart, end
		d.cand, d.candHits, d.misses = 0, 0, 0
		return append(out, Event{Digit: d.cur, Source: SourceInband, Start: SampleDuration(d.curStart)})
	}
	if d.cur != 0 && d.misses >= endBlocks {
		out = d.end(out)
	}
	return out
}

// 8 kHz divides a second exactly: SampleDuration loses nothing to the multiplication.
var _ = [1]struct{}{}[time.Second%SampleRate]

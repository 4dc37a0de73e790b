package media

import (
	"sync"
	"time"

	"github.com/paybridge/paybridge/dtmf"
)

// A relay carries one direction of a bridge: the audio one session receives, decoded, to the
// frames another session sends, encoded in that session's codec (so PCMU↔PCMA transcoding is
// simply a decode on one side and an encode on the other).
//
//	source reader ──audio/gap──▶ [masker] ──▶ jitter FIFO ──pull──▶ destination sender (scheduler)
//	                                                    ▲ overlay: beeps, regenerated in-band keys
//
// The FIFO is the jitter buffer. It starts playing once it holds Target of audio, and plays a
// frame whenever the destination's scheduler asks for one; when a frame is due and the FIFO
// cannot fill it while the source is still sending, that frame is an underrun (a gap the far
// party hears): it is counted and the FIFO fills up to Target again before it plays on. More
// than Max of audio (a burst, the two ends' clocks drifting apart) is trimmed back to Target,
// oldest first. Silence the source suppresses is not an underrun: nothing was sent to play.
//
// While capture is on, the source's audio passes through a look-ahead masker before the FIFO
// (CaptureMasked: every tone removed, speech kept; CaptureSecure: only the fill), so no tone
// and no sample of a card entry ever enters the FIFO, the recording or the far leg.
type relay struct {
	mu sync.Mutex

	fifo   []int16 // ring
	r, n   int     // read position and depth, in samples
	primed bool
	target int // samples buffered before playing (and after an underrun)
	limit  int // more than this is trimmed back to target

	lastIn time.Time // last audio or gap from the source

	capture   CaptureMode
	masker    Masker
	newMasker func() Masker
	lookahead int // the masker's delay in samples, while one is in the path

	overlay []int16 // beeps and regenerated keys, played over (instead of) the audio
	ovPos   int

	rec *bridgeRecorder // nil: not recording
	ch  int             // this direction's channel in the recording

	st relayStats
}

// relayStats are one direction's figures.
type relayStats struct {
	frames    int64 // frames the destination asked for while the relay was attached
	played    int64 // frames that carried relayed audio
	underruns int64 // frames due while the source was sending that the FIFO could not fill
	trimmed   int64 // samples dropped because the FIFO held more than its limit
	maxDepth  int   // the deepest the FIFO was when a frame was taken (samples)
	sumDepth  int64 // sum of the depths at each frame played (samples)
	maxDelay  int   // maxDepth plus the masker's look-ahead when it was in the path (samples)
}

// sourceActive is how recently the source must have sent for an empty FIFO to be an underrun
// rather than the source's own silence suppression.
const sourceActive = 100 * time.Millisecond

func newRelay(target, limit time.Duration, newMasker func() Masker) *relay {
	t, l := samples(target), samples(limit)
	if l < t+480 {
		l = t + 480
	}
	return &relay{fifo: make([]int16, 2*l+2*maxFrameSamples), target: t, limit: l, newMasker: newMasker}
}

// maxFrameSamples is the largest frame a session receives or sends (30 ms at 8 kHz is 240;
// the receive buffer allows 480).
const maxFrameSamples = 480

func samples(d time.Duration) int { return int(d * 8000 / time.Second) }

// audio takes decoded samples from the source (its reader goroutine).
func (r *relay) audio(pcm []int16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastIn = time.Now()
	if r.masker != nil {
		pcm = r.masker.Process(pcm)
	}
	r.write(pcm)
}

// gap takes a loss of the source: the samples are played as silence, so that what follows
// keeps its place in time.
func (r *relay) gap(n int) {
	if n <= 0 {
		return
	}
	var zero [maxFrameSamples]int16
	for n > 0 {
		k := min(n, len(zero))
		r.audio(zero[:k])
		n -= k
	}
}

// write appends to the FIFO (r.mu held), trimming it when it is too deep.
func (r *relay) write(pcm []int16) {
	if len(pcm) > len(r.fifo) {
		pcm = pcm[len(pcm)-len(r.fifo):]
	}
	if r.n+len(pcm) > len(r.fifo) {
		r.drop(r.n + len(pcm) - len(r.fifo))
	}
	w := (r.r + r.n) % len(r.fifo)
	k := copy(r.fifo[w:], pcm)
	copy(r.fifo, pcm[k:])
	r.n += len(pcm)
	if r.n > r.limit {
		r.drop(r.n - r.target)
	}
}

// drop forgets the oldest n samples (r.mu held).
func (r *relay) drop(n int) {
	n = min(n, r.n)
	r.r = (r.r + n) % len(r.fifo)
	r.n -= n
	r.st.trimmed += int64(n)
}

// pull fills out with the next frame for the destination (its scheduler) and reports whether
// there is anything to send: relayed audio, an overlay, or both.
func (r *relay) pull(out []int16) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.st.frames++
	have := false
	if !r.primed && r.n >= r.target && r.n > 0 {
		r.primed = true
	}
	if r.primed {
		depth := r.n
		if r.n >= len(out) {
			r.read(out)
			have = true
		} else {
			if time.Since(r.lastIn) < sourceActive {
				r.st.underruns++
			}
			r.primed = false
			if r.n > 0 {
				k := r.n
				r.read(out[:k])
				clear(out[k:])
				have = true
			}
		}
		if have {
			r.st.played++
			r.st.sumDepth += int64(depth)
			r.st.maxDepth = max(r.st.maxDepth, depth)
			r.st.maxDelay = max(r.st.maxDelay, depth+r.lookahead)
		}
	}
	if r.ovPos < len(r.overlay) {
		if !have {
			clear(out)
		}
		k := copy(out, r.overlay[r.ovPos:])
		r.ovPos += k
		if r.ovPos >= len(r.overlay) {
			r.overlay, r.ovPos = r.overlay[:0], 0
		}
		have = true
	}
	if r.rec != nil {
		if have {
			r.rec.write(r.ch, out, r.capture)
		} else {
			r.rec.silence(r.ch, len(out), r.capture)
		}
	}
	return have
}

// read takes len(out) samples from the FIFO (r.mu held; r.n ≥ len(out)).
func (r *relay) read(out []int16) {
	k := copy(out, r.fifo[r.r:min(r.r+len(out), len(r.fifo))])
	copy(out[k:], r.fifo[:len(out)-k])
	r.r = (r.r + len(out)) % len(r.fifo)
	r.n -= len(out)
}

// play queues pcm to be played over the relayed audio (after what is queued already).
func (r *relay) play(pcm []int16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ovPos >= len(r.overlay) {
		r.overlay, r.ovPos = r.overlay[:0], 0
	}
	r.overlay = append(r.overlay, pcm...)
}

// setCapture changes the source side's masking. Leaving CaptureOff puts a fresh masker in the
// path (its look-ahead is the delay it adds: it first plays that much fill); returning to
// CaptureOff takes it out, dropping what its delay line held.
func (r *relay) setCapture(mode CaptureMode) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if mode == r.capture {
		return
	}
	r.capture = mode
	switch {
	case mode == CaptureOff:
		r.masker, r.lookahead = nil, 0
	case r.masker == nil:
		r.masker = r.newMasker()
		if l, ok := r.masker.(interface{ Lookahead() time.Duration }); ok {
			r.lookahead = samples(l.Lookahead())
		}
	}
	if r.masker != nil {
		r.masker.SetSecure(mode == CaptureSecure)
	}
}

func (r *relay) stats() relayStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st
}

// toneOf is the in-band form of a key regenerated towards a leg that did not negotiate
// telephone-event: 100 ms of the key's tone pair at a phone's level, then 60 ms of silence.
func toneOf(d dtmf.Digit) []int16 {
	opt := dtmf.DefaultToneOptions()
	opt.Duration = regenDuration
	tone := dtmf.GenerateDigit(d, opt)
	return append(tone, make([]int16, samples(60*time.Millisecond))...)
}

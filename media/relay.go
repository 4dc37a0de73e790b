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
// frame whenever the destination's scheduler asks for one. When a frame is due and the FIFO
// cannot fill it, the FIFO fills up to Target again before it plays on; if the source's audio
// then arrives within sourceActive, those frames were late audio — a gap the far party heard —
// and are counted as skipped. A longer pause is the source's own silence (suppression, hold),
// and so is a pause around telephone-events the source sent instead of audio: nothing was
// sent to play.
//
// Late audio is delayed, never cut or split: the far end may be a DTMF reader (a provider's
// capture line takes the card from the caller's tones through the bridge). When the FIFO ran
// dry because the source was late — its stream goes on with no new talkspurt (paused) — the
// audio that follows continues the talkspurt (continues: the destination sends it without a
// marker, so a reader hears one tone, not two). A FIFO that has held more than Target for a
// whole second (a burst left it deeper) sheds one frame at a time, and one that holds more
// than Max (a stall of the destination's scheduler; the two ends' clocks drifting apart) is
// brought back towards Target at once; both shed only silence (shedQuiet), keeping the start
// of every pause so that two keys stay two: the delay never builds up, and no tone is lost
// unless a stall outlasts the FIFO's room (stallRoom).
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

	lastEvent time.Time // last telephone-event the source sent (in place of audio)
	// late: the FIFO ran dry with a frame due and the source has not said it paused (a new
	// talkspurt, a telephone-event) since; resumed: the frame just played continued it.
	late, resumed bool
	shedAt        int       // the depth the last shedding left (0: below the limit since)
	starved       time.Time // when the FIFO last ran dry with a frame due (zero: it has not)
	starvedN      int64     // frames due since then
	minDepth      int       // the shallowest the FIFO was at a pull in this window
	windowN       int       // pulls in this window

	capture   CaptureMode
	masker    Masker
	newMasker func() Masker
	lookahead int // the masker's delay in samples, while one is in the path
	// releasing: the capture is off but the masker stays in the path (tones removed) until
	// the source has sent releaseAfter of audio with no tone in it; heard counts that audio.
	releasing bool
	heard     int

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

// sourceActive: audio that arrives within this of the FIFO running dry was late (the frames
// due meanwhile are skipped frames); after a longer pause the source was silent.
const sourceActive = 100 * time.Millisecond

// shrinkWindow is how many pulls (1 s of 20 ms frames) the FIFO must stay above Target before
// it sheds a frame.
const shrinkWindow = 50

func newRelay(target, limit time.Duration, newMasker func() Masker) *relay {
	t, l := samples(target), samples(limit)
	if l < t+480 {
		l = t + 480
	}
	return &relay{fifo: make([]int16, l+samples(stallRoom)+2*maxFrameSamples), target: t, limit: l, newMasker: newMasker}
}

// stallRoom is how long a stall of the destination's scheduler the FIFO holds beyond its
// limit without dropping audio that is not silence (16 KB a direction at 8 kHz).
const stallRoom = 1000 * time.Millisecond

// Shedding delay (shedQuiet): a 20 ms frame whose peak is below quietPeak (−45 dBm0, far
// under any keypad tone a reader accepts) is silence; the first keepQuiet of every run of
// silence is kept (more than the 40 ms pause that separates two keys).
var quietPeak = int16(dtmf.DBm0ToPeak(-45))

const (
	quietFrame = 160
	keepQuiet  = 3 * quietFrame
)

// maxFrameSamples is the largest frame a session receives or sends (30 ms at 8 kHz is 240;
// the receive buffer allows 480).
const maxFrameSamples = 480

func samples(d time.Duration) int { return int(d * 8000 / time.Second) }

// releaseAfter is how much of the source's own audio (samples received, never wall time and
// never the silence played for lost packets) must pass without a tone before the masker
// leaves the path once a capture is off. A key whose tone was cut by a stall or by lost
// packets — the field ended and the payment completed on its first 40 ms — goes on in the
// audio that comes after, however late that comes; so does a card the caller goes on keying
// after the agent cancels. 5 s is longer than the pause between two keys of one entry.
const releaseAfter = 5 * time.Second

// audio takes decoded samples from the source (its reader goroutine).
func (r *relay) audio(pcm []int16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.take(pcm, true)
}

// take passes samples from the source (own: sent by it, not the silence of a loss) through
// the masker into the FIFO (r.mu held).
func (r *relay) take(pcm []int16, own bool) {
	now := time.Now()
	r.lastIn = now
	if !r.starved.IsZero() {
		if now.Sub(r.starved) < sourceActive && r.lastEvent.Before(r.starved.Add(-sourceActive)) {
			r.st.underruns += r.starvedN
		}
		r.starved, r.starvedN = time.Time{}, 0
	}
	if r.masker != nil {
		pcm = r.masker.Process(pcm)
		if r.releasing {
			r.release(len(pcm), own)
		}
	}
	r.write(pcm)
}

// toneClock is a Masker that tells how long ago it last masked a tone (dtmf.Masker).
type toneClock interface{ SinceTone() time.Duration }

// release counts n samples towards taking the masker out of the path after a capture (r.mu
// held): own audio counts, a tone starts the count again. Its delay line is dropped with it:
// audio judged free of tones for releaseAfter, and the newest few milliseconds not judged yet.
func (r *relay) release(n int, own bool) {
	if tc, ok := r.masker.(toneClock); ok && samples(tc.SinceTone()) <= n {
		r.heard = 0 // a tone in this audio (or its guard reaching into it)
		return
	}
	if own {
		r.heard += n
	}
	if r.heard >= samples(releaseAfter) {
		r.masker, r.lookahead, r.releasing, r.heard = nil, 0, false, 0
	}
}

// event notes a telephone-event packet of the source: it sends that instead of audio, so the
// FIFO running dry meanwhile is no gap of the relay's making.
func (r *relay) event() {
	r.mu.Lock()
	r.lastEvent = time.Now()
	r.late = false
	r.mu.Unlock()
}

// paused notes that the source's next audio starts a new talkspurt after time it skipped
// (silence suppression: the marker bit and a timestamp jump). The FIFO running dry before it
// was the source's own silence, and the far end must hear it as such.
func (r *relay) paused() {
	r.mu.Lock()
	r.late = false
	r.mu.Unlock()
}

// continues reports whether the frame just pulled continued the source's talkspurt after the
// FIFO ran dry because the source was late: the destination sends it as the same talkspurt
// (no marker), since nothing of the source's was left out — only delayed.
func (r *relay) continues() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.resumed
	r.resumed = false
	return c
}

// gap takes a loss of the source: the samples are played as silence, so that what follows
// keeps its place in time.
func (r *relay) gap(n int) {
	if n <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var zero [maxFrameSamples]int16
	for n > 0 {
		k := min(n, len(zero))
		r.take(zero[:k], false)
		n -= k
	}
}

// write appends to the FIFO (r.mu held), shedding silence when it is too deep; audio that is
// not silence is dropped, oldest first, only when the FIFO has no room left for pcm.
func (r *relay) write(pcm []int16) {
	if len(pcm) > len(r.fifo) {
		pcm = pcm[len(pcm)-len(r.fifo):]
	}
	if over := r.n + len(pcm) - len(r.fifo); over > 0 {
		r.shedQuiet(r.n - r.target)
		if over = r.n + len(pcm) - len(r.fifo); over > 0 {
			r.drop(over)
		}
		r.shedAt = r.n
	}
	w := (r.r + r.n) % len(r.fifo)
	k := copy(r.fifo[w:], pcm)
	copy(r.fifo, pcm[k:])
	r.n += len(pcm)
	switch {
	case r.n <= r.limit:
		r.shedAt = 0
	case r.n >= r.shedAt+keepQuiet: // at most once per 60 ms of growth: a scan costs a pass over the FIFO
		r.shedQuiet(r.n - r.target)
		r.shedAt = r.n
	}
}

// shedQuiet takes up to want samples of silence out of the FIFO (r.mu held), oldest first, in
// place, keeping the first keepQuiet of every run of silent frames; it returns how many it
// took. Tones and speech are never shed: only delay made of silence.
func (r *relay) shedQuiet(want int) int {
	size := len(r.fifo)
	at := func(j int) int { return (r.r + j) % size }
	dst, shed, run := 0, 0, 0
	for src := 0; src < r.n; src += quietFrame {
		n := min(quietFrame, r.n-src)
		quiet := n == quietFrame
		for k := 0; quiet && k < n; k++ {
			v := r.fifo[at(src+k)]
			quiet = v < quietPeak && v > -quietPeak
		}
		if !quiet {
			run = 0
		} else if run += n; run > keepQuiet && shed < want {
			k := min(n, want-shed)
			shed += k
			if k == n {
				continue
			}
			// part of the frame is shed: keep its newest samples
			for j := k; j < n; j++ {
				r.fifo[at(dst+j-k)] = r.fifo[at(src+j)]
			}
			dst += n - k
			continue
		}
		if dst != src {
			for j := 0; j < n; j++ {
				r.fifo[at(dst+j)] = r.fifo[at(src+j)]
			}
		}
		dst += n
	}
	r.n = dst
	r.st.trimmed += int64(shed)
	return shed
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
	if !r.primed && !r.starved.IsZero() {
		r.starvedN++
	}
	if r.primed {
		depth := r.n
		r.shrink(depth, len(out))
		depth = r.n
		wasLate := r.late
		r.late = false
		if r.n >= len(out) {
			r.read(out)
			have = true
		} else {
			r.starved, r.starvedN = time.Now(), 1
			r.primed = false
			r.late = true
			if r.n > 0 {
				k := r.n
				r.read(out[:k])
				clear(out[k:])
				have = true
			}
		}
		if have {
			r.resumed = wasLate
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

// shrink sheds one frame when the FIFO has stayed deeper than Target by more than a frame for
// a whole window (r.mu held).
func (r *relay) shrink(depth, frame int) {
	if r.windowN == 0 || depth < r.minDepth {
		r.minDepth = depth
	}
	r.windowN++
	if r.windowN < shrinkWindow {
		return
	}
	if excess := r.minDepth - r.target; excess > frame/2 {
		r.shedQuiet(min(excess, frame))
	}
	r.windowN = 0
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
// path (its look-ahead is the delay it adds: it first plays that much fill), or keeps the one
// still being released; returning to CaptureOff leaves it in the path, removing tones, until
// the source has sent releaseAfter of audio without one (release), then takes it out,
// dropping what its delay line held.
func (r *relay) setCapture(mode CaptureMode) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if mode == r.capture {
		return
	}
	r.capture = mode
	r.releasing, r.heard = mode == CaptureOff && r.masker != nil, 0
	switch {
	case mode == CaptureOff:
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

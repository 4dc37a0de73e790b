package media

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paybridge/paybridge/dtmf"
)

// CaptureMode is what a bridge lets through from its first session (the caller) to the
// second (the agent) while a card is being taken.
type CaptureMode int32

const (
	// CaptureOff relays the caller as is — once a capture has ended, only after the caller
	// has sent 5 s of audio without a tone (until then tones are still removed, as in
	// CaptureMasked): the rest of a key cut by a stall or a loss is never let through.
	CaptureOff CaptureMode = iota
	// CaptureMasked: a payment is open. Every tone is removed from the caller's audio by the
	// look-ahead masker (speech passes, later by the masker's look-ahead); the caller's keys
	// are not regenerated towards the agent.
	CaptureMasked
	// CaptureSecure: a card field is being taken. The agent gets only the masker's fill (and
	// the beeps the bridge is asked to play), never a sample of the caller.
	CaptureSecure
)

func (m CaptureMode) String() string {
	switch m {
	case CaptureMasked:
		return "masked"
	case CaptureSecure:
		return "secure"
	}
	return "off"
}

// BridgeConfig configures a Bridge. The zero value is the recommended setting.
type BridgeConfig struct {
	// JitterTarget is how much audio each direction buffers before it plays (default 40 ms):
	// the lateness of the source's packets it absorbs without a gap.
	JitterTarget time.Duration
	// JitterMax trims a direction's buffer back to JitterTarget when it holds more (default
	// 200 ms): bursts and clock drift never build up delay.
	JitterMax time.Duration
	// NewMasker makes the maskers of the caller→agent direction and of the recording
	// (default dtmf.NewMasker with its defaults: 60 ms look-ahead).
	NewMasker func() Masker
}

// Bridge relays audio both ways between two sessions of one call — a caller's leg (a) and
// the leg placed towards an agent, a PBX or a provider's capture line (b) — through the media
// layer: decoded on one side, re-encoded on the other (PCMU↔PCMA transcoding included), paced
// by the sessions' one Scheduler, through a jitter buffer per direction. RFC 4733 events are
// never forwarded as received; SendDigit regenerates a key on the other leg in that leg's own
// terms (its payload type, SSRC, sequence and timestamps, or in-band tones when it negotiated
// no telephone-event).
//
// The caller→agent direction can be masked (SetCapture) and carries the beeps Beep asks for;
// Record writes both directions, after a masker, to one WAV file. A bridge lives from
// NewBridge to Close; the sessions outlive it.
type Bridge struct {
	a, b   *Session
	ab, ba *relay // a→b (caller to agent), b→a
	cfg    BridgeConfig

	capture atomic.Int32

	recMu sync.Mutex
	rec   *bridgeRecorder

	closeOne sync.Once
	started  time.Time
}

// NewBridge connects a and b: from now on what a receives is what b sends between its
// prompts, and the other way round. Both sessions must use the same Scheduler.
func NewBridge(a, b *Session, cfg BridgeConfig) *Bridge {
	if cfg.JitterTarget <= 0 {
		cfg.JitterTarget = 40 * time.Millisecond
	}
	if cfg.JitterMax <= 0 {
		cfg.JitterMax = 200 * time.Millisecond
	}
	if cfg.NewMasker == nil {
		cfg.NewMasker = func() Masker { return dtmf.NewMasker(dtmf.MaskerConfig{}) }
	}
	br := &Bridge{a: a, b: b, cfg: cfg, started: time.Now(),
		ab: newRelay(cfg.JitterTarget, cfg.JitterMax, cfg.NewMasker),
		ba: newRelay(cfg.JitterTarget, cfg.JitterMax, cfg.NewMasker)}
	br.ba.ch = 1
	a.link.attach(br.ab, br.ba)
	b.link.attach(br.ba, br.ab)
	a.sched.wake(a) // each leg now sends the other's audio every frame
	b.sched.wake(b)
	return br
}

// Close detaches the bridge from both sessions and closes its recording.
func (br *Bridge) Close() {
	br.closeOne.Do(func() {
		br.a.link.detach(br.ab, br.ba)
		br.b.link.detach(br.ba, br.ab)
		br.StopRecording()
	})
}

// SetCapture sets what the caller→agent direction lets through (and how the recording is
// masked).
func (br *Bridge) SetCapture(mode CaptureMode) {
	br.capture.Store(int32(mode))
	br.ab.setCapture(mode)
	br.ba.mu.Lock()
	br.ba.capture = mode // the recording of the agent's side follows the same window
	br.ba.mu.Unlock()
}

// Capture is the mode in force.
func (br *Bridge) Capture() CaptureMode { return CaptureMode(br.capture.Load()) }

// Masking reports whether the caller's keys are kept from the agent: during a capture, and
// after one until the caller has sent 5 s of audio without a tone (the tail of a key cut by a
// stall, keys typed on after a cancel). A key the caller sends meanwhile — in-band or not —
// should reach the agent as a beep, never regenerated.
func (br *Bridge) Masking() bool {
	if br.Capture() != CaptureOff {
		return true
	}
	br.ab.mu.Lock()
	defer br.ab.mu.Unlock()
	return br.ab.masker != nil
}

// beepTone is the neutral beep the agent hears for each key the caller presses during a
// capture: one 1 kHz tone (no DTMF pair, the same whatever the key), 80 ms at −15 dBm0.
var beepTone = func() []int16 {
	n := samples(80 * time.Millisecond)
	pcm := make([]int16, n+samples(40*time.Millisecond))
	amp := dtmf.DBm0ToPeak(-15)
	edge := samples(5 * time.Millisecond)
	for i := 0; i < n; i++ {
		env := 1.0 // a raised-cosine edge of 5 ms each side: no click
		if k := min(i, n-i); k < edge {
			env = 0.5 - 0.5*math.Cos(float64(k)/float64(edge)*math.Pi)
		}
		pcm[i] = int16(amp * env * math.Sin(2*math.Pi*1000*float64(i)/8000))
	}
	return pcm
}()

// Beep plays the neutral beep towards the agent (b).
func (br *Bridge) Beep() { br.ab.play(beepTone) }

// SendDigit regenerates key d on leg to (a or b): RFC 4733 events of that leg's own stream
// when it negotiated telephone-event, else the key's tones over the relayed audio.
func (br *Bridge) SendDigit(to *Session, d dtmf.Digit) error {
	if to != br.a && to != br.b {
		return ErrNotBridged
	}
	if err := to.SendDigit(d, regenDuration); err == nil {
		return nil
	}
	if _, _, ok := d.Freqs(); !ok {
		return dtmf.ErrNotDigit
	}
	r := br.ab
	if to == br.a {
		r = br.ba
	}
	r.play(toneOf(d))
	return nil
}

// regenDuration is how long a regenerated key lasts: a phone's typical press.
const regenDuration = 100 * time.Millisecond

// BridgeStats are a bridge's figures for one direction.
type BridgeStats struct {
	Frames    int64         `json:"frames"`             // frames the receiving leg's scheduler asked for
	Played    int64         `json:"played"`             // frames that carried relayed audio or a beep
	Underruns int64         `json:"frames_skipped"`     // frames due while the source was sending, with nothing to play
	Trimmed   time.Duration `json:"trimmed_ns"`         // audio dropped to keep the delay down
	MaxDelay  time.Duration `json:"max_added_delay_ns"` // the most any played sample waited: jitter buffer + masker look-ahead
	MeanDelay time.Duration `json:"mean_buffer_ns"`     // the jitter buffer's mean depth at playout
}

// Stats returns the figures of the caller→agent direction (toB) and of agent→caller (toA).
func (br *Bridge) Stats() (toB, toA BridgeStats) {
	return br.ab.stats().public(), br.ba.stats().public()
}

func (s relayStats) public() BridgeStats {
	b := BridgeStats{Frames: s.frames, Played: s.played, Underruns: s.underruns,
		Trimmed:  time.Duration(s.trimmed) * time.Second / 8000,
		MaxDelay: time.Duration(s.maxDelay) * time.Second / 8000}
	if s.played > 0 {
		b.MeanDelay = time.Duration(s.sumDepth/s.played) * time.Second / 8000
	}
	return b
}

// sessionLink is a session's side of a bridge (the Session embeds it): where its received
// audio goes and what it sends between prompts.
type sessionLink struct {
	in  atomic.Pointer[relay] // fed by the session's reader
	out atomic.Pointer[relay] // pulled by the session's sender
}

func (l *sessionLink) attach(in, out *relay) {
	l.in.Store(in)
	l.out.Store(out)
}

func (l *sessionLink) detach(in, out *relay) {
	l.in.CompareAndSwap(in, nil)
	l.out.CompareAndSwap(out, nil)
}

// DigitsPending reports whether keys regenerated towards leg to are still being sent (RFC 4733
// events queued on it, or tones queued over its relayed audio).
func (br *Bridge) DigitsPending(to *Session) bool {
	if to.DigitsPending() > 0 {
		return true
	}
	r := br.ab
	if to == br.a {
		r = br.ba
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ovPos < len(r.overlay)
}

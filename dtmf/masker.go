package dtmf

import "time"

// MaskerConfig configures a Masker. The zero value is the recommended setting.
type MaskerConfig struct {
	// Lookahead is the delay the Masker adds (default 60 ms, minimum 25 ms). It must cover a
	// block (12.75 ms) plus Guard, and the longest hole between tone fragments it bridges.
	Lookahead time.Duration
	// Guard is how far before and after a tone the fill extends (default 10 ms).
	Guard time.Duration
	// Bridge fills the hole between two masked spans that are at most this far apart, so no
	// fragment of a tone survives between them (default 30 ms; capped by Lookahead).
	Bridge time.Duration
}

// Masker removes DTMF tones from audio that is forwarded or kept (a recording, an agent leg),
// so that no digit can be recovered from it.
//
// It is a delay line: audio comes out Lookahead later than it went in, and every sample that
// lies within Guard of a block that looks even remotely like a tone pair (much wider limits
// than the Detector's: any level down to −50 dBm0, any twist within 20 dB, a third of the
// block's energy) is replaced — not attenuated — by the fill, which is silence whatever the
// digit. Because the decision is made before the audio leaves, the onset of a tone is removed
// too, which no "mute when detected" scheme can do.
//
// SetSecure(true) replaces all audio with the fill, including what is still in the delay
// line: the mode for the whole card-capture window, where the caller talking over the keys
// would otherwise make tone gating leaky.
//
// A Masker is not safe for concurrent use.
type Masker struct {
	det *Detector // filters the audio (once) and counts the keys that were masked

	delay  []int16
	masked []bool
	pos    int64 // samples taken in

	guard, bridge int64
	maskTo        int64 // samples before this are masked as they arrive
	spanEnd       int64 // end of the last masked span
	secure        bool
	keys          int
}

// NewMasker returns a masker.
func NewMasker(cfg MaskerConfig) *Masker {
	if cfg.Lookahead == 0 {
		cfg.Lookahead = 60 * time.Millisecond
	}
	if cfg.Lookahead < 25*time.Millisecond {
		cfg.Lookahead = 25 * time.Millisecond
	}
	if cfg.Guard <= 0 {
		cfg.Guard = 10 * time.Millisecond
	}
	if cfg.Bridge <= 0 {
		cfg.Bridge = 30 * time.Millisecond
	}
	l := int64(samplesOf(cfg.Lookahead))
	m := &Masker{
		det:    NewDetector(),
		delay:  make([]int16, l),
		masked: make([]bool, l),
		guard:  int64(samplesOf(cfg.Guard)),
		bridge: int64(samplesOf(cfg.Bridge)),
	}
	// a tone must be fully decided before its first guarded sample leaves the line
	if m.guard > l-blockLen-1 {
		m.guard = max(0, l-blockLen-1)
	}
	if maxBridge := l - blockLen - 1 - m.guard; m.bridge > maxBridge {
		m.bridge = max(0, maxBridge)
	}
	m.spanEnd = -1 << 40
	m.det.maskLim, m.det.onMask = &maskLimits, m.mark
	return m
}

// Lookahead returns the delay the masker adds.
func (m *Masker) Lookahead() time.Duration { return SampleDuration(int64(len(m.delay))) }

// SinceTone returns how much audio the masker has taken in since the end of the last span it
// masked as a tone (its guard included): zero while a tone is being masked, and the whole of
// its input when it never saw one. It counts samples, never wall time. Audio still in the
// delay line has been judged only up to the last complete half block.
func (m *Masker) SinceTone() time.Duration {
	return SampleDuration(max(0, m.pos-m.spanEnd))
}

// Masked returns how many keys (tone pairs the Detector would report) have been masked.
func (m *Masker) Masked() int { return m.keys }

// SetSecure turns the secure window on (all audio becomes fill, from the audio still in the
// delay line onwards) or off (audio taken in from now on passes, tones still masked).
func (m *Masker) SetSecure(on bool) {
	m.secure = on
	if on {
		for i := range m.masked {
			m.masked[i] = true
		}
	}
}

// Process takes len(pcm) samples in and returns as many out, Lookahead late (the first
// Lookahead of output is fill). The returned slice is new; pcm is not modified.
func (m *Masker) Process(pcm []int16) []int16 {
	out := make([]int16, len(pcm))
	l := int64(len(m.delay))
	rest, o := pcm, 0
	for len(rest) > 0 {
		// up to the next half-block boundary: the detector judges the block (and marks it
		// through onMask) before these samples push older ones out of the line
		n := min(len(rest), m.det.bl.room())
		for _, e := range m.det.Process(rest[:n]) {
			if e.End == 0 {
				m.keys++
			}
		}
		for _, s := range rest[:n] {
			p := m.pos
			k := p % l
			if p >= l && !m.masked[k] {
				out[o] = m.delay[k]
			} // else fill: silence
			o++
			m.delay[k] = s
			m.masked[k] = m.secure || p < m.maskTo
			m.pos++
		}
		rest = rest[n:]
	}
	return out
}

// mark masks [from−guard, to+guard), bridging to the previous span when close.
func (m *Masker) mark(from, to int64) {
	from -= m.guard
	to += m.guard
	if from-m.spanEnd <= m.bridge {
		from = m.spanEnd
	}
	l := int64(len(m.delay))
	oldest := m.pos - l // samples before this have left the line
	for q := max(from, oldest, 0); q < m.pos; q++ {
		m.masked[q%l] = true
	}
	if to > m.maskTo {
		m.maskTo = to
	}
	if to > m.spanEnd {
		m.spanEnd = to
	}
}

// Flush returns the audio still in the delay line (Lookahead of it) and resets nothing:
// processing may continue afterwards as if silence had been taken in.
func (m *Masker) Flush() []int16 {
	return m.Process(make([]int16, len(m.delay)))
}

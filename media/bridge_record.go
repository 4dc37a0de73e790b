package media

import "sync"

// RecordOptions say how a bridge records.
type RecordOptions struct {
	// Dual writes a stereo file: the caller (what the agent heard of them) on the left
	// channel, the agent (what the caller heard) on the right. Otherwise the two are mixed
	// into one mono channel.
	Dual bool
	// PauseDuringCapture writes nothing at all while a payment is open (SetCapture other than
	// CaptureOff): the file is shorter by the capture. Otherwise the capture is in the file
	// as it was masked, the caller's side as fill.
	PauseDuringCapture bool
}

// Record starts recording both directions of the bridge to a new WAV file at path (8 kHz,
// 16-bit; mode 0600; an existing file is never overwritten). Each direction is written as it
// was played to the other leg and then through a masker of its own, so no key tone survives
// in either channel, and while a card field is taken (CaptureSecure) the caller's channel is
// the fill. Recording when already recording does nothing.
func (br *Bridge) Record(path string, opt RecordOptions) error {
	br.recMu.Lock()
	defer br.recMu.Unlock()
	if br.rec != nil {
		return nil
	}
	ch := 1
	if opt.Dual {
		ch = 2
	}
	w, err := createWAVChannels(path, ch)
	if err != nil {
		return err
	}
	rec := &bridgeRecorder{w: w, dual: opt.Dual, pause: opt.PauseDuringCapture,
		maskers: [2]Masker{br.cfg.NewMasker(), br.cfg.NewMasker()}}
	br.rec = rec
	for _, r := range []*relay{br.ab, br.ba} {
		r.mu.Lock()
		r.rec = rec
		r.mu.Unlock()
	}
	return nil
}

// StopRecording closes the recording, if any, and reports the error of writing its end.
func (br *Bridge) StopRecording() error {
	br.recMu.Lock()
	defer br.recMu.Unlock()
	if br.rec == nil {
		return nil
	}
	for _, r := range []*relay{br.ab, br.ba} {
		r.mu.Lock()
		r.rec = nil
		r.mu.Unlock()
	}
	err := br.rec.close()
	br.rec = nil
	return err
}

// bridgeRecorder writes the two directions of a bridge side by side. Each direction hands it
// every frame its destination's scheduler asked for (silence when nothing was sent), so the
// two channels advance together; what one has written ahead of the other waits for it.
type bridgeRecorder struct {
	mu      sync.Mutex
	w       *wavWriter
	dual    bool
	pause   bool
	maskers [2]Masker
	pending [2][]int16
	closed  bool
	scratch []int16
}

// maxPending bounds what one channel may run ahead of the other (2 s): a stalled direction
// cannot grow memory.
const maxPending = 2 * 8000

func (rec *bridgeRecorder) silence(ch, n int, capture CaptureMode) {
	var zero [maxFrameSamples]int16
	for n > 0 {
		k := min(n, len(zero))
		rec.write(ch, zero[:k], capture)
		n -= k
	}
}

// write takes one frame of channel ch (its relay's lock held).
func (rec *bridgeRecorder) write(ch int, pcm []int16, capture CaptureMode) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.closed || rec.pause && capture != CaptureOff {
		return
	}
	m := rec.maskers[ch]
	m.SetSecure(ch == 0 && capture == CaptureSecure)
	out := m.Process(pcm)
	p := append(rec.pending[ch], out...)
	if len(p) > maxPending {
		p = p[len(p)-maxPending:]
	}
	rec.pending[ch] = p
	rec.flush()
}

// flush writes what both channels have (rec.mu held).
func (rec *bridgeRecorder) flush() {
	n := min(len(rec.pending[0]), len(rec.pending[1]))
	if n == 0 {
		return
	}
	l, r := rec.pending[0][:n], rec.pending[1][:n]
	if rec.dual {
		if cap(rec.scratch) < 2*n {
			rec.scratch = make([]int16, 2*n)
		}
		out := rec.scratch[:2*n]
		for i := range n {
			out[2*i], out[2*i+1] = l[i], r[i]
		}
		rec.w.Write(out)
	} else {
		if cap(rec.scratch) < n {
			rec.scratch = make([]int16, n)
		}
		out := rec.scratch[:n]
		for i := range n {
			out[i] = int16(max(-32768, min(32767, int32(l[i])+int32(r[i]))))
		}
		rec.w.Write(out)
	}
	rec.pending[0] = append(rec.pending[0][:0], rec.pending[0][n:]...)
	rec.pending[1] = append(rec.pending[1][:0], rec.pending[1][n:]...)
}

func (rec *bridgeRecorder) close() error {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.closed = true
	return rec.w.Close()
}

// PauseDuringCapture changes whether the recording pauses while a payment is open (the plan
// or the API may ask for it per payment).
func (br *Bridge) PauseDuringCapture(on bool) {
	br.recMu.Lock()
	rec := br.rec
	br.recMu.Unlock()
	if rec == nil {
		return
	}
	rec.mu.Lock()
	rec.pause = on
	rec.mu.Unlock()
}

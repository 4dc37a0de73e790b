package media

import "sync"

// Playing is a prompt started by StartPlay: the samples go out frame by frame from the
// scheduler's tick, as with Play, but nothing waits for them. Its owner watches Done beside
// whatever else it waits for (a call's keys, its end) and calls Stop once, when it is done
// with the prompt, whether it played out or not. So a call that plays a prompt while it
// listens for keys needs no goroutine blocked in Play per prompt — that goroutine, its
// creation and the two hand-offs around it (the prompt's end to it, it to the call) were the
// largest source of scheduler work per prompt (docs/sip.md, "Wake-ups per call").
type Playing struct {
	m      *Session
	pb     *playback
	shared *sharedEncoding
	once   sync.Once
	err    error
}

// StartPlay queues 8 kHz PCM like Play and returns at once. A new playback (Play or
// StartPlay) replaces one in progress, whose Done is then closed and whose Stop says nil. It
// returns ErrClosed when the session has closed. pcm must not change until Stop: sessions
// playing the same samples share one encoding of them (encoded.go).
func (m *Session) StartPlay(pcm []int16) (*Playing, error) {
	shared := acquireEncoding(pcm)
	pb := &playback{pcm: pcm, done: make(chan struct{}), codec: m.curParams().Codec}
	pb.enc = shared.forCodec(pb.codec, pcm)
	m.playMu.Lock()
	select {
	case <-m.closed:
		m.playMu.Unlock()
		releaseEncoding(shared)
		return nil, ErrClosed
	default:
	}
	if m.play != nil {
		close(m.play.done)
	}
	m.play = pb
	m.playMu.Unlock()
	m.sched.wake(m)
	return &Playing{m: m, pb: pb, shared: shared}, nil
}

// Done is closed when the prompt has been sent, was replaced by another, was stopped, or the
// session closed.
func (p *Playing) Done() <-chan struct{} { return p.pb.done }

// Stop ends the prompt if it still plays (no frame of it goes out after Stop returns) and lets
// go of its samples. It returns ErrClosed when the session has closed (Play's error in that
// case), else nil: the prompt played out, was replaced, or stopped here. Later calls return
// the same.
func (p *Playing) Stop() error {
	p.once.Do(func() {
		p.m.detach(p.pb) // under playMu: no frame reads the encoding after this
		releaseEncoding(p.shared)
		p.shared = nil
		select {
		case <-p.m.closed:
			p.err = ErrClosed
		default:
		}
	})
	return p.err
}

package media

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// keepAlive is how often a packet of silence goes out while nothing plays. Between prompts
// the stream is silence-suppressed (RFC 3551: the timestamp keeps running, the sequence
// number counts only packets sent, the marker flags the start of each talkspurt); the
// keep-alive holds NAT bindings and far-end RTP timeouts open.
const keepAlive = time.Second

// idleAfter is how long without RTP before the DTMF clock is advanced by wall time (RFC 4733
// and INFO keys end on it). It is never advanced while the reader is behind (readerBehind):
// packets merely queued by a stall of this process carry that time themselves. The in-band
// detector, besides, does not take advanced time as a gap until dtmf.StallLimit: packets
// queued by a stall of the network or the far end arrive late, in order, and are decoded as
// sent, so a stall never splits a key.
const idleAfter = 500 * time.Millisecond

// readerBehind reports whether datagrams are waiting for the reader: one in hand, or bytes
// in the socket's receive queue.
func (m *Session) readerBehind() bool {
	if m.reading.Load() {
		return true
	}
	if upperBound { // only the measurement build of issue 17's upper bound asks no kernel (upperbound_on.go)
		return false
	}
	st, err := m.socketState()
	return err == nil && st.Queued > 0
}

// tick is the scheduler's visit: it sends every frame that is due, and returns when the
// session next needs a visit (the zero time: the next tick).
func (m *Session) tick(now time.Time) time.Time {
	p := m.curParams() // immutable: read in place, not copied
	frame := time.Duration(p.PTime) * time.Millisecond
	if frame <= 0 {
		frame = 20 * time.Millisecond
	}
	if !m.started {
		m.started = true
		m.nextDue = now
	}
	if m.parked {
		// The session slept through frames it had nothing to send in (silence suppressed):
		// its RTP clock ran on all the same. They are frames produced on time, not skipped.
		if k := now.Sub(m.nextDue) / frame; k > 0 {
			m.ts += uint32(int64(k) * int64(p.PTime*8))
			m.nextDue = m.nextDue.Add(k * frame)
			m.sched.jitter.frames.Add(int64(k))
		}
		m.parked = false
	}
	m.advanceIdle(now)
	m.checkTimeout(p, now)
	// A frame due within half a tick is sent now: the ticker's own phase must not make every
	// packet a tick late.
	sent := 0
	for ; !now.Add(schedInterval/2).Before(m.nextDue) && sent < 3; sent++ {
		late := max(now.Sub(m.nextDue), 0)
		if late > 5*frame {
			// The process stalled; resynchronise instead of bursting.
			m.sched.jitter.skipped.Add(int64(late / frame))
			m.ts += uint32(int64(late/frame) * int64(p.PTime*8)) // the timestamp keeps real time
			m.nextDue = now
			late = 0
		}
		m.sched.jitter.frames.Add(1)
		if m.sendFrame(p, p.PTime*8, now) {
			m.sched.jitter.observe(late)
		}
		m.nextDue = m.nextDue.Add(frame)
	}
	// A playback, a key or a bridge that begins after a frame read the state wakes the
	// session (Scheduler.wake), so that frame's view is as good as a fresh look.
	next, park := m.nextVisit(p, now, sent > 0)
	m.parked = park && !next.IsZero()
	return next
}

// nextVisit is when the session next has something to do (the zero time: at the next tick).
// While it plays a prompt, sends keys or relays a bridge, that is the tick its next frame is
// due at: with 20 ms frames every other tick has nothing to send, with 30 ms frames two in
// three (park false: the frames are due, not suppressed — a late tick sends or resynchronises
// them as tick does, it does not count them as silence). Otherwise it is the earliest of its
// next keep-alive (the next tick until its first packet went), and, either way, its RTP
// timeout, the moment its DTMF clock must start running without RTP (idleAfter after the last
// packet) and, once it runs, the DTMF stream's next deadline (dtmfDeadline). Whatever gives
// the session work before then wakes it (Scheduler.wake).
func (m *Session) nextVisit(p *Params, now time.Time, framed bool) (next time.Time, park bool) {
	busy := m.busy // as the visit's last frame left it (playMu was held then)
	if !framed {
		m.playMu.Lock()
		busy = m.play != nil || m.digits.pending > 0
		m.playMu.Unlock()
	}
	framing := busy || m.link.out.Load() != nil
	next = now.Add(maxPark)
	switch {
	case framing:
		// tick sends a frame due within half a tick: the first tick at or after this
		// (Scheduler.tickAt rounds up) sends it
		next = m.nextDue.Add(-schedInterval / 2)
	case p.Sends():
		if dst := m.remote.Load(); dst != nil && usableAddr(*dst) {
			if !m.seqSent.Load() {
				return time.Time{}, false
			}
			next = earlier(next, m.lastSent.Add(keepAlive))
		}
	}
	last := time.Unix(0, m.lastRx.Load())
	if m.timeout > 0 && !m.timedOut && m.sock.Load() != nil && p.Receives() {
		next = earlier(next, last.Add(m.timeout))
	}
	if now.Sub(last) < idleAfter {
		return earlier(next, last.Add(idleAfter)), !framing
	}
	// No RTP: the DTMF clock runs on wall time (advanceIdle), but only its deadlines need a
	// visit.
	due := m.idleDue.Load()
	if due == 0 {
		return time.Time{}, false // unknown: the reader is behind, or the stream cannot tell
	}
	return earlier(next, time.Unix(0, due)), !framing
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// dtmfDeadline is what a DTMFStream implements (dtmf.Stream does) to let an idle session
// sleep: how much of its clock may pass before Advance has work to do (a key to end, a
// keypress to forget); ok false when it has none pending.
type dtmfDeadline interface {
	Deadline() (d time.Duration, ok bool)
}

// streamDeadline is st's next deadline: d < 0 when it has none, ok false when st cannot
// tell (it must then be advanced every tick). dtmfMu held.
func streamDeadline(st DTMFStream) (d time.Duration, ok bool) {
	if st == nil {
		return -1, true
	}
	dl, can := st.(dtmfDeadline)
	if !can {
		return 0, false
	}
	if d, pending := dl.Deadline(); pending {
		return max(d, 0), true
	}
	return -1, true
}

// checkTimeout ends reception and calls OnTimeout once (in its own goroutine) when no RTP has
// come for the session's Timeout while the far end should be sending. The shared receiver has
// no read deadline; the scheduler's tick is its clock. A session read by its own goroutine
// (readLoop) times out there instead.
func (m *Session) checkTimeout(p *Params, now time.Time) {
	if m.timeout <= 0 || m.timedOut || m.sock.Load() == nil || !p.Receives() {
		return
	}
	if now.Sub(time.Unix(0, m.lastRx.Load())) < m.timeout {
		return
	}
	m.timedOut = true
	m.stopReceiving()
	if m.onTimeout != nil {
		go m.onTimeout()
	}
}

// advanceIdle moves the DTMF stream's clock while no RTP arrives (hold, INFO-only callers,
// a sender that went silent), so held RFC 4733 keys and INFO keys end on time. While audio
// flows the audio itself is the clock.
//
// It does so only when the stream has something due (idleDue: its Deadline as wall time):
// between deadlines one Advance of the whole time does what one per tick would, so the clock
// is left behind (clockLag) and counted in one step at the next deadline, or before the next
// input reaches the stream (catchUp). A session that plays a prompt to a silent caller costs
// no DTMF work per tick, and a silent session is not visited at all between deadlines.
func (m *Session) advanceIdle(now time.Time) {
	last := time.Unix(0, m.lastRx.Load())
	if now.Sub(last) < idleAfter {
		return
	}
	if due := m.idleDue.Load(); due != 0 && now.UnixNano() < due {
		m.clockLag.Store(true)
		return
	}
	behind := m.readerBehind()
	m.dtmfMu.Lock()
	defer m.dtmfMu.Unlock()
	if behind {
		// The far end is sending; the reader is late (a stall under load). The queued packets
		// carry this time themselves: advancing it as well would put a gap inside a tone and
		// split one key in two.
		m.advancedTo = now
		m.idleDue.Store(0) // looked at again next tick
		return
	}
	m.advanceLocked(last, now)
	switch d, ok := streamDeadline(m.stream); {
	case !ok:
		m.idleDue.Store(0) // a stream that cannot tell is advanced every tick, as it always was
	case d < 0:
		m.idleDue.Store(now.Add(maxPark).UnixNano())
		m.clockLag.Store(true)
	default:
		m.idleDue.Store(now.Add(max(d, time.Nanosecond)).UnixNano())
		m.clockLag.Store(true)
	}
}

// advanceLocked advances the DTMF clock to now, the last RTP having come at last (dtmfMu
// held).
func (m *Session) advanceLocked(last, now time.Time) {
	if now.Sub(last) < idleAfter {
		return
	}
	from := last
	if m.advancedTo.After(from) {
		from = m.advancedTo
	}
	if d := now.Sub(from); d > 0 {
		if m.stream != nil {
			m.stream.Advance(d)
		}
		m.advancedTo = now
	}
}

// catchUp brings a lagging DTMF clock (advanceIdle) up to the scheduler's latest tick before
// new input reaches the stream — where a visit every tick would have left it — and forgets the
// stream's deadline, which the input may change. Time a lagging clock skipped is less than
// dtmf.StallLimit (the stream's Deadline holds that limit), so audio that was merely queued
// still covers it and is never split. last is when the last RTP came. dtmfMu held.
func (m *Session) catchUp(last time.Time) {
	if !m.clockLag.Load() || !m.clockLag.Swap(false) {
		return
	}
	m.idleDue.Store(0)
	if m.sched == nil {
		return
	}
	if t := m.sched.lastTick.Load(); t != 0 {
		m.advanceLocked(last, time.Unix(0, t))
	}
}

// sendFrame produces one frame and sends it when it carries a prompt (or a keep-alive is
// due). It reports whether a packet went out.
func (m *Session) sendFrame(p *Params, samples int, now time.Time) bool {
	pkt, dst, ok := m.frame(p, samples, now)
	if !ok {
		return false
	}
	m.writeRTP(pkt, dst)
	return true
}

// frame produces one frame: the packet to send and where, ok false when nothing goes out
// (silence suppressed, no peer, a receive-only stream). Everything but the system call.
//
// A prompt's payload is copied from its shared encoding (encoded.go) when it was encoded for
// the codec in force; otherwise (a codec changed mid-prompt, relayed audio, keep-alives) the
// frame's samples are encoded here. Both give the same bytes.
func (m *Session) frame(p *Params, samples int, now time.Time) (pkt []byte, to netip.AddrPort, ok bool) {
	pcm := m.pcmBuf[:samples]
	payload := m.outBuf[rtpHeaderLen : rtpHeaderLen+samples]
	playing, encoded := false, false
	m.playMu.Lock()
	if pk, ok := m.nextDigitPacket(p, m.ts); ok {
		// a key being sent as telephone-events takes the frame's place
		m.busy = m.play != nil || m.digits.pending > 0
		m.playMu.Unlock()
		if out := m.link.out.Load(); out != nil {
			out.pull(pcm) // the relayed audio of this frame is dropped, not delayed
		}
		m.ts += uint32(samples)
		return m.digitPacket(p, pk, now)
	}
	if pb := m.play; pb != nil {
		n := min(samples, len(pb.pcm)-pb.pos)
		if pb.enc != nil && pb.codec.law == p.Codec.law {
			// under playMu: the shared bytes are held while pb plays (Play's release follows
			// detach)
			copy(payload, pb.enc[pb.pos:pb.pos+n])
			fill(payload[n:], silence[p.Codec.law])
			encoded = true
		} else {
			copy(pcm, pb.pcm[pb.pos:pb.pos+n])
			clear(pcm[n:])
		}
		pb.pos += n
		playing = true
		if pb.pos >= len(pb.pcm) {
			close(pb.done)
			m.play = nil
		}
	}
	m.busy = m.play != nil || m.digits.pending > 0
	m.playMu.Unlock()
	if out := m.link.out.Load(); out != nil && !playing {
		playing = out.pull(pcm) // bridged: the other leg's audio between prompts
		if playing && !m.talkspurt && out.continues() {
			m.talkspurt = true // the source was late, not silent: no marker, the tone goes on (receive.go)
		}
	}
	ts := m.ts
	m.ts += uint32(samples)
	if !p.Sends() {
		return nil, netip.AddrPort{}, false
	}
	if !playing {
		if m.seqSent.Load() && now.Sub(m.lastSent) < keepAlive {
			m.talkspurt = false
			return nil, netip.AddrPort{}, false
		}
		clear(pcm)
	}
	dst := m.remote.Load()
	if dst == nil || !usableAddr(*dst) {
		return nil, netip.AddrPort{}, false
	}
	// first packet of the stream, or of a talkspurt after silence
	marker := !m.seqSent.Swap(true) || (playing && !m.talkspurt)
	m.talkspurt = playing
	putRTPHeader(m.outBuf[:rtpHeaderLen], p.Codec.PayloadType(), marker, m.seq, ts, m.ssrc)
	size := samples
	if !encoded {
		size = p.Codec.Encode(payload, pcm)
	}
	m.seq++
	m.lastSent = now
	return m.outBuf[:rtpHeaderLen+size], *dst, true
}

// rtpHeaderLen is the fixed RTP header (RFC 3550 5.1): no CSRC, no extension.
const rtpHeaderLen = 12

// putRTPHeader writes the fixed header of an outgoing packet in place: version 2, no padding,
// extension or CSRC — the bytes pion's rtp.Header.MarshalTo writes for the same fields.
func putRTPHeader(b []byte, pt uint8, marker bool, seq uint16, ts, ssrc uint32) {
	_ = b[11]
	b[0] = 2 << 6
	b[1] = pt
	if marker {
		b[1] |= 1 << 7
	}
	binary.BigEndian.PutUint16(b[2:4], seq)
	binary.BigEndian.PutUint32(b[4:8], ts)
	binary.BigEndian.PutUint32(b[8:12], ssrc)
}

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}

// detach ends playback pb if it still plays (Play returning for the session's end) so that
// no frame reads its encoding after Play's release.
func (m *Session) detach(pb *playback) {
	m.playMu.Lock()
	defer m.playMu.Unlock()
	if m.play == pb {
		m.play = nil
		close(pb.done)
	}
}

// writeRTP sends one packet to the media peer (scheduler), encrypted when the stream is SRTP:
// every packet the session sends — audio, keep-alives, RFC 4733 keys — goes through here.
func (m *Session) writeRTP(pkt []byte, dst netip.AddrPort) {
	if tx := m.tx.Load(); tx != nil {
		var err error
		if pkt, err = tx.protect(m.srtpOut[:0], pkt); err != nil {
			return
		}
	}
	if s := m.sock.Load(); s != nil {
		s.sendTo(pkt, dst)
		return
	}
	m.conn.WriteToUDPAddrPort(pkt, dst)
}

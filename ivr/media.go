package ivr

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/dtmf"
)

// maxGapPackets bounds one reported loss (a long jump is a restart, not a loss).
const maxGapPackets = 50

// mediaSession is the RTP side of one call: one UDP socket, a receiver goroutine feeding the
// DTMF stream and the recorder, and a sender paced by the shared scheduler.
type mediaSession struct {
	conn  *net.UDPConn
	port  int
	sched *scheduler
	log   *slog.Logger // nil: no logging

	paramsMu  sync.Mutex
	params    MediaParams
	sdpRemote netip.AddrPort // the last usable address an SDP named
	sdpGen    uint64         // bumped when sdpRemote changes
	sdpAt     time.Time      // when it last changed

	remote atomic.Pointer[netip.AddrPort] // where we send: the SDP address, or the latched one

	// onForeign is told of foreign datagrams as they are counted (the Prometheus counter).
	onForeign func(n int)

	// send state: only the scheduler touches it (one worker per session per tick).
	schedIdx  int
	ssrc      uint32
	seq       uint16
	ts        uint32
	nextDue   time.Time
	started   bool
	lastSent  time.Time // scheduler only
	talkspurt bool      // the last frame sent carried a prompt
	seqSent   atomic.Bool
	pcmBuf    [240]int16
	outBuf    [12 + 240]byte

	playMu sync.Mutex
	play   *playback

	// receive state: only the reader goroutine touches it.
	source        sourceGuard
	startedAt     time.Time // set before the reader starts
	rxSSRC        uint32
	rxStarted     bool
	rxSeq         uint16
	rxFrame       int // samples per packet last seen
	candSSRC      uint32
	candSSRCN     int
	candSSRCSeq   uint16
	rxPCM         []int16
	rxStartedSSRC bool
	warnedForeign bool

	dtmfMu     sync.Mutex
	stream     DTMFStream
	masker     Masker
	rec        *wavWriter
	advancedTo time.Time // scheduler only
	lastRx     atomic.Int64
	received   atomic.Int64
	lost       atomic.Int64
	dropped    atomic.Int64 // every datagram not accepted, foreign ones included
	foreign    atomic.Int64 // datagrams from an address that is not the call's media peer
	latchedTo  atomic.Pointer[netip.AddrPort]

	timeout  time.Duration
	onEnd    func(cause string, err error)
	closed   chan struct{}
	closeOne sync.Once
	running  atomic.Bool
	readDone chan struct{}
}

// MediaStats are a call's RTP counters.
type MediaStats struct {
	Received int64 // packets accepted
	Lost     int64 // packets missing from the sequence
	Dropped  int64 // datagrams not accepted (malformed, wrong payload type or SSRC, late, foreign)
	// Foreign counts the dropped datagrams that came from an address other than the call's
	// media peer: injection attempts, or a caller whose media cannot be matched (strict mode
	// behind NAT).
	Foreign int64
	// Latched is the source the call latched onto (symmetric RTP); invalid when the media
	// came from the address the SDP names (or never came).
	Latched netip.AddrPort
}

func (m *mediaSession) stats() MediaStats {
	st := MediaStats{Received: m.received.Load(), Lost: m.lost.Load(), Dropped: m.dropped.Load(), Foreign: m.foreign.Load()}
	if l := m.latchedTo.Load(); l != nil {
		st.Latched = *l
	}
	return st
}

type playback struct {
	pcm  []int16
	pos  int
	done chan struct{}
}

func newMediaSession(conn *net.UDPConn, port int, sched *scheduler) *mediaSession {
	m := &mediaSession{
		conn: conn, port: port, sched: sched, schedIdx: -1,
		ssrc: rand.Uint32(), seq: uint16(rand.Uint32()), ts: rand.Uint32(),
		closed: make(chan struct{}), readDone: make(chan struct{}),
		rxPCM: make([]int16, 480),
	}
	m.source.gen = ^uint64(0) // the first packet brings the rules up to date
	return m
}

// setParams installs negotiated parameters (answer, late-offer ACK, re-INVITE). An SDP that
// names a new address starts the source rules over (sourceGuard); one that names the same
// address, or none (c=0.0.0.0 hold), keeps the locked or latched source.
func (m *mediaSession) setParams(p MediaParams) {
	m.paramsMu.Lock()
	defer m.paramsMu.Unlock()
	m.params = p
	r := netip.AddrPortFrom(p.Remote.Addr().Unmap(), p.Remote.Port())
	if !usableAddr(r) || r == m.sdpRemote {
		return
	}
	m.sdpRemote, m.sdpAt = r, time.Now()
	m.sdpGen++
	m.remote.Store(&r)
}

func (m *mediaSession) getParams() MediaParams {
	m.paramsMu.Lock()
	defer m.paramsMu.Unlock()
	return m.params
}

// sdpState is what the source rules need from the signalling side.
func (m *mediaSession) sdpState() (netip.AddrPort, uint64, time.Time) {
	m.paramsMu.Lock()
	defer m.paramsMu.Unlock()
	return m.sdpRemote, m.sdpGen, m.sdpAt
}

// start begins receiving and sending.
func (m *mediaSession) start() {
	m.startedAt = time.Now()
	m.lastRx.Store(time.Now().UnixNano())
	m.running.Store(true)
	go m.readLoop()
	m.sched.add(m)
}

// close stops both directions and waits for the reader.
func (m *mediaSession) close() {
	m.closeOne.Do(func() {
		close(m.closed)
		m.sched.remove(m)
		m.conn.Close()
		if m.running.Load() {
			<-m.readDone
		}
		m.playMu.Lock()
		if m.play != nil {
			close(m.play.done)
			m.play = nil
		}
		m.playMu.Unlock()
		m.dtmfMu.Lock()
		if m.rec != nil {
			m.rec.Close()
			m.rec = nil
		}
		m.dtmfMu.Unlock()
	})
}

// playPCM queues pcm and waits until it has been sent, ctx is cancelled (barge-in: playback
// stops at the next frame) or the session closes.
func (m *mediaSession) playPCM(ctx context.Context, pcm []int16) error {
	pb := &playback{pcm: pcm, done: make(chan struct{})}
	m.playMu.Lock()
	select {
	case <-m.closed:
		m.playMu.Unlock()
		return ErrCallEnded
	default:
	}
	if m.play != nil {
		close(m.play.done)
	}
	m.play = pb
	m.playMu.Unlock()
	select {
	case <-pb.done:
		select {
		case <-m.closed:
			return ErrCallEnded
		default:
		}
		return nil
	case <-ctx.Done():
		m.playMu.Lock()
		if m.play == pb {
			m.play = nil
			close(pb.done)
		}
		m.playMu.Unlock()
		return ctx.Err()
	case <-m.closed:
		return ErrCallEnded
	}
}

// tick is called by the scheduler; it sends every frame that is due.
func (m *mediaSession) tick(now time.Time) {
	p := m.getParams()
	frame := time.Duration(p.PTime) * time.Millisecond
	if frame <= 0 {
		frame = 20 * time.Millisecond
	}
	if !m.started {
		m.started = true
		m.nextDue = now
	}
	m.advanceIdle(now)
	// A frame due within half a tick is sent now: the ticker's own phase must not make every
	// packet a tick late.
	for sent := 0; !now.Add(schedInterval/2).Before(m.nextDue) && sent < 3; sent++ {
		late := max(now.Sub(m.nextDue), 0)
		if late > 5*frame {
			// The process stalled; resynchronise instead of bursting.
			m.sched.Jitter.skipped.Add(int64(late / frame))
			m.ts += uint32(int64(late/frame) * int64(p.PTime*8)) // the timestamp keeps real time
			m.nextDue = now
			late = 0
		}
		m.sched.Jitter.frames.Add(1)
		if m.sendFrame(p, p.PTime*8, now) {
			m.sched.Jitter.observe(late)
		}
		m.nextDue = m.nextDue.Add(frame)
	}
}

// advanceIdle moves the DTMF stream's clock while no RTP arrives (hold, INFO-only callers,
// a sender that went silent), so held RFC 4733 keys and INFO keys end on time. While audio
// flows the audio itself is the clock.
func (m *mediaSession) advanceIdle(now time.Time) {
	last := time.Unix(0, m.lastRx.Load())
	if now.Sub(last) < idleAfter {
		return
	}
	from := last
	if m.advancedTo.After(from) {
		from = m.advancedTo
	}
	if d := now.Sub(from); d > 0 {
		m.dtmfMu.Lock()
		if m.stream != nil {
			m.stream.Advance(d)
		}
		m.dtmfMu.Unlock()
	}
	m.advancedTo = now
}

// idleAfter is how long without RTP before the DTMF clock is advanced by wall time. It must
// be longer than any scheduling stall of the receiver: time advanced while packets are merely
// queued would reach the in-band detector as a gap inside a tone and split the key in two.
const idleAfter = 500 * time.Millisecond

// keepAlive is how often a packet of silence goes out while no prompt plays. Between
// prompts the stream is silence-suppressed (RFC 3551: the timestamp keeps running, the
// sequence number counts only packets sent, the marker flags the start of each talkspurt);
// the keep-alive holds NAT bindings and far-end RTP timeouts open.
const keepAlive = time.Second

// sendFrame produces one frame and sends it when it carries a prompt (or a keep-alive is
// due). It reports whether a packet went out.
func (m *mediaSession) sendFrame(p MediaParams, samples int, now time.Time) bool {
	pcm := m.pcmBuf[:samples]
	playing := false
	m.playMu.Lock()
	if pb := m.play; pb != nil {
		n := copy(pcm, pb.pcm[pb.pos:])
		clear(pcm[n:])
		pb.pos += n
		playing = true
		if pb.pos >= len(pb.pcm) {
			close(pb.done)
			m.play = nil
		}
	}
	m.playMu.Unlock()
	ts := m.ts
	m.ts += uint32(samples)
	if !p.Sends() {
		return false
	}
	if !playing {
		if m.seqSent.Load() && now.Sub(m.lastSent) < keepAlive {
			m.talkspurt = false
			return false
		}
		clear(pcm)
	}
	dst := m.remote.Load()
	if dst == nil || !dst.IsValid() || dst.Addr().IsUnspecified() || dst.Port() == 0 {
		return false
	}
	h := rtp.Header{Version: 2, PayloadType: p.Codec.PT, SequenceNumber: m.seq, Timestamp: ts, SSRC: m.ssrc}
	if !m.seqSent.Swap(true) || (playing && !m.talkspurt) {
		h.Marker = true // first packet of the stream, or of a talkspurt after silence
	}
	m.talkspurt = playing
	n, err := h.MarshalTo(m.outBuf[:])
	if err != nil {
		return false
	}
	payload := m.outBuf[n : n+samples]
	if p.Codec.Name == "PCMA" {
		dtmf.EncodeALaw(payload, pcm)
	} else {
		dtmf.EncodeULaw(payload, pcm)
	}
	m.seq++
	m.lastSent = now
	m.conn.WriteToUDPAddrPort(m.outBuf[:n+samples], *dst)
	return true
}

func (m *mediaSession) readLoop() {
	defer close(m.readDone)
	buf := make([]byte, 2048)
	var pkt rtp.Packet
	armed := 0
	for {
		if armed == 0 && m.timeout > 0 {
			m.conn.SetReadDeadline(time.Now().Add(m.timeout))
		}
		armed = (armed + 1) % 256
		n, src, err := m.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
				armed = 0
				last := time.Unix(0, m.lastRx.Load())
				if m.getParams().Receives() && time.Since(last) >= m.timeout {
					if m.onEnd != nil {
						go m.onEnd("media-timeout", ErrMediaTimeout)
					}
					return
				}
				continue
			}
			return // closed
		}
		if n < 12 || buf[0]>>6 != 2 || pkt.Unmarshal(buf[:n]) != nil {
			m.dropMalformed(src)
			continue
		}
		m.receive(&pkt, src)
	}
}

// receive applies the source, payload type, SSRC and sequence checks to one packet and feeds
// the DTMF stream and the recorder.
func (m *mediaSession) receive(pkt *rtp.Packet, src netip.AddrPort) {
	if !m.acceptSource(pkt, src) {
		return
	}
	p := m.getParams()
	pt := int(pkt.PayloadType)
	isAudio := pt == int(p.Codec.PT)
	isEvent := p.EventPT >= 0 && pt == p.EventPT
	if !isAudio && !isEvent {
		m.dropped.Add(1)
		return
	}
	if !m.acceptSSRC(pkt) {
		m.dropped.Add(1)
		return
	}
	seq := pkt.SequenceNumber
	gap := 0
	if m.rxStarted {
		d := int16(seq - m.rxSeq) // serial-number arithmetic: wraps at 65536
		if d <= 0 && !isEvent {
			m.dropped.Add(1) // duplicate or late audio
			return
		}
		if d > 1 {
			gap = int(d) - 1
		}
		if d > 0 {
			m.rxSeq = seq
		}
	} else {
		m.rxStarted = true
		m.rxSeq = seq
	}
	m.lastRx.Store(time.Now().UnixNano())
	m.received.Add(1)
	m.dtmfMu.Lock()
	defer m.dtmfMu.Unlock()
	if gap > 0 {
		m.lost.Add(int64(gap))
		if gap > maxGapPackets {
			gap = maxGapPackets
		}
		frame := m.rxFrame
		if frame == 0 {
			frame = p.PTime * 8
		}
		if m.stream != nil {
			m.stream.Gap(gap * frame)
		}
		if m.rec != nil {
			m.record(make([]int16, gap*frame))
		}
	}
	if isEvent {
		if m.stream != nil {
			m.stream.TelephoneEvent(pkt.Timestamp, seq, pkt.Payload) // a malformed payload is ignored
		}
		return
	}
	payload := pkt.Payload
	if len(payload) > len(m.rxPCM) {
		payload = payload[:len(m.rxPCM)]
	}
	pcm := m.rxPCM[:len(payload)]
	if p.Codec.Name == "PCMA" {
		dtmf.DecodeALaw(pcm, payload)
	} else {
		dtmf.DecodeULaw(pcm, payload)
	}
	m.rxFrame = len(pcm)
	if m.stream != nil {
		m.stream.Audio(pcm)
	}
	if m.rec != nil {
		m.record(pcm)
	}
}

// record writes caller audio through the masker (call with dtmfMu held).
func (m *mediaSession) record(pcm []int16) {
	if m.masker != nil {
		pcm = m.masker.Process(pcm)
	}
	m.rec.Write(pcm)
}

// syncSource brings the source rules up to date with the latest SDP (the reader's copy).
func (m *mediaSession) syncSource() {
	sdp, gen, at := m.sdpState()
	if gen == m.source.gen {
		return
	}
	if m.startedAt.After(at) {
		at = m.startedAt // the latch window opens when media starts, not before the answer
	}
	m.countForeign(m.source.reset(gen, sdp, at))
	// A new source is a new stream: its SSRC and sequence space are taken as they come.
	m.rxSSRC, m.rxStartedSSRC, m.rxStarted, m.candSSRCN = 0, false, false, 0
}

// acceptSource applies the source rules (source.go) to one packet. A packet it refuses has
// been counted.
func (m *mediaSession) acceptSource(pkt *rtp.Packet, src netip.AddrPort) bool {
	m.syncSource()
	v, abandoned := m.source.check(src, pkt.SSRC, pkt.SequenceNumber, time.Now())
	m.countForeign(abandoned)
	switch v {
	case sourceAccept:
		return true
	case sourceLatched:
		peer := m.source.peer
		m.remote.Store(&peer)
		m.latchedTo.Store(&peer)
		m.rxSSRC, m.rxStartedSSRC, m.rxStarted = pkt.SSRC, true, false
		if m.log != nil {
			m.log.Info("RTP source latched (symmetric RTP)", "sdp_address", m.source.sdp.String(), "source", peer.String())
		}
		return true
	case sourceProbation:
		m.dropped.Add(1)
		return false
	default:
		m.dropped.Add(1)
		m.countForeign(1)
		m.warnForeign(src)
		return false
	}
}

// dropMalformed counts a datagram that is not RTP.
func (m *mediaSession) dropMalformed(src netip.AddrPort) {
	m.dropped.Add(1)
	m.syncSource()
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	if !m.source.peer.IsValid() || src != m.source.peer {
		m.countForeign(1)
		m.warnForeign(src)
	}
}

func (m *mediaSession) countForeign(n int) {
	if n <= 0 {
		return
	}
	m.foreign.Add(int64(n))
	if m.onForeign != nil {
		m.onForeign(n)
	}
}

// warnForeign logs the first foreign datagram of the call (the count is in the call's end).
func (m *mediaSession) warnForeign(src netip.AddrPort) {
	if m.warnedForeign || m.log == nil {
		return
	}
	m.warnedForeign = true
	m.log.Warn("RTP from a foreign source dropped", "source", src.String(), "media_peer", m.source.peer.String())
}

// acceptSSRC locks the stream to one SSRC; a new SSRC from the accepted source is adopted
// after learnAfter in-sequence packets (re-INVITEs and transfers change it) with a fresh
// sequence space.
func (m *mediaSession) acceptSSRC(pkt *rtp.Packet) bool {
	if !m.rxStartedSSRC {
		m.rxSSRC = pkt.SSRC
		m.rxStartedSSRC = true
	}
	if pkt.SSRC == m.rxSSRC {
		m.candSSRCN = 0
		return true
	}
	if pkt.SSRC == m.candSSRC && pkt.SequenceNumber == m.candSSRCSeq+1 {
		m.candSSRCN++
	} else {
		m.candSSRC, m.candSSRCN = pkt.SSRC, 1
	}
	m.candSSRCSeq = pkt.SequenceNumber
	if m.candSSRCN < learnAfter {
		return false
	}
	m.rxSSRC = pkt.SSRC
	m.rxStarted = false // new sequence space
	m.candSSRCN = 0
	return true
}

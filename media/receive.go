package media

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/pion/rtp"
)

// maxGapPackets bounds one reported loss (a long jump is a restart, not a loss).
const maxGapPackets = 50

func (m *Session) readLoop() {
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
		m.reading.Store(err == nil)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
				armed = 0
				last := time.Unix(0, m.lastRx.Load())
				if m.Params().Receives() && time.Since(last) >= m.timeout {
					if m.onTimeout != nil {
						go m.onTimeout()
					}
					return
				}
				continue
			}
			return // closed
		}
		m.datagram(buf[:n], src, &pkt)
		m.reading.Store(false)
	}
}

// rxPCMLen is the room for one packet's decoded audio (60 ms; longer payloads are cut).
const rxPCMLen = 480

// datagram handles one datagram read from the session's socket, decoding audio into the
// session's own buffer.
func (m *Session) datagram(data []byte, src netip.AddrPort, pkt *rtp.Packet) {
	m.datagramAt(data, src, pkt, nil, time.Now())
}

// datagramAt is datagram for a datagram that arrived by now, decoding audio into pcm
// (rxPCMLen samples; nil: the session's own buffer, made on first use). The shared receivers
// pass a buffer of their own, hot in the cache, and clear after each datagram the used
// samples it wrote; every consumer of the audio copies it. They read the clock once for the
// datagrams one system call brought, not once per datagram.
func (m *Session) datagramAt(data []byte, src netip.AddrPort, pkt *rtp.Packet, pcm []int16, now time.Time) (used int) {
	if len(data) < 12 || data[0]>>6 != 2 {
		m.dropMalformed(src)
		return
	}
	if rx := m.rx.Load(); rx != nil {
		// SRTP: the source decides first (a foreign datagram costs no decryption and cannot
		// disturb the replay window), then authentication: a packet that fails it — a wrong
		// key, tampering, a forged or plain packet — never reaches the rules below, the DTMF
		// detector or a recording.
		if !m.fromLockedSource(src) && !m.mayBeMediaPeer(src) {
			return
		}
		dec, err := rx.unprotect(data)
		if err != nil {
			m.srtpDropped(err, src)
			return
		}
		data = dec
	}
	if pkt.Unmarshal(data) != nil {
		m.dropMalformed(src)
		return
	}
	return m.receiveAt(pkt, src, pcm, now)
}

// receive applies the source, payload type, SSRC and sequence checks to one packet and feeds
// the DTMF stream and the recorder.
func (m *Session) receive(pkt *rtp.Packet, src netip.AddrPort) {
	m.receiveAt(pkt, src, nil, time.Now())
}

// receiveAt is receive for a packet that arrived by now, decoding audio into buf (as
// datagramAt); used as datagramAt's.
func (m *Session) receiveAt(pkt *rtp.Packet, src netip.AddrPort, buf []int16, now time.Time) (used int) {
	if !m.acceptSource(pkt, src, now) {
		return
	}
	p := m.rxParams()
	pt := pkt.PayloadType
	isAudio := !p.codec.IsZero() && pt == p.codec.PayloadType()
	isEvent := p.eventPT >= 0 && int16(pt) == p.eventPT
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
		m.rxTSKnown = false
	}
	// Audio that starts a new talkspurt (the marker bit, RFC 3551 section 4.1) in sequence
	// but later on the RTP clock than the last audio packet ended skipped time: a
	// silence-suppressing sender stopped between talkspurts. That time is a gap for the
	// in-band detector (it ends a key the tones held), told by the timestamps, never by the
	// wall clock: audio that arrives late but in order skipped nothing. A jump without the
	// marker is a sender that resynchronised its clock after a stall of its own, mid-talkspurt
	// (paybridge's scheduler does): the tone goes on, as it did before.
	skipped := 0
	if isAudio && gap == 0 && m.rxTSKnown && pkt.Marker {
		if d := int32(pkt.Timestamp - m.rxNextTS); d > 0 {
			skipped = int(d)
		}
	}
	prevRx := m.lastRx.Swap(now.UnixNano())
	m.received.Add(1)
	m.dtmfMu.Lock()
	defer m.dtmfMu.Unlock()
	if m.clockLag.Load() {
		// The first packet after an idle spell: the DTMF clock catches up first, and the
		// session is visited when the next spell would start.
		m.catchUp(time.Unix(0, prevRx))
		m.sched.wakeBy(m, now.Add(idleAfter))
	}
	if gap > 0 {
		m.lost.Add(int64(gap))
		if gap > maxGapPackets {
			gap = maxGapPackets
		}
		frame := int(m.rxFrame)
		if frame == 0 {
			frame = p.ptime * 8
		}
		if m.stream != nil {
			m.stream.Gap(gap * frame)
		}
		if m.rec != nil {
			m.record(make([]int16, gap*frame))
		}
		if l := m.link.in.Load(); l != nil {
			l.gap(gap * frame)
		}
	}
	if l := m.link.in.Load(); l != nil && skipped > 0 {
		l.paused() // the bridge's far end hears this pause as the source's own silence
	}
	if skipped > 0 && m.stream != nil {
		frame := int(m.rxFrame)
		if frame == 0 {
			frame = p.ptime * 8
		}
		m.stream.Gap(min(skipped, maxGapPackets*frame))
	}
	if isEvent {
		if l := m.link.in.Load(); l != nil {
			l.event()
		}
		if m.stream != nil {
			m.stream.TelephoneEvent(pkt.Timestamp, seq, pkt.Payload) // a malformed payload is ignored
		}
		return
	}
	room := rxPCMLen
	if buf != nil {
		room = len(buf)
	}
	payload := pkt.Payload
	if len(payload) > room {
		payload = payload[:room]
	}
	link := m.link.in.Load()
	if u, ok := m.stream.(ulawAudio); ok && p.codec.law == lawU && m.rec == nil && link == nil {
		// Only the DTMF stream wants this audio, and it takes μ-law as it is (the same
		// events as decoding it first; digital silence costs next to nothing).
		m.rxFrame = int32(len(payload))
		m.rxNextTS, m.rxTSKnown = pkt.Timestamp+uint32(len(payload)), true
		if !upperBound || p.eventPT < 0 { // only the measurement build of issue 17's upper bound skips it on telephone-event calls (upperbound_on.go)
			u.AudioULaw(payload)
		}
		return 0
	}
	if buf == nil {
		if m.rxPCM == nil {
			m.rxPCM = make([]int16, rxPCMLen)
		}
		buf = m.rxPCM
	}
	pcm := buf[:p.codec.Decode(buf, payload)]
	used = len(pcm)
	m.rxFrame = int32(len(pcm))
	m.rxNextTS, m.rxTSKnown = pkt.Timestamp+uint32(len(pcm)), true
	if m.stream != nil {
		m.stream.Audio(pcm)
	}
	if m.rec != nil {
		m.record(pcm)
	}
	if link != nil {
		link.audio(pcm)
	}
	return used
}

// ulawAudio is what a DTMFStream implements (dtmf.Stream does) to take PCMU payloads without
// the media layer decoding them: receive hands them over so when nothing else — a recording,
// a bridge — wants the samples.
type ulawAudio interface {
	AudioULaw(payload []byte)
}

// rxView is what receive needs of the Params in force, kept among the receive state: the
// Params copy (curParams) lies elsewhere in memory, one more cache line to fetch per packet,
// and is read again only when SetParams has replaced it. Copies are never modified, so the
// pointer tells whether the view is current (and holding it keeps the old copy from being
// reused).
type rxView struct {
	of      *Params // the copy it was taken from (nil with ok: the zero Params)
	ptime   int
	eventPT int16 // -1: none (also for a number no RTP payload type can carry)
	codec   Codec
	ok      bool
}

// rxParams is curParams for the reader, through its view.
func (m *Session) rxParams() *rxView {
	p := m.paramsNow.Load()
	if v := &m.rxv; v.ok && v.of == p {
		return v
	}
	q := p
	if q == nil {
		q = &zeroParams
	}
	ev := int16(-1)
	if q.EventPT >= 0 && q.EventPT <= 127 {
		ev = int16(q.EventPT)
	}
	m.rxv = rxView{of: p, ok: true, codec: q.Codec, eventPT: ev, ptime: q.PTime}
	return &m.rxv
}

// syncSource brings the source rules up to date with the latest SDP (the reader's copy).
func (m *Session) syncSource() {
	if m.sdpGenNow.Load() == m.source.gen {
		return // the usual packet: no new SDP, no lock
	}
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
//
// The usual packet comes from the source the rules have locked, as the last one did, under
// the same SDP: rxPeer is that source as the datagrams carry it (an IPv4 address may come
// mapped into IPv6), and a packet from it while no SDP has changed the rules since
// (rxPeerGen) is accepted without them — what check would decide for it, once locked: accept,
// with no latch candidate to give up (none is kept once locked).
func (m *Session) acceptSource(pkt *rtp.Packet, src netip.AddrPort, now time.Time) bool {
	if m.fromLockedSource(src) {
		return true
	}
	m.syncSource()
	v, abandoned := m.source.check(src, pkt.SSRC, pkt.SequenceNumber, now)
	m.countForeign(abandoned)
	switch v {
	case sourceAccept:
		m.rxPeer, m.rxPeerGen = src, m.source.gen
		return true
	case sourceLatched:
		m.rxPeer, m.rxPeerGen = src, m.source.gen
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

// fromLockedSource reports whether src is the source the rules locked, in the form the last
// packet accepted from it came in, while no SDP has changed the rules since (acceptSource).
func (m *Session) fromLockedSource(src netip.AddrPort) bool {
	return src == m.rxPeer && m.rxPeerGen == m.sdpGenNow.Load()
}

// dropMalformed counts a datagram that is not RTP.
func (m *Session) dropMalformed(src netip.AddrPort) {
	m.dropped.Add(1)
	m.syncSource()
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	if !m.source.peer.IsValid() || src != m.source.peer {
		m.countForeign(1)
		m.warnForeign(src)
	}
}

func (m *Session) countForeign(n int) {
	if n <= 0 {
		return
	}
	m.foreign.Add(int64(n))
	if m.onForeign != nil {
		m.onForeign(n)
	}
}

// warnForeign logs the first foreign datagram of the session (the count is in Stats).
func (m *Session) warnForeign(src netip.AddrPort) {
	if m.warnedForeign || m.log == nil {
		return
	}
	m.warnedForeign = true
	m.log.Warn("RTP from a foreign source dropped", "source", src.String(), "media_peer", m.source.peer.String())
}

// acceptSSRC locks the stream to one SSRC; a new SSRC from the accepted source is adopted
// after learnAfter in-sequence packets (re-INVITEs and transfers change it) with a fresh
// sequence space.
func (m *Session) acceptSSRC(pkt *rtp.Packet) bool {
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

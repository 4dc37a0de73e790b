package media

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// DTMFStream is a session's keypress detector (dtmf.Stream satisfies it): decoded audio,
// losses, RFC 4733 telephone-event payloads and out-of-band DTMF bodies go in; each keypress
// comes out once through whatever the stream was created with. The session serialises every
// call of its methods.
type DTMFStream interface {
	Audio(pcm []int16)
	Gap(samples int)
	TelephoneEvent(ts uint32, seq uint16, payload []byte) error
	Info(contentType string, body []byte) error
	Advance(d time.Duration)
}

// Masker removes tones from recorded audio (dtmf.Masker satisfies it). While secure is on its
// output is only the fixed fill.
type Masker interface {
	Process(pcm []int16) []int16
	SetSecure(on bool)
}

// SessionConfig configures a Session. Only Scheduler is required.
type SessionConfig struct {
	// Scheduler paces what the session sends (one per endpoint). Required.
	Scheduler *Scheduler
	// DTMF receives the far end's decoded audio, losses and telephone-events (nil: none).
	DTMF DTMFStream

	// Timeout: no RTP for this long while the far end should be sending (Params.Receives)
	// calls OnTimeout once, in its own goroutine, and stops receiving. 0 disables it.
	Timeout   time.Duration
	OnTimeout func()

	// StrictRTP accepts media only from the address the SDP names: no symmetric-RTP latch
	// (source.go).
	StrictRTP bool
	// SignalIP is the address the session's signalling came from: the only IP a latch may
	// move the session to. Invalid: no latch.
	SignalIP netip.Addr
	// OnForeign is told of datagrams dropped because they came from an address other than the
	// media peer, as they are counted (a metrics counter). It must be cheap.
	OnForeign func(n int)
	// OnSocketDrops is told of datagrams the kernel dropped on the session's socket because
	// its receive queue was full (the reader fell behind), as PollSocket and Close find them.
	// It must be cheap.
	OnSocketDrops func(n int64)
	// OnSRTPDrop is told of each SRTP packet dropped because it failed authentication
	// (replay=false: a wrong key, a tampered or forged packet) or was a replay, as it is
	// counted (a metrics counter). It must be cheap. Such packets are never logged one by one.
	OnSRTPDrop func(replay bool)
	// Logger receives the latch, the first foreign datagram and the first SRTP packet that
	// failed authentication (nil: no logging).
	Logger *slog.Logger
}

// Session is one RTP audio stream: one UDP socket, a receiver goroutine that applies the
// source rules and feeds the DTMF stream and the recording, and a sender paced by the shared
// Scheduler. It knows nothing of the signalling that set it up: Params come from Negotiate on
// whatever carried the SDP, and a session lives from Start to Close. All methods are safe for
// concurrent use.
type Session struct {
	// What the receiver touches per datagram comes first, in three cache lines: at 1,000 calls
	// a round reaches each session's state once per packet, mostly from memory, and spread
	// over the struct it was twelve lines or more a packet. A Session is allocated in a
	// 64-byte-aligned slot whose first 8 bytes are the runtime's malloc header (objects with
	// pointers over 512 bytes), so its lines begin at offsets 56, 120 and 184;
	// TestSessionReceiveLayout holds the fields below to the lines they are meant for.
	//
	// Bytes 0-55 (the header's line), read per packet, written per call: the source a packet
	// is accepted from without the rules (rxPeer, while the SDP generation is rxPeerGen:
	// acceptSource), and the signalling side's copies of what changes per SDP.
	rxPeer    netip.AddrPort         // reader only: the locked source as datagrams carry it (invalid: none)
	rxPeerGen uint64                 // reader only: the sdpGen rxPeer belongs to
	sdpGenNow atomic.Uint64          // sdpGen, for the reader's lock-free check per packet
	paramsNow atomic.Pointer[Params] // a copy of params for the hot paths (never modified)
	// Bytes 56-119, the reader's own sequence state (the scheduler reads reading and
	// clockLag, and writes clockLag only when no RTP has come for idleAfter).
	rx       atomic.Pointer[srtpRx] // SRTP (srtp.go): the far end's direction; nil: plain RTP
	rxv      rxView
	rxSSRC   uint32
	rxNextTS uint32      // the RTP timestamp right after the last audio packet's samples
	rxFrame  int32       // samples per packet last seen
	reading  atomic.Bool // the reader holds a datagram it has not yet handled
	clockLag atomic.Bool // the DTMF clock is behind wall time while idle (catchUp)
	// rxStopped: no datagram is handed to the session any more. Set under rxMu, which the
	// epoll receiver holds while its round handles the session's datagrams; the io_uring
	// receiver loads it per datagram without a lock (rxpoll_linux.go, stopReceiving).
	rxStopped     atomic.Bool
	rxSeq         uint16
	candSSRCN     uint8 // in-sequence packets of candSSRC so far (at most learnAfter)
	rxStarted     bool
	rxStartedSSRC bool // rxSSRC is set
	rxTSKnown     bool
	// Bytes 120-183, written per packet and read by the scheduler per visit (lastRx) or per
	// packet under dtmfMu: the counters, the lock, and where the audio goes.
	lastRx   atomic.Int64
	received atomic.Int64
	// dtmfMu serialises the DTMF stream, the masker and the recording: the reader, the
	// scheduler's idle clock and the signalling side (Info, SetSecure, Record) all reach them.
	dtmfMu sync.Mutex
	stream DTMFStream
	rec    *wavWriter
	link   sessionLink // the bridge this session is a leg of (bridge.go)
	// End of the receiver's lines. rxMu is held while the epoll receiver's round handles the
	// session's datagrams; rxFd is the socket's descriptor plus one, once pollRead read it
	// (under rxMu).
	rxMu      sync.Mutex
	rxFd      int
	startedAt time.Time // set before the reader starts
	source    sourceGuard
	// a new SSRC from the source being learned (acceptSSRC)
	candSSRC      uint32
	candSSRCSeq   uint16
	warnedForeign bool
	rxPCM         []int16 // decoded audio of the readers that have no buffer of their own (made on first use)
	lost          atomic.Int64
	dropped       atomic.Int64 // every datagram not accepted, foreign ones included
	foreign       atomic.Int64 // datagrams from an address that is not the media peer
	latchedTo     atomic.Pointer[netip.AddrPort]

	conn      *net.UDPConn
	port      int
	sched     *Scheduler
	log       *slog.Logger // nil: no logging
	onForeign func(n int)
	onDrops   func(n int64)
	sockDrops socketDrops // the kernel's drop counter of conn, as last read
	timeout   time.Duration
	onTimeout func()

	paramsMu  sync.Mutex
	params    Params
	sdpRemote netip.AddrPort // the last usable address an SDP named
	sdpGen    uint64         // bumped when sdpRemote changes
	sdpAt     time.Time      // when it last changed

	remote atomic.Pointer[netip.AddrPort] // where we send: the SDP address, or the latched one

	// scheduling (scheduler.go): schedDue and schedWake under Scheduler.mu; schedNext, the
	// time the last visit asked to be visited again (zero: the next tick), scheduler only.
	schedDue  int64
	schedWake bool
	schedNext time.Time

	// send state: only the scheduler touches it (one worker per session per tick).
	parked    bool // the last visit let the session sleep past the next tick
	ssrc      uint32
	seq       uint16
	ts        uint32
	nextDue   time.Time
	started   bool
	lastSent  time.Time // scheduler only
	talkspurt bool      // the last frame sent carried a prompt
	busy      bool      // a prompt or a key was left to send after the last frame (nextVisit)
	seqSent   atomic.Bool
	pcmBuf    [240]int16
	outBuf    [12 + 240]byte

	playMu sync.Mutex
	play   *playback
	digits digitQueue // keys to send as RFC 4733 (senddigit.go)

	// the DTMF side's state beyond the receiver's lines (dtmfMu)
	masker     Masker
	secure     bool
	advancedTo time.Time    // how far the DTMF clock was advanced without RTP (dtmfMu)
	idleDue    atomic.Int64 // UnixNano of the DTMF stream's next deadline while idle; 0: unknown

	// SRTP (srtp.go): the keys and our direction (the far end's, rx, is in line 0). The sender
	// and the reader each load their direction once per packet; SetParams replaces one when
	// its key changes.
	keyMu      sync.Mutex
	secured    int8      // keysUnset until the first SetParams, then keysPlain or keysSRTP for good
	offered    []*Crypto // our offer's lines, until an answer picks one
	localKey   *Crypto   // our key (what we send), owned by the session
	remoteKey  *Crypto   // the far end's, owned by the session
	tx         atomic.Pointer[srtpTx]
	srtpOut    [12 + 240 + 48]byte // sender scratch: the packet, its tag and an MKI
	onSRTPDrop func(replay bool)
	authFailed atomic.Int64
	replayed   atomic.Int64
	warnedAuth bool // reader only

	// The shared receiver (rxpoll_linux.go) once started: the socket taken from conn and the
	// session's id there.
	sock     atomic.Pointer[rawSock]
	rxID     uint64
	timedOut bool // scheduler only: OnTimeout was called

	closed   chan struct{}
	closeOne sync.Once
	running  atomic.Bool
	readDone chan struct{}
}

// Stats are a session's RTP counters.
type Stats struct {
	Received int64 // packets accepted
	Lost     int64 // packets missing from the sequence
	Dropped  int64 // datagrams not accepted (malformed, wrong payload type or SSRC, late, foreign)
	// Foreign counts the dropped datagrams that came from an address other than the media
	// peer: injection attempts, or a caller whose media cannot be matched (strict mode behind
	// NAT).
	Foreign int64
	// SocketDrops counts the datagrams the kernel dropped on the session's socket because its
	// receive queue was full: packets that never reached the session (a lost keypress is one
	// of them when this is not 0). Read by PollSocket and at Close.
	SocketDrops int64
	// Latched is the source the session latched onto (symmetric RTP); invalid when the media
	// came from the address the SDP names (or never came).
	Latched netip.AddrPort
	// SRTPAuthFailed counts SRTP packets from the media peer dropped because they failed
	// authentication (a wrong key, tampering, a forged or plain packet on an encrypted
	// stream); SRTPReplayed those dropped as replays. Both are also in Dropped.
	SRTPAuthFailed int64
	SRTPReplayed   int64
}

type playback struct {
	pcm  []int16
	pos  int
	done chan struct{}
	// enc is pcm encoded for codec, shared with every session playing the same samples
	// (encoded.go); nil when the session had no codec when Play began.
	enc   []byte
	codec Codec
}

// NewSession makes a session of the socket conn (from a PortPool, or any bound UDP socket);
// the session owns it from now on and closes it in Close. Nothing is sent or received before
// SetParams and Start.
func NewSession(conn *net.UDPConn, cfg SessionConfig) *Session {
	m := newSession(conn, cfg.Scheduler)
	if conn != nil {
		if a, ok := conn.LocalAddr().(*net.UDPAddr); ok {
			m.port = a.Port
		}
	}
	m.stream = cfg.DTMF
	m.timeout = cfg.Timeout
	m.onTimeout = cfg.OnTimeout
	m.source.strict = cfg.StrictRTP
	m.source.sigIP = cfg.SignalIP.Unmap()
	m.onForeign = cfg.OnForeign
	m.onDrops = cfg.OnSocketDrops
	m.onSRTPDrop = cfg.OnSRTPDrop
	m.log = cfg.Logger
	return m
}

func newSession(conn *net.UDPConn, sched *Scheduler) *Session {
	m := &Session{
		conn: conn, sched: sched, schedDue: schedOff,
		ssrc: rand.Uint32(), seq: uint16(rand.Uint32()), ts: rand.Uint32(),
		closed: make(chan struct{}), readDone: make(chan struct{}),
	}
	m.source.gen = ^uint64(0) // the first packet brings the rules up to date
	m.rxPeerGen = ^uint64(0)  // no source is locked (no SDP generation reaches it)
	return m
}

// Port is the local RTP port (0 when the socket's address is not UDP).
func (m *Session) Port() int { return m.port }

// Stats reports the session's counters. After Close they are final.
func (m *Session) Stats() Stats {
	st := Stats{Received: m.received.Load(), Lost: m.lost.Load(), Dropped: m.dropped.Load(), Foreign: m.foreign.Load(),
		SocketDrops: m.sockDrops.total(), SRTPAuthFailed: m.authFailed.Load(), SRTPReplayed: m.replayed.Load()}
	if l := m.latchedTo.Load(); l != nil {
		st.Latched = *l
	}
	return st
}

// SetParams installs negotiated parameters (an answer, a late offer's answer, a re-INVITE's
// offer). An SDP that names a new address starts the source rules over (sourceGuard); one
// that names the same address, or none (c=0.0.0.0 hold), keeps the locked or latched source.
//
// With p.Crypto the stream is SRTP (keys.go): the far end's key decrypts what arrives, and our
// own key — the line of our offer that the answer chose, or a fresh one made for an answer
// (LocalCrypto) — encrypts what we send. A re-offer with a new key re-keys both directions.
// Whether the session is encrypted is fixed by the first SetParams: the error is
// ErrEncryptionChange for parameters that would change it, ErrCryptoMismatch for an answer that
// chose no line of our offer. On error nothing changes.
func (m *Session) SetParams(p Params) error {
	remote, err := m.setKeys(p)
	if err != nil {
		return err
	}
	p.Crypto = remote // the session's copy: the caller may zero its description
	m.setParams(p)
	return nil
}

func (m *Session) setParams(p Params) {
	defer m.sched.wake(m) // what it sends, and where, may have changed
	m.paramsMu.Lock()
	defer m.paramsMu.Unlock()
	m.params = p
	m.paramsNow.Store(&p)
	r := netip.AddrPortFrom(p.Remote.Addr().Unmap(), p.Remote.Port())
	if !usableAddr(r) || r == m.sdpRemote {
		return
	}
	m.sdpRemote, m.sdpAt = r, time.Now()
	m.sdpGen++
	m.sdpGenNow.Store(m.sdpGen)
	m.remote.Store(&r)
}

// PollSocket reads the receive state of the session's socket from the kernel: the bytes
// queued for the reader and the drop counter, whose increase is added to Stats.SocketDrops
// and told to OnSocketDrops. A session without a socket, or a platform that cannot tell,
// reports zeroes.
func (m *Session) PollSocket() SocketState {
	st, err := m.socketState()
	if err != nil {
		return SocketState{}
	}
	if n := m.sockDrops.update(st.Drops); n > 0 && m.onDrops != nil {
		m.onDrops(n)
	}
	return st
}

// Params are the parameters in force.
func (m *Session) Params() Params {
	m.paramsMu.Lock()
	defer m.paramsMu.Unlock()
	return m.params
}

// curParams is the parameters in force for the reader and the scheduler: a lock-free load of
// an immutable copy, per packet and per tick (the zero Params before the first SetParams).
func (m *Session) curParams() *Params {
	if p := m.paramsNow.Load(); p != nil {
		return p
	}
	return &zeroParams
}

var zeroParams Params

// sdpState is what the source rules need from the signalling side.
func (m *Session) sdpState() (netip.AddrPort, uint64, time.Time) {
	m.paramsMu.Lock()
	defer m.paramsMu.Unlock()
	return m.sdpRemote, m.sdpGen, m.sdpAt
}

// socketState reads the kernel's receive state of the session's socket.
func (m *Session) socketState() (SocketState, error) {
	if s := m.sock.Load(); s != nil {
		return s.state()
	}
	if m.conn == nil {
		return SocketState{}, ErrClosed
	}
	return socketState(m.conn)
}

// Start begins receiving and sending. Call it once. On Linux the socket joins the process's
// shared receiver (rxpoll_linux.go: one goroutine, epoll, recvmmsg); elsewhere a goroutine
// reads it.
func (m *Session) Start() {
	m.startedAt = time.Now()
	m.lastRx.Store(time.Now().UnixNano())
	if !m.startReceiving() {
		m.running.Store(true)
		go m.readLoop()
	}
	m.sched.add(m)
}

// Close stops both directions, waits for the reader, ends a playback (Play returns ErrClosed)
// and closes the recording and the socket. The caller returns the port to its pool after.
func (m *Session) Close() {
	m.closeOne.Do(func() {
		close(m.closed)
		if m.sched != nil {
			m.sched.remove(m)
		}
		if s := m.sock.Load(); s != nil {
			m.stopReceiving() // after it, no round reads the session
			m.receiverDone()  // nor still has a datagram of it in hand
			m.PollSocket()    // the final drop count, while the socket is still open
			s.close()
		} else if m.conn != nil {
			m.PollSocket() // the final drop count, while the socket is still open
			m.conn.Close()
		}
		if m.running.Load() {
			<-m.readDone
		}
		clear(m.rxPCM) // nothing reads any more: the last packet's decoded audio goes too
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
		m.zeroKeys()
	})
}

// Play queues 8 kHz PCM and waits until it has been sent, ctx is cancelled (barge-in:
// playback stops at the next frame; ctx's error is returned) or the session closes
// (ErrClosed). A new Play replaces one in progress, which returns nil. pcm must not change
// while it plays: sessions playing the same samples share one encoding of them (encoded.go).
func (m *Session) Play(ctx context.Context, pcm []int16) error {
	p, err := m.StartPlay(pcm)
	if err != nil {
		return err
	}
	select {
	case <-p.Done():
	case <-m.closed:
	case <-ctx.Done():
		_ = p.Stop()
		return ctx.Err()
	}
	return p.Stop()
}

// Info feeds an out-of-band DTMF body (application/dtmf-relay or application/dtmf, as SIP
// INFO carries them) to the session's DTMF stream, in order with the keys its RTP carries.
// The stream's error says what is wrong with the body; a session without a stream ignores it.
func (m *Session) Info(contentType string, body []byte) error {
	m.dtmfMu.Lock()
	defer m.dtmfMu.Unlock()
	if m.stream == nil {
		return nil
	}
	// A lagging clock catches up first (the key goes down at the right time), and the
	// session is visited to end the key on time.
	m.catchUp(time.Unix(0, m.lastRx.Load()))
	m.idleDue.Store(0)
	defer m.sched.wake(m)
	return m.stream.Info(contentType, body)
}

// SetSecure turns the secure window on or off: while it is on, a recording holds only the
// masker's fill (also one started later).
func (m *Session) SetSecure(on bool) {
	m.dtmfMu.Lock()
	defer m.dtmfMu.Unlock()
	m.secure = on
	if m.masker != nil {
		m.masker.SetSecure(on)
	}
}

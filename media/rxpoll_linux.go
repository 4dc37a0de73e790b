//go:build linux && (amd64 || arm64)

package media

import (
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rxPollDelay is how long the shared receiver sleeps between rounds: one wake-up per round
// for every socket of the process instead of one per packet per call. A
// packet waits at most this long (plus the round) before its session sees it; the DTMF
// detectors are clocked by the audio itself, and the bridge's relay absorbs it as jitter.
//
// Kept at 5 ms, measured (docs/sip.md, "The receive path per packet"): with 1,000 calls
// sending every 20 ms a round here takes ~10 ms, a recvmmsg returns 1.2 datagrams on
// average, and the bound is ~15 ms. 20 ms rounds return 1.9 a call and save ~20 % of the
// receive path's CPU, but double that bound (~38 ms, close to the bridge's 40 ms jitter
// target) for every call, loaded or not.
const rxPollDelay = 5 * time.Millisecond

// rxPoller is the process's one RTP receiver on Linux: an epoll instance holding every started
// session's socket (edge-triggered), and one goroutine that asks it every rxPollDelay which sockets received datagrams, drains each socket
// that received datagrams — a recvmmsg that returns fewer than it asked for has emptied the
// queue, so one system call per socket per round is the usual cost — and hands them to its
// session (Session.datagram: the
// same source, SRTP and RTP rules as ever), then sleeps rxPollDelay. Sessions are found by an
// id, never by descriptor number, so a stale readiness report of a closed socket whose number
// was reused reaches nobody.
type rxPoller struct {
	epfd int

	mu       sync.Mutex
	sessions map[uint64]*Session
	next     uint64
}

var sharedRx struct {
	once sync.Once
	p    *rxPoller
	err  error
}

// rxPollerShared starts the process's receiver on first use.
func rxPollerShared() (*rxPoller, error) {
	sharedRx.once.Do(func() {
		fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			sharedRx.err = err
			return
		}
		sharedRx.p = &rxPoller{epfd: fd, sessions: make(map[uint64]*Session)}
		go sharedRx.p.run()
	})
	return sharedRx.p, sharedRx.err
}

// startReceiving moves a session's socket to the shared receiver: the io_uring one
// (uringrx_linux.go) where the kernel allows it, else the epoll one below. It reports false
// when neither is available; the session then reads with a goroutine of its own.
func (m *Session) startReceiving() bool {
	if m.conn == nil {
		return false
	}
	if u := uringRxShared(); u != nil {
		s, err := takeSocket(m.conn)
		if err != nil {
			return false
		}
		u.add(m, s) // s.rx is set before any other goroutine can load the socket
		m.sock.Store(s)
		return true
	}
	p, err := rxPollerShared()
	if err != nil {
		return false
	}
	s, err := takeSocket(m.conn)
	if err != nil {
		return false
	}
	p.mu.Lock()
	p.next++
	id := p.next
	p.sessions[id] = m
	p.mu.Unlock()
	m.rxID = id
	m.sock.Store(s)
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET}
	*(*uint64)(unsafe.Pointer(&ev.Fd)) = id // Fd and Pad: epoll_event's 64-bit data
	s.mu.Lock()
	err = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, s.fd, &ev)
	s.mu.Unlock()
	if err != nil {
		// The socket is ours now; without epoll it is read by a goroutine polling it.
		p.forget(id)
		m.rxID = 0
		go m.pollLoop(s)
	}
	return true
}

// stopReceiving takes the session out of the shared receiver: no datagram is handed to it
// after. The epoll receiver's round holds rxMu while it handles the session's datagrams, so
// stopReceiving waits for it; the io_uring receiver takes no lock per datagram, and one it
// is handling may still be in hand — receiverDone waits for that. Idempotent.
func (m *Session) stopReceiving() {
	if s := m.sock.Load(); s != nil && s.rx != nil {
		// io_uring: no datagram starts once rxStopped is set (deliver loads it per datagram;
		// a fallback pollLoop sees it under rxMu); the receive is cancelled, and the socket's
		// close waits for its final completion.
		m.rxMu.Lock()
		m.rxStopped.Store(true)
		m.rxMu.Unlock()
		s.rx.u.stop(s.rx)
		return
	}
	if id := m.rxID; id != 0 {
		if p := sharedRx.p; p != nil {
			if s := m.sock.Load(); s != nil {
				s.mu.Lock()
				if !s.closed {
					unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, s.fd, nil)
				}
				s.mu.Unlock()
			}
			p.forget(id)
		}
	}
	m.rxMu.Lock()
	m.rxStopped.Store(true)
	m.rxMu.Unlock()
}

// receiverDone waits until the shared receiver has finished with the session for good, after
// stopReceiving: on io_uring until its goroutine took the stop (it hands the session nothing
// after, and a datagram it was handling is done); on epoll stopReceiving has waited already.
// Close calls it before it clears what the reader used.
func (m *Session) receiverDone() {
	if s := m.sock.Load(); s != nil && s.rx != nil {
		select {
		case <-s.rx.halted:
		case <-s.rx.u.ended: // a test's own receiver that was shut down
		}
	}
}

func (p *rxPoller) forget(id uint64) {
	p.mu.Lock()
	delete(p.sessions, id)
	p.mu.Unlock()
}

func (p *rxPoller) run() {
	events := make([]unix.EpollEvent, 1024)
	ready := make([]*Session, 0, len(events))
	b := new(rxBatch)
	for {
		// Never a blocking epoll_wait: a thread parked in a system call costs the runtime a
		// hand-off of its P and a wake-up of another thread each round. The round's timer
		// rides on the runtime's own poller, which sleeps until the earliest timer anyway.
		n, err := unix.EpollWait(p.epfd, events, 0)
		if err != nil {
			n = 0
		}
		// The round's sessions are looked up under one lock, not one per event: a session
		// forgotten in between has stopped receiving, which pollRead sees under its rxMu.
		p.mu.Lock()
		for i := range events[:n] {
			if m := p.sessions[*(*uint64)(unsafe.Pointer(&events[i].Fd))]; m != nil {
				ready = append(ready, m)
			}
		}
		p.mu.Unlock()
		for _, m := range ready {
			m.pollRead(b)
		}
		b.rounds++
		b.flushStats()
		clear(ready) // no session is kept alive by the last round
		ready = ready[:0]
		if n == len(events) {
			continue // more sockets are ready than one call reports
		}
		time.Sleep(rxPollDelay)
	}
}

// pollLoop reads a socket epoll would not take, on its own (a fallback that should not
// happen): every rxPollDelay until the session stops receiving.
func (m *Session) pollLoop(s *rawSock) {
	b := new(rxBatch)
	for {
		if !m.pollRead(b) {
			return
		}
		time.Sleep(rxPollDelay)
	}
}

// pollRead hands the datagrams queued on the session's socket to its receive path, clearing
// each, and its decoded audio, from the shared buffers once handled. It reports false once
// the session has stopped receiving.
//
// It takes no lock of the socket: the socket is closed only after stopReceiving (Close), which
// sets rxStopped under rxMu, so while pollRead holds rxMu and finds rxStopped false the
// descriptor is open and its number cannot have been reused. The descriptor is kept in the
// session (rxFd) the first time, so a round reads nothing of the socket's own memory, which
// the scheduler's sends write.
func (m *Session) pollRead(b *rxBatch) bool {
	m.rxMu.Lock()
	defer m.rxMu.Unlock()
	if m.rxStopped.Load() {
		return false
	}
	if m.rxFd == 0 {
		m.rxFd = m.sock.Load().fd + 1
	}
	fd := m.rxFd - 1
	for {
		n := b.recv(fd)
		if n == 0 {
			return true
		}
		m.reading.Store(true)
		now := time.Now() // one reading of the clock for what the call brought
		for i := range n {
			data, src := b.datagram(i)
			used := m.datagramAt(data, src, &b.pkt, b.pcm[:], now)
			clear(data)
			clear(b.pcm[:used])
		}
		m.reading.Store(false)
		if n < rxBatchLen {
			return true
		}
	}
}

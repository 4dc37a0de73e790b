package callgen

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/paybridge/paybridge/media"
)

const (
	frame    = 20 * time.Millisecond // one packet per call per frame
	tick     = 2 * time.Millisecond  // the scheduler's period
	maxBatch = 1024                  // UIO_MAXIOV: the most messages one sendmmsg takes
)

// stream is the marshalled packets every call sends, one per frame.
type stream struct {
	pkts    [][]byte
	seq0    uint16
	ts0     uint32
	eventPT uint8 // the template's telephone-event payload type
}

// callMedia is one call's place in the scheduler.
type callMedia struct {
	to      *net.UDPAddr
	sock    int
	ssrc    uint32
	seq     uint16 // added to the template's sequence numbers
	ts      uint32 // added to the template's timestamps
	eventPT uint8  // the answer's telephone-event payload type
	start   time.Time
	next    int
	done    chan struct{} // closed when the whole stream is sent
	stopped atomic.Bool   // the call ended: the scheduler drops it
	sec     *media.SRTP   // nil: plain RTP (only the mixer's goroutine protects with it)
}

// slotBuf is one reusable packet buffer of a tick's batch.
type slotBuf struct {
	b   []byte
	enc []byte   // the SRTP packet of b
	v   [][]byte // {b} or {enc}: what ipv4.Message wants, kept so a tick allocates nothing
}

// mixer is the one scheduler that sends every call's media.
type mixer struct {
	st    stream
	conns []*net.UDPConn
	pcs   []*ipv4.PacketConn

	mu      sync.Mutex
	pending []*callMedia

	sent, received, sendCalls, ticksLate atomic.Int64
	lateMax                              atomic.Int64

	stop chan struct{}
	wg   sync.WaitGroup
}

func newMixer(st stream, ip netip.Addr, sockets int) (*mixer, error) {
	m := &mixer{st: st, stop: make(chan struct{})}
	for range sockets {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
		if err != nil {
			m.close()
			return nil, err
		}
		c.SetReadBuffer(4 << 20)
		c.SetWriteBuffer(4 << 20)
		m.conns = append(m.conns, c)
		m.pcs = append(m.pcs, ipv4.NewPacketConn(c))
	}
	for i := range m.pcs {
		m.wg.Add(1)
		go m.drain(i)
	}
	m.wg.Add(1)
	go m.run()
	return m, nil
}

// port is the local RTP port of socket i (what the call's SDP offers).
func (m *mixer) port(i int) int { return m.conns[i].LocalAddr().(*net.UDPAddr).Port }

// add puts a call on the scheduler; its first packet leaves on the next tick, and the next
// ones every 20 ms after it. Calls are answered at random moments, so their packets are spread
// over the frame (ten 2 ms phases), as independent callers' are — not all in one burst per
// 20 ms, which would let the endpoint take every call's packet in one wake-up and flatter it.
func (m *mixer) add(c *callMedia) {
	m.mu.Lock()
	m.pending = append(m.pending, c)
	m.mu.Unlock()
}

func (m *mixer) run() {
	defer m.wg.Done()
	t := time.NewTicker(tick)
	defer t.Stop()
	var active []*callMedia
	msgs := make([][]ipv4.Message, len(m.pcs))
	var arena []*slotBuf
	prev := time.Now()
	for {
		var now time.Time
		select {
		case <-m.stop:
			return
		case now = <-t.C:
		}
		// A tick that comes a whole frame late means the generator itself was starved: its
		// packets leave in a burst and the run measures the generator, not the endpoint.
		if late := now.Sub(prev) - tick; late > 0 {
			if int64(late) > m.lateMax.Load() {
				m.lateMax.Store(int64(late))
			}
			if late >= frame {
				m.ticksLate.Add(1)
			}
		}
		prev = now
		m.mu.Lock()
		for _, c := range m.pending {
			c.start = now
			active = append(active, c)
		}
		m.pending = m.pending[:0]
		m.mu.Unlock()

		for i := range msgs {
			msgs[i] = msgs[i][:0]
		}
		slot := 0
		keep := active[:0]
		for _, c := range active {
			if c.stopped.Load() {
				continue
			}
			due := int(now.Sub(c.start)/frame) + 1
			for ; c.next < due && c.next < len(m.st.pkts); c.next++ {
				if slot == len(arena) {
					arena = append(arena, &slotBuf{b: make([]byte, 0, 256), enc: make([]byte, 0, 256), v: make([][]byte, 1)})
				}
				sb := arena[slot]
				sb.b = m.st.stamp(sb.b[:0], c.next, c)
				sb.v[0] = sb.b
				if c.sec != nil {
					var err error
					if sb.enc, err = c.sec.Protect(sb.enc[:0], sb.b); err != nil {
						continue
					}
					sb.v[0] = sb.enc
				}
				slot++
				msgs[c.sock] = append(msgs[c.sock], ipv4.Message{Buffers: sb.v, Addr: c.to})
			}
			if c.next >= len(m.st.pkts) {
				close(c.done)
				continue
			}
			keep = append(keep, c)
		}
		clear(active[len(keep):])
		active = keep
		for i, ms := range msgs {
			m.write(i, ms)
		}
	}
}

// write sends a socket's batch with as few sendmmsg calls as the kernel allows.
func (m *mixer) write(i int, ms []ipv4.Message) {
	for len(ms) > 0 {
		n := min(len(ms), maxBatch)
		w, err := m.pcs[i].WriteBatch(ms[:n], 0)
		m.sendCalls.Add(1)
		if err != nil || w <= 0 {
			// The first message could not leave (a full buffer, a closed port): drop it, as a
			// network would, and go on with the rest.
			w = 1
		} else {
			m.sent.Add(int64(w))
		}
		ms = ms[w:]
	}
}

// stamp writes template packet i restamped for call c into b.
func (s *stream) stamp(b []byte, i int, c *callMedia) []byte {
	p := s.pkts[i]
	b = append(b, p...)
	binary.BigEndian.PutUint16(b[2:], binary.BigEndian.Uint16(p[2:])-s.seq0+c.seq)
	binary.BigEndian.PutUint32(b[4:], binary.BigEndian.Uint32(p[4:])-s.ts0+c.ts)
	binary.BigEndian.PutUint32(b[8:], c.ssrc)
	if p[1]&0x7f == s.eventPT && c.eventPT != s.eventPT {
		b[1] = p[1]&0x80 | c.eventPT&0x7f
	}
	return b
}

// drain reads what the endpoint sends and counts it. It does not wait for each packet (that
// would cost a wake-up per packet, as much as the endpoint spends receiving): every 5 ms it
// takes whatever has queued, 64 packets per recvmmsg(2), until the socket is empty.
func (m *mixer) drain(i int) {
	defer m.wg.Done()
	ms := make([]ipv4.Message, 64)
	for j := range ms {
		ms[j].Buffers = [][]byte{make([]byte, 1500)}
	}
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		for {
			// A deadline just ahead: recvmmsg returns at once while packets are queued; when
			// none are, the read ends at the deadline instead of parking for the next one.
			m.conns[i].SetReadDeadline(time.Now().Add(200 * time.Microsecond))
			n, err := m.pcs[i].ReadBatch(ms, 0)
			m.received.Add(int64(max(n, 0)))
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					break
				}
				return
			}
		}
	}
}

func (m *mixer) close() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	for _, c := range m.conns {
		c.Close()
	}
	m.wg.Wait()
}

package audiofile

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/pion/rtp"
)

// Link types of the libpcap format that ReadPcap understands.
const (
	LinkNull     = 0   // BSD loopback: 4-byte address family
	LinkEthernet = 1   // Ethernet II, with 802.1Q tags
	LinkRaw      = 101 // raw IPv4/IPv6
	LinkSLL      = 113 // Linux cooked capture v1
	LinkIPv4     = 228
	LinkIPv6     = 229
	LinkSLL2     = 276 // Linux cooked capture v2
)

// maxPcapPackets bounds a capture.
const maxPcapPackets = 2_000_000

// RTPPacket is one RTP packet of a capture. Payload is a copy.
type RTPPacket struct {
	Time     time.Time
	Src, Dst netip.AddrPort
	Header   rtp.Header
	Payload  []byte
}

// SIPInfo is one SIP INFO request of a capture: its Content-Type and body (both copies).
type SIPInfo struct {
	Time        time.Time
	Src, Dst    netip.AddrPort
	CallID      string
	ContentType string
	Body        []byte
}

// Capture is what ReadPcap found, in capture order.
type Capture struct {
	LinkType int
	RTP      []RTPPacket
	Info     []SIPInfo
	// Skipped counts packets that were not UDP, were fragments, or carried neither RTP nor
	// SIP INFO.
	Skipped int
}

// ReadPcap reads a classic libpcap file. Frames it cannot parse are counted in Skipped;
// a file whose global header or record structure is broken is an error.
func ReadPcap(r io.Reader) (*Capture, error) {
	br := bufio.NewReader(r)
	var gh [24]byte
	if _, err := io.ReadFull(br, gh[:]); err != nil {
		return nil, fmt.Errorf("%w: %d-byte header missing", ErrNotPcap, len(gh))
	}
	var bo binary.ByteOrder
	nano := false
	switch binary.LittleEndian.Uint32(gh[0:4]) {
	case 0xa1b2c3d4:
		bo = binary.LittleEndian
	case 0xa1b23c4d:
		bo, nano = binary.LittleEndian, true
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	case 0x4d3cb2a1:
		bo, nano = binary.BigEndian, true
	default:
		if string(gh[0:4]) == "\x0a\x0d\x0d\x0a" {
			return nil, fmt.Errorf("%w: this is pcapng; convert with: editcap -F pcap IN OUT", ErrNotPcap)
		}
		return nil, ErrNotPcap
	}
	c := &Capture{LinkType: int(bo.Uint32(gh[20:24]) & 0x0FFFFFFF)}
	switch c.LinkType {
	case LinkNull, LinkEthernet, LinkRaw, LinkSLL, LinkIPv4, LinkIPv6, LinkSLL2:
	default:
		return nil, fmt.Errorf("%w: %d", ErrLinkType, c.LinkType)
	}
	buf := make([]byte, 0, 2048)
	for n := 0; ; n++ {
		var rh [16]byte
		if _, err := io.ReadFull(br, rh[:]); err != nil {
			if err == io.EOF {
				return c, nil
			}
			return nil, fmt.Errorf("%w: record header %d", ErrTruncated, n)
		}
		if n >= maxPcapPackets {
			return nil, fmt.Errorf("%w: more than %d packets", ErrTooLarge, maxPcapPackets)
		}
		sec, frac := int64(bo.Uint32(rh[0:4])), int64(bo.Uint32(rh[4:8]))
		incl := bo.Uint32(rh[8:12])
		if incl > 262144 {
			return nil, fmt.Errorf("%w: record %d claims %d bytes", ErrNotPcap, n, incl)
		}
		if int(incl) > cap(buf) {
			buf = make([]byte, incl)
		}
		buf = buf[:incl]
		if _, err := io.ReadFull(br, buf); err != nil {
			return nil, fmt.Errorf("%w: record %d", ErrTruncated, n)
		}
		if !nano {
			frac *= 1000
		}
		c.frame(time.Unix(sec, frac).UTC(), buf)
	}
}

// frame decodes one link-layer frame down to UDP.
func (c *Capture) frame(t time.Time, b []byte) {
	var ethType uint16
	switch c.LinkType {
	case LinkEthernet:
		if len(b) < 14 {
			c.Skipped++
			return
		}
		ethType, b = binary.BigEndian.Uint16(b[12:14]), b[14:]
		for (ethType == 0x8100 || ethType == 0x88a8) && len(b) >= 4 {
			ethType, b = binary.BigEndian.Uint16(b[2:4]), b[4:]
		}
	case LinkSLL:
		if len(b) < 16 {
			c.Skipped++
			return
		}
		ethType, b = binary.BigEndian.Uint16(b[14:16]), b[16:]
	case LinkSLL2:
		if len(b) < 20 {
			c.Skipped++
			return
		}
		ethType, b = binary.BigEndian.Uint16(b[0:2]), b[20:]
	case LinkNull:
		if len(b) < 4 {
			c.Skipped++
			return
		}
		b = b[4:] // address family in host order; the IP version nibble tells us the rest
	}
	switch ethType {
	case 0, 0x0800, 0x86DD:
	default:
		c.Skipped++
		return
	}
	src, dst, payload, ok := udpOverIP(b)
	if !ok {
		c.Skipped++
		return
	}
	c.udp(t, src, dst, payload)
}

// udpOverIP returns the UDP payload of an IPv4 or IPv6 packet.
func udpOverIP(b []byte) (src, dst netip.AddrPort, payload []byte, ok bool) {
	if len(b) < 1 {
		return
	}
	var sa, da netip.Addr
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return
		}
		ihl := int(b[0]&0x0F) * 4
		total := int(binary.BigEndian.Uint16(b[2:4]))
		if ihl < 20 || total < ihl || len(b) < ihl {
			return
		}
		if frag := binary.BigEndian.Uint16(b[6:8]); frag&0x3FFF != 0 {
			return // fragments: RTP and SIP INFO are never fragmented in practice
		}
		if b[9] != 17 {
			return
		}
		sa, da = netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
		if total <= len(b) {
			b = b[:total] // drop Ethernet padding
		}
		b = b[ihl:]
	case 6:
		if len(b) < 40 {
			return
		}
		next := b[6]
		plen := int(binary.BigEndian.Uint16(b[4:6]))
		sa, da = netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
		b = b[40:]
		if plen <= len(b) {
			b = b[:plen]
		}
		for hops := 0; next != 17; hops++ {
			switch next {
			case 0, 43, 60: // hop-by-hop, routing, destination options
				if len(b) < 8 || hops > 8 {
					return
				}
				l := (int(b[1]) + 1) * 8
				if len(b) < l {
					return
				}
				next, b = b[0], b[l:]
			default:
				return // fragment headers and everything else
			}
		}
	default:
		return
	}
	if len(b) < 8 {
		return
	}
	ulen := int(binary.BigEndian.Uint16(b[4:6]))
	if ulen < 8 {
		return
	}
	if ulen <= len(b) {
		b = b[:ulen]
	}
	src = netip.AddrPortFrom(sa, binary.BigEndian.Uint16(b[0:2]))
	dst = netip.AddrPortFrom(da, binary.BigEndian.Uint16(b[2:4]))
	return src, dst, b[8:], true
}

func (c *Capture) udp(t time.Time, src, dst netip.AddrPort, p []byte) {
	if info, ok := parseSIPInfo(p); ok {
		info.Time, info.Src, info.Dst = t, src, dst
		c.Info = append(c.Info, info)
		return
	}
	if len(p) >= 12 && p[0]>>6 == 2 {
		// RTCP shares the version bits; its packet types 200–204 read as PT 72–76 with marker
		if pt := p[1] & 0x7F; pt >= 72 && pt <= 76 {
			c.Skipped++
			return
		}
		var pkt rtp.Packet
		if err := pkt.Unmarshal(p); err == nil && pkt.Version == 2 {
			c.RTP = append(c.RTP, RTPPacket{Time: t, Src: src, Dst: dst, Header: pkt.Header,
				Payload: bytes.Clone(pkt.Payload)})
			return
		}
	}
	c.Skipped++
}

// parseSIPInfo recognises a SIP INFO request and returns its Call-ID, Content-Type and body.
func parseSIPInfo(p []byte) (SIPInfo, bool) {
	if !bytes.HasPrefix(p, []byte("INFO ")) {
		return SIPInfo{}, false
	}
	head, body, found := bytes.Cut(p, []byte("\r\n\r\n"))
	if !found {
		head, body, found = bytes.Cut(p, []byte("\n\n"))
	}
	if !found {
		return SIPInfo{}, false
	}
	lines := strings.Split(strings.ReplaceAll(string(head), "\r\n", "\n"), "\n")
	if !strings.HasSuffix(strings.TrimSpace(lines[0]), "SIP/2.0") {
		return SIPInfo{}, false
	}
	info := SIPInfo{}
	clen := -1
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "content-type", "c":
			info.ContentType = v
		case "call-id", "i":
			info.CallID = v
		case "content-length", "l":
			fmt.Sscanf(v, "%d", &clen)
		}
	}
	if clen >= 0 && clen < len(body) {
		body = body[:clen]
	}
	info.Body = bytes.Clone(body)
	return info, true
}

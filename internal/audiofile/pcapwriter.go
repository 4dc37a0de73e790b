package audiofile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/pion/rtp"
)

// PcapWriter writes UDP datagrams as a classic libpcap file (microsecond timestamps) over
// Ethernet, with IPv4 or IPv6 headers and correct IP and UDP checksums — the shape SIPp's
// play_pcap_audio and Wireshark expect.
type PcapWriter struct {
	w   io.Writer
	id  uint16
	buf []byte
}

// Fixed MAC addresses of the generated frames (locally administered).
var (
	srcMAC = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	dstMAC = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}
)

// NewPcapWriter writes the global header and returns a writer.
func NewPcapWriter(w io.Writer) (*PcapWriter, error) {
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 65535)
	binary.LittleEndian.PutUint32(h[20:], LinkEthernet)
	if _, err := w.Write(h); err != nil {
		return nil, err
	}
	return &PcapWriter{w: w}, nil
}

// WriteRTP marshals p and writes it as one UDP datagram.
func (pw *PcapWriter) WriteRTP(t time.Time, src, dst netip.AddrPort, p *rtp.Packet) error {
	b, err := p.Marshal()
	if err != nil {
		return fmt.Errorf("audiofile: marshal RTP: %w", err)
	}
	return pw.WriteUDP(t, src, dst, b)
}

// WriteUDP writes one UDP datagram from src to dst captured at t. Both addresses must be of
// the same family.
func (pw *PcapWriter) WriteUDP(t time.Time, src, dst netip.AddrPort, payload []byte) error {
	sa, da := src.Addr().Unmap(), dst.Addr().Unmap()
	if sa.Is4() != da.Is4() || !sa.IsValid() || !da.IsValid() {
		return errors.New("audiofile: pcap writer: source and destination must both be IPv4 or both IPv6")
	}
	if len(payload) > 65000 {
		return fmt.Errorf("%w: %d-byte datagram", ErrTooLarge, len(payload))
	}
	ulen := 8 + len(payload)
	f := pw.buf[:0]
	f = append(f, dstMAC[:]...)
	f = append(f, srcMAC[:]...)
	var udpAt int
	if sa.Is4() {
		f = binary.BigEndian.AppendUint16(f, 0x0800)
		ip := len(f)
		pw.id++
		f = append(f, 0x45, 0)
		f = binary.BigEndian.AppendUint16(f, uint16(20+ulen))
		f = binary.BigEndian.AppendUint16(f, pw.id)
		f = append(f, 0x40, 0, 64, 17, 0, 0) // DF, TTL 64, UDP, checksum below
		s4, d4 := sa.As4(), da.As4()
		f = append(f, s4[:]...)
		f = append(f, d4[:]...)
		binary.BigEndian.PutUint16(f[ip+10:], ^fold(sum(f[ip:ip+20], 0)))
		udpAt = len(f)
	} else {
		f = binary.BigEndian.AppendUint16(f, 0x86DD)
		f = append(f, 0x60, 0, 0, 0)
		f = binary.BigEndian.AppendUint16(f, uint16(ulen))
		f = append(f, 17, 64)
		s16, d16 := sa.As16(), da.As16()
		f = append(f, s16[:]...)
		f = append(f, d16[:]...)
		udpAt = len(f)
	}
	f = binary.BigEndian.AppendUint16(f, src.Port())
	f = binary.BigEndian.AppendUint16(f, dst.Port())
	f = binary.BigEndian.AppendUint16(f, uint16(ulen))
	f = append(f, 0, 0)
	f = append(f, payload...)
	// UDP checksum over the pseudo-header, header and payload
	var s uint32
	sb, db := sa.AsSlice(), da.AsSlice()
	s = sum(sb, s)
	s = sum(db, s)
	s += 17 + uint32(ulen)
	s = sum(f[udpAt:], s)
	ck := ^fold(s)
	if ck == 0 {
		ck = 0xFFFF
	}
	binary.BigEndian.PutUint16(f[udpAt+6:], ck)
	pw.buf = f

	rh := make([]byte, 16)
	us := t.UnixMicro()
	binary.LittleEndian.PutUint32(rh[0:], uint32(us/1e6))
	binary.LittleEndian.PutUint32(rh[4:], uint32(us%1e6))
	binary.LittleEndian.PutUint32(rh[8:], uint32(len(f)))
	binary.LittleEndian.PutUint32(rh[12:], uint32(len(f)))
	if _, err := pw.w.Write(rh); err != nil {
		return err
	}
	_, err := pw.w.Write(f)
	return err
}

// sum adds b as big-endian 16-bit words to s (the Internet checksum's running sum).
func sum(b []byte, s uint32) uint32 {
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xFFFF + s>>16
	}
	return uint16(s)
}

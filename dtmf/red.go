package dtmf

import "fmt"

// REDBlock is one block of an RFC 2198 redundant payload: its payload type, how far its
// timestamp lies before the packet's (TimestampOffset, in RTP clock units) and its data.
// Data aliases the input slice; copy it to keep it.
type REDBlock struct {
	PayloadType     uint8
	TimestampOffset uint16
	Data            []byte
}

// UnpackRED splits an RFC 2198 payload into its blocks, oldest first; the primary block
// (offset 0) is last. Headers that run past the payload or lengths that do not add up are an
// error wrapping ErrBadRED.
//
//	redundant header: |F| block PT (7) | timestamp offset (14) | block length (10) |
//	primary header:   |0| block PT (7) |
func UnpackRED(payload []byte) ([]REDBlock, error) {
	type hdr struct {
		pt     uint8
		off    uint16
		length int
	}
	var hs []hdr
	i := 0
	for {
		if i >= len(payload) {
			return nil, fmt.Errorf("%w: header runs past the payload", ErrBadRED)
		}
		if payload[i]&0x80 == 0 {
			hs = append(hs, hdr{pt: payload[i] & 0x7F, length: -1})
			i++
			break
		}
		if i+4 > len(payload) {
			return nil, fmt.Errorf("%w: header runs past the payload", ErrBadRED)
		}
		b := payload[i : i+4]
		hs = append(hs, hdr{
			pt:     b[0] & 0x7F,
			off:    uint16(b[1])<<6 | uint16(b[2])>>2,
			length: int(b[2]&0x03)<<8 | int(b[3]),
		})
		i += 4
		if len(hs) > 64 {
			return nil, fmt.Errorf("%w: more than 64 blocks", ErrBadRED)
		}
	}
	blocks := make([]REDBlock, 0, len(hs))
	for _, h := range hs {
		n := h.length
		if n < 0 {
			n = len(payload) - i
		}
		if i+n > len(payload) {
			return nil, fmt.Errorf("%w: block of %d bytes runs past the payload", ErrBadRED, n)
		}
		blocks = append(blocks, REDBlock{PayloadType: h.pt, TimestampOffset: h.off, Data: payload[i : i+n]})
		i += n
	}
	return blocks, nil
}

// PackRED builds an RFC 2198 payload from blocks, oldest first, primary last (its offset is
// ignored). It is the inverse of UnpackRED, for senders and tests.
func PackRED(blocks []REDBlock) ([]byte, error) {
	if len(blocks) == 0 {
		return nil, fmt.Errorf("%w: no blocks", ErrBadRED)
	}
	var out []byte
	for _, b := range blocks[:len(blocks)-1] {
		if b.TimestampOffset >= 1<<14 || len(b.Data) >= 1<<10 || b.PayloadType > 127 {
			return nil, fmt.Errorf("%w: block does not fit its header", ErrBadRED)
		}
		out = append(out, 0x80|b.PayloadType, byte(b.TimestampOffset>>6),
			byte(b.TimestampOffset<<2)|byte(len(b.Data)>>8), byte(len(b.Data)))
	}
	p := blocks[len(blocks)-1]
	if p.PayloadType > 127 {
		return nil, fmt.Errorf("%w: payload type %d", ErrBadRED, p.PayloadType)
	}
	out = append(out, p.PayloadType)
	for _, b := range blocks {
		out = append(out, b.Data...)
	}
	return out, nil
}

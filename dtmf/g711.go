package dtmf

// G.711 (ITU-T G.711, 1988) companding between 16-bit linear PCM and 8-bit μ-law / A-law.
//
// Linear values use the full 16-bit range: μ-law's 14-bit reconstruction levels are scaled by
// 4 (so 0x80 decodes to +32124) and A-law's 13-bit levels by 8 (0xAA decodes to +32256), the
// convention of every VoIP stack. Encoding rounds to the decision interval of G.711, so
// Encode(Decode(code)) == code for every code except μ-law's negative zero (0x7F), which
// encodes back as positive zero (0xFF).

const (
	ulawBias = 0x84 // 33 in 14-bit units, scaled to 16 bits
	ulawClip = 32635
)

var (
	ulawToLinear [256]int16
	alawToLinear [256]int16
	linearToULaw [65536 >> 2]byte // indexed by the 14-bit value (sample >> 2) + 8192
	linearToALaw [65536 >> 3]byte // indexed by the 13-bit value (sample >> 3) + 4096

	// the in-band detector's μ-law input (Stream.AudioULaw): each code's linear value as
	// float32 and its square
	ulawFloat  [256]float32
	ulawSquare [256]int64
)

func init() {
	for i := 0; i < 256; i++ {
		ulawToLinear[i] = ulawDecode(byte(i))
		alawToLinear[i] = alawDecode(byte(i))
		v := ulawToLinear[i]
		ulawFloat[i], ulawSquare[i] = float32(v), int64(v)*int64(v)
	}
	for i := range linearToULaw {
		linearToULaw[i] = ulawEncode(int16((i - 8192) << 2))
	}
	for i := range linearToALaw {
		linearToALaw[i] = alawEncode(int16((i - 4096) << 3))
	}
}

// topBit returns the index of the highest set bit of v (v > 0).
func topBit(v int) int {
	n := 0
	for v > 1 {
		v >>= 1
		n++
	}
	return n
}

func ulawEncode(s int16) byte {
	x := int(s)
	mask := byte(0xFF)
	if x < 0 {
		x = -x - 1 // one's complement magnitude: the negative levels mirror the positive ones
		mask = 0x7F
	}
	if x > ulawClip {
		x = ulawClip
	}
	x += ulawBias
	seg := topBit(x|0xFF) - 7
	if seg > 7 {
		return 0x7F ^ mask
	}
	return byte(seg<<4|(x>>(seg+3))&0x0F) ^ mask
}

func ulawDecode(u byte) int16 {
	u = ^u
	t := (int(u&0x0F)<<3 + ulawBias) << (int(u&0x70) >> 4)
	if u&0x80 != 0 {
		return int16(ulawBias - t)
	}
	return int16(t - ulawBias)
}

func alawEncode(s int16) byte {
	x := int(s)
	mask := byte(0xD5) // sign bit set for positive values, even bits inverted
	if x < 0 {
		x = -x - 1
		mask = 0x55
	}
	seg := topBit(x|0xFF) - 7
	if seg > 7 {
		return 0x7F ^ mask
	}
	shift := seg + 3
	if seg == 0 {
		shift = 4
	}
	return byte(seg<<4|(x>>shift)&0x0F) ^ mask
}

func alawDecode(a byte) int16 {
	a ^= 0x55
	i := int(a&0x0F) << 4
	seg := int(a&0x70) >> 4
	if seg != 0 {
		i = (i + 0x108) << (seg - 1)
	} else {
		i += 8
	}
	if a&0x80 != 0 {
		return int16(i)
	}
	return int16(-i)
}

// ULawToLinear decodes one μ-law byte.
func ULawToLinear(u byte) int16 { return ulawToLinear[u] }

// ALawToLinear decodes one A-law byte.
func ALawToLinear(a byte) int16 { return alawToLinear[a] }

// LinearToULaw encodes one 16-bit sample as μ-law. The two low bits are below μ-law's
// resolution and do not change the code.
func LinearToULaw(s int16) byte { return linearToULaw[(int(s)>>2)+8192] }

// LinearToALaw encodes one 16-bit sample as A-law. The three low bits are below A-law's
// resolution and do not change the code.
func LinearToALaw(s int16) byte { return linearToALaw[(int(s)>>3)+4096] }

// DecodeULaw decodes len(src) μ-law bytes into dst, which must be at least as long.
func DecodeULaw(dst []int16, src []byte) {
	dst = dst[:len(src)]
	for i, u := range src {
		dst[i] = ulawToLinear[u]
	}
}

// EncodeULaw encodes len(src) samples as μ-law into dst, which must be at least as long.
func EncodeULaw(dst []byte, src []int16) {
	dst = dst[:len(src)]
	for i, s := range src {
		dst[i] = linearToULaw[(int(s)>>2)+8192]
	}
}

// DecodeALaw decodes len(src) A-law bytes into dst, which must be at least as long.
func DecodeALaw(dst []int16, src []byte) {
	dst = dst[:len(src)]
	for i, a := range src {
		dst[i] = alawToLinear[a]
	}
}

// EncodeALaw encodes len(src) samples as A-law into dst, which must be at least as long.
func EncodeALaw(dst []byte, src []int16) {
	dst = dst[:len(src)]
	for i, s := range src {
		dst[i] = linearToALaw[(int(s)>>3)+4096]
	}
}

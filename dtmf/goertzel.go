package dtmf

import (
	"encoding/binary"
	"math"
)

// Block analysis: the Goertzel filter bank that both the Detector and the Masker run over
// 102-sample (12.75 ms) blocks.

const (
	blockLen = 102 // 12.75 ms at 8 kHz: bins ~78 Hz wide, narrow enough to separate the rows
	blockHop = 51  // blocks overlap by half, so a block starts every 6.4 ms
)

// goertzel is one precomputed Goertzel filter.
type goertzel struct{ coef float32 }

func newGoertzel(f float64) goertzel {
	return goertzel{coef: float32(2 * math.Cos(2*math.Pi*f/SampleRate))}
}

// power returns |X(f)|² over x.
func (g goertzel) power(x []float32) float32 {
	var s1, s2 float32
	c := g.coef
	for _, v := range x {
		s1, s2 = v+c*s1-s2, s1
	}
	return s1*s1 + s2*s2 - c*s1*s2
}

// bank holds the filters for the eight DTMF tones.
type bank struct {
	tone [8]goertzel

	// per tone: cos ω and sin ω (to read a complex result out of a Goertzel filter), and
	// e^{−jω·51} (to join two half blocks into one block)
	coef           [8]float32
	harm           [8]float32 // Goertzel coefficients at twice each tone
	freq           [8]float64
	cos, sin       [8]float32
	joinRe, joinIm [8]float32
}

// half is the Goertzel state of one 51-sample half block: the complex sum
// Σ x[n]·e^{jω(50−n)} per tone, and the energy Σ x². Two consecutive halves make a block, so
// each sample is filtered once although blocks overlap by half.
type half struct {
	re, im [8]float32
	energy float32
}

// run fills h from the 51 samples of x.
func (b *bank) run(x []float32, h *half) {
	x = x[:blockHop]
	var e float32
	for _, v := range x {
		e += v * v
	}
	b.runEnergy(x, h, e)
}

// exactBelow bounds the sums of squares that float32 holds exactly: below it, every product
// of two int16 samples and every partial sum is an integer float32 represents, so the float
// sum in sample order equals the integer sum converted once.
const exactBelow = 1 << 24

// runEnergy fills h from the 51 samples of x whose energy Σx² is e.
func (b *bank) runEnergy(x []float32, h *half, e float32) {
	x = x[:blockHop]
	h.energy = e
	// Cauchy–Schwarz: no filter sum can exceed blockHop·e. Below 1 % of the weakest tone any
	// limit accepts, the half is taken as silence (idle-line noise under −60 dBm0 costs nothing).
	if e*blockHop < skipPower {
		h.re, h.im = [8]float32{}, [8]float32{}
		return
	}
	c := &b.coef
	var a0, a1, a2, a3, a4, a5, a6, a7 float32
	var p0, p1, p2, p3, p4, p5, p6, p7 float32
	for _, v := range x {
		a0, p0 = v+c[0]*a0-p0, a0
		a1, p1 = v+c[1]*a1-p1, a1
		a2, p2 = v+c[2]*a2-p2, a2
		a3, p3 = v+c[3]*a3-p3, a3
		a4, p4 = v+c[4]*a4-p4, a4
		a5, p5 = v+c[5]*a5-p5, a5
		a6, p6 = v+c[6]*a6-p6, a6
		a7, p7 = v+c[7]*a7-p7, a7
	}
	s1 := [8]float32{a0, a1, a2, a3, a4, a5, a6, a7}
	s2 := [8]float32{p0, p1, p2, p3, p4, p5, p6, p7}
	for k := 0; k < 8; k++ {
		h.re[k] = s1[k] - b.cos[k]*s2[k]
		h.im[k] = b.sin[k] * s2[k]
	}
}

// join sets blk to the sums of the block made of halves a then c (the same shape as a half:
// Σ x[n]·e^{jω(101−n)} and the energy), and p to its eight tone powers |X|².
func (b *bank) join(a, c, blk *half, p *[8]float32) {
	for k := 0; k < 8; k++ {
		// the first half's sum is advanced by 51 samples: y = y_a·e^{jω·51} + y_c
		re := a.re[k]*b.joinRe[k] - a.im[k]*b.joinIm[k] + c.re[k]
		im := a.re[k]*b.joinIm[k] + a.im[k]*b.joinRe[k] + c.im[k]
		blk.re[k], blk.im[k] = re, im
		p[k] = re*re + im*im
	}
	blk.energy = a.energy + c.energy
}

func newBank() *bank {
	b := new(bank)
	for i := 0; i < 8; i++ {
		f := rowFreqs[i%4]
		if i >= 4 {
			f = colFreqs[i-4]
		}
		b.tone[i] = newGoertzel(f)
		b.coef[i] = b.tone[i].coef
		b.freq[i] = f
		b.harm[i] = newGoertzel(2 * f).coef
		w := 2 * math.Pi * f / SampleRate
		b.cos[i], b.sin[i] = float32(math.Cos(w)), float32(math.Sin(w))
		b.joinRe[i], b.joinIm[i] = float32(math.Cos(w*blockHop)), float32(math.Sin(w*blockHop))
	}
	return b
}

var sharedBank = newBank()

// limits are the acceptance rules of one block.
type limits struct {
	minPower    float32 // |X|² of a full-block tone at the minimum level
	maxNormal   float32 // low louder than high by at most this power ratio
	maxReverse  float32 // high louder than low by at most this power ratio
	relPeak     float32 // other tones of the group at least this ratio down
	minFraction float32 // the two tones carry at least this share of the block energy
	maxDev      float64 // refuse tones further than this fraction off nominal (0: no check)
	maxHarm     float32 // refuse tones whose 2nd harmonic is above this power ratio (0: no check)

	tanMax    [8]float64 // per tone: tan of the largest phase step maxDev allows (see prepare)
	minEnergy float32    // a block with less energy Σx² cannot carry a key (see prepare)
}

func dbRatio(db float64) float32 { return float32(math.Pow(10, db/10)) }

func levelPower(dbm0 float64) float32 {
	a := DBm0ToPeak(dbm0) * blockLen / 2
	return float32(a * a)
}

// strictLimits decide digits. Tuned by measurement against the conformance
// matrix (docs/dtmf.md).
var strictLimits = limits{
	minPower:    levelPower(-42),
	maxNormal:   dbRatio(9.5),
	maxReverse:  dbRatio(5.5),
	relPeak:     dbRatio(8),
	minFraction: 0.70,
	maxDev:      0.02,
	maxHarm:     dbRatio(-15),
}

func init() {
	strictLimits.prepare()
	maskLimits.prepare()
}

// prepare derives tanMax from maxDev: a tone Δ Hz off turns φ = 2π·Δ·51/8000 further per
// 51 samples; at maxDev ≤ 2.4 % φ stays under π/2 for every tone, so tan is monotonic.
func (l *limits) prepare() {
	for i := range l.tanMax {
		f := rowFreqs[i%4]
		if i >= 4 {
			f = colFreqs[i-4]
		}
		l.tanMax[i] = math.Tan(2 * math.Pi * l.maxDev * f * blockHop / SampleRate)
	}
	l.minEnergy = gateMargin * 2 * l.minPower / float32(pairGain)
}

// The energy gate: the least energy a block must have for analyzeHalves to find a key in it
// under some limits, so that blocker.analyze can refuse every quieter block (silence, line
// noise, the pauses of speech) on the energy take already counted, without the filters.
//
// A key needs both of its tones, row r and column c, at minPower or more (analyzeHalves'
// first test on the filter powers; the later tests only refuse more). Tone k's power over
// the block x (N = 102 real samples) is p_k = |Σ x[n]·e^{−jω_k n}|² = ⟨x,cos_k⟩² + ⟨x,sin_k⟩²
// (the filters' phase reference changes no magnitude), so
//
//	p_r + p_c = xᵀ·M·x,  M = Σ v·vᵀ over v ∈ {cos_r, sin_r, cos_c, sin_c},
//
// and xᵀMx ≤ λmax(M)·Σx². The nonzero eigenvalues of M are those of the 4×4 Gram matrix
// G_ij = ⟨v_i,v_j⟩, and by Gershgorin's theorem λmax(G) ≤ max_i Σ_j |G_ij| =: Λ(r,c). A key is
// therefore possible only when 2·minPower ≤ p_r + p_c ≤ Λ(r,c)·Σx², that is when
//
//	Σx² ≥ 2·minPower / pairGain,  pairGain = max over the 16 keys of Λ(r,c) = 57.8
//
// (941 + 1209 Hz, whose tones are the closest; a lone tone's bound would be N/2 ≈ 51, two
// perfectly separated tones' 51 as well). The bound is 5.5 dB above analyzeHalves' own
// energy test (Cauchy–Schwarz, minPower/N, which allows the whole block's energy in one
// filter of gain N) and it is tight: the worst signal, G's top eigenvector, reaches 97 % of
// it (TestEnergyGateBound). It holds for what the filters compute too: a half that
// runEnergy takes as silence has zero sums — the transform of the block with those samples
// zeroed, whose energy is smaller still. gateMargin (0.46 dB) covers the float32 rounding of
// the filters (measured under 5e-7 of N/2·Σx² over two-tone blocks with noise, 10 to 30,000
// peak) and of the energies (exact integers below exactBelow, which the gate level is far
// under) many times over.
//
// Only minPower bounds a block's energy from below: the other limits (twist, the other
// tones' distance, the tones' share of the energy) are ratios and hold at any level.
const gateMargin = 0.9

// pairGain is Λ(r,c) above, maximised over the keys; computed in float64 (the sums' error,
// around 1e-13, is nothing beside gateMargin).
var pairGain = func() float64 {
	v := func(f float64, sin bool) (x [blockLen]float64) {
		w := 2 * math.Pi * f / SampleRate
		for n := range x {
			if sin {
				x[n] = math.Sin(w * float64(n))
			} else {
				x[n] = math.Cos(w * float64(n))
			}
		}
		return x
	}
	worst := 0.0
	for _, r := range rowFreqs {
		for _, c := range colFreqs {
			vs := [4][blockLen]float64{v(r, false), v(r, true), v(c, false), v(c, true)}
			for i := range vs {
				row := 0.0
				for j := range vs {
					g := 0.0
					for n := range vs[i] {
						g += vs[i][n] * vs[j][n]
					}
					row += math.Abs(g)
				}
				worst = max(worst, row)
			}
		}
	}
	return worst
}()

// skipPower is 1 % of the weakest tone power any limits accept.
var skipPower = levelPower(-50) / 100

// maskLimits find anything that might be heard as a tone by any decoder: the Masker removes
// these blocks, so they are wide on purpose.
var maskLimits = limits{
	minPower:    levelPower(-50),
	maxNormal:   dbRatio(20),
	maxReverse:  dbRatio(20),
	relPeak:     dbRatio(3),
	minFraction: 0.35,
}

// analyze returns the key whose tone pair block x carries under lim, or 0.
func (b *bank) analyze(x []float32, lim *limits) Digit {
	var h0, h1, blk half
	b.run(x[:blockHop], &h0)
	b.run(x[blockHop:], &h1)
	return b.analyzeHalves(&h0, &h1, nil, &blk, x, lim, 0)
}

// analyzeHalves is analyze for the block x of halves h0 and h1, leaving the block's sums in
// blk. prev, when not nil, holds the sums of the block that ended 51 samples earlier: its
// phase gives a sharper frequency check than the halves' (less leakage from the other tone).
func (b *bank) analyzeHalves(h0, h1, prev, blk *half, x []float32, lim *limits, held Digit) Digit {
	var p [8]float32
	b.join(h0, h1, blk, &p)
	energy := blk.energy
	// no tone can reach the threshold in a block with less energy (Cauchy–Schwarz)
	if energy*blockLen < lim.minPower {
		return 0
	}
	r, c := 0, 4
	for i := 1; i < 4; i++ {
		if p[i] > p[r] {
			r = i
		}
		if p[i+4] > p[c] {
			c = i + 4
		}
	}
	if p[r] < lim.minPower || p[c] < lim.minPower {
		return 0
	}
	for i := 0; i < 4; i++ {
		if i != r && p[i]*lim.relPeak > p[r] {
			return 0
		}
		if i+4 != c && p[i+4]*lim.relPeak > p[c] {
			return 0
		}
	}
	pr, pc := p[r], p[c]
	var phiC float64 // phase step of the high tone beyond nominal: its real frequency
	if lim.maxDev > 0 {
		a, z := h0, h1
		if prev != nil {
			a, z = prev, blk
		}
		var ok bool
		if pr, _, ok = b.tuned(a, z, r, pr, lim); !ok {
			return 0
		}
		if pc, phiC, ok = b.tuned(a, z, c, pc, lim); !ok {
			return 0
		}
	}
	if pr > pc*lim.maxNormal || pc > pr*lim.maxReverse {
		return 0
	}
	// A full-block sine of power P in |X|² carries 2P/N of the block's energy.
	if 2*(pr+pc) < lim.minFraction*blockLen*energy {
		return 0
	}
	// Keypads make clean sines; instruments and voices come with harmonics. Only the high
	// tone's second harmonic (2.4–3.3 kHz) is clear of the other DTMF tones: the low tones'
	// (1.4–1.9 kHz) fall on the high group. A key already held (held) was checked when it went
	// down; its later blocks skip this.
	d := Digit(keypad[r*4+c-4])
	if lim.maxHarm > 0 && d != held && b.harmonic(x, c, phiC) > pc*lim.maxHarm {
		return 0
	}
	return d
}

// tuned measures how far tone k of the block lies from its nominal frequency, from the
// phase φ it turns through between two windows 51 samples apart, h0 then h1 (two halves, or
// two consecutive blocks): a tone Δ Hz off turns φ = 2π·Δ·51/8000 radians more than the
// filter expects. It refuses the tone when |Δ| exceeds maxDev of the nominal frequency, and
// otherwise returns p corrected for the loss of a 102-sample filter at that offset
// (sin φ / φ in amplitude: with 102 = 2·51 samples the kernel's argument is φ itself), so
// the twist and energy checks see the tone's real power. It also returns φ, from which the
// tone's real frequency follows (f + φ·8000/(2π·51)). No transcendental calls: this runs on
// every block that carries a tone.
func (b *bank) tuned(h0, h1 *half, k int, p float32, lim *limits) (float32, float64, bool) {
	// z = y1 · conj(y0) · e^{−jω·51}
	re := h1.re[k]*h0.re[k] + h1.im[k]*h0.im[k]
	im := h1.im[k]*h0.re[k] - h1.re[k]*h0.im[k]
	jr, ji := b.joinRe[k], b.joinIm[k]
	zr, zi := float64(re*jr+im*ji), float64(im*jr-re*ji)
	// |φ| ≤ φmax < π/2  ⟺  zr > 0 and |zi| ≤ tan(φmax)·zr
	if zr <= 0 || math.Abs(zi) > lim.tanMax[k]*zr {
		return 0, 0, false
	}
	r := math.Sqrt(zr*zr + zi*zi)
	if r == 0 {
		return p, 0, true
	}
	sin, cos := zi/r, zr/r
	phi := 2 * atanSmall(sin/(1+cos)) // half-angle keeps the argument within ±0.77
	if phi == 0 {
		return p, 0, true
	}
	g := sin / phi
	return p / float32(g*g), phi, true
}

// atanSmall is arctan for |t| ≤ 1 (polynomial, error below 1e-5 rad).
func atanSmall(t float64) float64 {
	t2 := t * t
	return t * (0.99997726 + t2*(-0.33262347+t2*(0.19354346+t2*(-0.11643287+t2*(0.05265332+t2*(-0.01172120))))))
}

// harmonic returns the power over x at twice the real frequency of tone k (nominal plus the
// offset that phase step phi shows): a detuned note's harmonic is detuned twice as far, and
// a filter left at twice the nominal frequency would miss most of it.
func (b *bank) harmonic(x []float32, k int, phi float64) float32 {
	c := b.harm[k]
	if phi != 0 {
		f := b.freq[k] + phi*SampleRate/(2*math.Pi*blockHop)
		c = float32(2 * math.Cos(2*math.Pi*2*f/SampleRate))
	}
	var a, p float32
	for _, v := range x {
		a, p = v+c*a-p, a
	}
	return a*a + p*p - c*a*p
}

// blocker cuts a sample stream into overlapping blocks and keeps their half-block sums.
//
// The filter sums are computed lazily: take counts each half's energy only (an exact integer
// sum of squares while it converts the samples), and the eight filters run over a half only
// when a block that holds it passes the energy gate of the limits it is analysed under — or
// when the next block needs the previous one's sums (analyzeHalves' prev). Below that gate
// analyzeHalves returns at once whatever the sums are, so a quiet block (silence, line noise
// between RFC 4733 keys, the usual block of a call that keys out of band) costs its energy
// and nothing else, and every result is the one the eager bank gave: the same samples go
// through the same functions, only later or never.
//
// The samples of the last three halves live in a ring (the previous block's first half, the
// current block's two), so moving on by half a block copies nothing; a half known to be all
// zeros (digital silence, takeULaw) is not even written until something reads it.
type blocker struct {
	b       *bank
	ring    [3][blockHop]float32
	rot     int     // the current block's first half is in ring slot rot, its second in the next, the half before it in the one after (mod 3)
	zero    [3]bool // ring slot i holds zeros up to where it is filled, whatever is stored
	fill    int
	squares int64 // Σx² of the samples of the half being filled, exact
	h       [2]half
	hOK     [2]bool // h[i]'s filter sums are computed (its energy always is)
	blk     [2]half // the last block's sums and the current one's
	blkOK   [2]bool
	haveBlk bool // blk[0] is the block just before the current one

	// the sums of the half before the current block (the first half of the last block),
	// computed (oldOK) or not; its samples are in ring slot at[2]
	oldH  half
	oldOK bool

	// wideGate turns the energy gate off, leaving analyzeHalves' own Cauchy–Schwarz test:
	// the reference the gate is tested against (TestEnergyGateDecidesAsWithout).
	wideGate bool
}

// slot returns the ring slot of half i of the current block (2: the half before it).
func (bl *blocker) slot(i int) int {
	s := bl.rot + i
	if s >= 3 {
		s -= 3
	}
	return s
}

// dest returns where the next n samples go (n within room) and whether the slot is still
// known zero up to them; a half begins known zero.
func (bl *blocker) dest(n int) (w []float32, slot int, zero bool) {
	i, off := 0, bl.fill
	if off >= blockHop {
		i, off = 1, off-blockHop
	}
	slot = bl.slot(i)
	if off == 0 {
		bl.zero[slot] = true
	}
	return bl.ring[slot][off : off+n], slot, bl.zero[slot]
}

// store makes slot hold its samples up to w (where the next ones go) for real: the zeros it
// was only known to hold are written.
func (bl *blocker) store(slot int, w []float32) {
	if !bl.zero[slot] {
		return
	}
	off := blockHop - cap(w) // w's offset within the slot
	clear(bl.ring[slot][:off])
	bl.zero[slot] = false
}

// take copies samples from pcm up to the next half-block boundary and returns how many it
// took and whether a whole block is now ready for analyze (then call shift).
func (bl *blocker) take(pcm []int16) (n int, block bool) {
	n = min(bl.room(), len(pcm))
	w, slot, _ := bl.dest(n)
	bl.store(slot, w)
	sq := bl.squares
	for i, v := range pcm[:len(w)] {
		w[i] = float32(v)
		sq += int64(v) * int64(v)
	}
	bl.taken(n, sq)
	return n, bl.fill == blockLen
}

// takeULaw is take for μ-law bytes, decoded on the way in: the samples DecodeULaw gives and
// their squares, from tables. A run of μ-law zeros (0xFF, or 0x7F, the negative zero; the
// digital silence of an idle line) is recognised eight bytes at a time and, while the half
// holds nothing else, not written at all.
func (bl *blocker) takeULaw(src []byte) (n int, block bool) {
	n = min(bl.room(), len(src))
	src = src[:n]
	w, slot, zero := bl.dest(n)
	sq := bl.squares
	switch {
	case ulawSilent(src):
		if !zero {
			clear(w)
		}
	default:
		bl.store(slot, w)
		for i, u := range src[:len(w)] {
			w[i] = ulawFloat[u]
			sq += ulawSquare[u]
		}
	}
	bl.taken(n, sq)
	return n, bl.fill == blockLen
}

// ulawSilent reports whether every byte of b is a μ-law zero (0xFF or 0x7F).
func ulawSilent(b []byte) bool {
	const ones = 0xFFFF_FFFF_FFFF_FFFF
	const signs = 0x8080_8080_8080_8080
	if len(b) < 8 {
		for _, u := range b {
			if u|0x80 != 0xFF {
				return false
			}
		}
		return true
	}
	// each byte is 0x7F or 0xFF exactly when the AND of the words holds only such bytes
	i := 0
	for ; i+32 <= len(b); i += 32 {
		c := b[i : i+32 : i+32]
		w := binary.LittleEndian.Uint64(c) & binary.LittleEndian.Uint64(c[8:]) &
			binary.LittleEndian.Uint64(c[16:]) & binary.LittleEndian.Uint64(c[24:])
		if w|signs != ones {
			return false
		}
	}
	for ; i+8 <= len(b); i += 8 {
		if binary.LittleEndian.Uint64(b[i:])|signs != ones {
			return false
		}
	}
	// the last bytes, in one word that overlaps the loop's last
	return binary.LittleEndian.Uint64(b[len(b)-8:])|signs == ones
}

// taken accounts for the n samples just stored, whose squares bring the filling half's sum
// to sq.
func (bl *blocker) taken(n int, sq int64) {
	bl.fill += n
	switch bl.fill {
	case blockHop:
		bl.squares = 0
		bl.h[0].energy, bl.hOK[0] = bl.energy(0, sq), false
	case blockLen:
		bl.squares = 0
		bl.h[1].energy, bl.hOK[1] = bl.energy(1, sq), false
	default:
		bl.squares = sq
	}
}

// energy is energyOf for half i, whose samples are read only when sq is not exact in float32.
func (bl *blocker) energy(i int, sq int64) float32 {
	if sq < exactBelow {
		return float32(sq)
	}
	return energyOf(bl.samples(i), sq)
}

// samples returns the samples of half i of the current block (2: the half before it), which
// must be complete, written for real.
func (bl *blocker) samples(i int) []float32 {
	slot := bl.slot(i)
	if bl.zero[slot] {
		clear(bl.ring[slot][:])
		bl.zero[slot] = false
	}
	return bl.ring[slot][:]
}

// energyOf is Σx² over the half x, in float32 as run sums it: from sq, the exact integer sum
// of squares, when float32 holds every partial sum exactly (then the two are equal bit for
// bit, without the float loop's chain of dependent additions).
func energyOf(x []float32, sq int64) float32 {
	if sq < exactBelow {
		return float32(sq)
	}
	var e float32
	for _, v := range x[:blockHop] {
		e += v * v
	}
	return e
}

// sums computes the filter sums of half i of the current block if they are not yet.
func (bl *blocker) sums(i int) {
	if !bl.hOK[i] {
		bl.b.runEnergy(bl.samples(i), &bl.h[i], bl.h[i].energy)
		bl.hOK[i] = true
	}
}

// prevBlock computes the last block's sums (blk[0]) if they are not yet; h[0] is computed.
func (bl *blocker) prevBlock() {
	if bl.blkOK[0] {
		return
	}
	if !bl.oldOK {
		bl.b.runEnergy(bl.samples(2), &bl.oldH, bl.oldH.energy)
		bl.oldOK = true
	}
	var p [8]float32
	bl.b.join(&bl.oldH, &bl.h[0], &bl.blk[0], &p)
	bl.blkOK[0] = true
}

// room returns how many samples take will accept before the next half-block boundary.
func (bl *blocker) room() int {
	if bl.fill >= blockHop {
		return blockLen - bl.fill
	}
	return blockHop - bl.fill
}

func (bl *blocker) analyze(lim *limits, held Digit) Digit {
	// the energy gate (see gateMargin), on the energies alone (the same sum join makes): a
	// block below it is no key whatever its filter sums
	e := bl.h[0].energy + bl.h[1].energy
	if e < lim.minEnergy && !bl.wideGate || e*blockLen < lim.minPower {
		return 0
	}
	bl.sums(0)
	bl.sums(1)
	var prev *half
	if bl.haveBlk {
		bl.prevBlock()
		prev = &bl.blk[0]
	}
	var x [blockLen]float32
	copy(x[:blockHop], bl.samples(0))
	copy(x[blockHop:], bl.samples(1))
	d := bl.b.analyzeHalves(&bl.h[0], &bl.h[1], prev, &bl.blk[1], x[:], lim, held)
	bl.blkOK[1] = true
	return d
}

// shift drops the older half of the block.
func (bl *blocker) shift() {
	bl.oldH, bl.oldOK = bl.h[0], bl.hOK[0]
	bl.rot = bl.slot(1) // the second half becomes the first; the slot of the one before is reused
	bl.h[0], bl.hOK[0] = bl.h[1], bl.hOK[1]
	bl.blk[0], bl.blkOK[0] = bl.blk[1], bl.blkOK[1]
	bl.blkOK[1] = false
	bl.haveBlk = true
	bl.fill = blockHop
}

// reset forgets a partial block (after lost audio).
func (bl *blocker) reset() { bl.fill, bl.haveBlk, bl.squares = 0, false, 0 }

package dtmf

import (
	"math"
	"testing"

	"github.com/paybridge/paybridge/dtmf/dtmftest"
)

// oneKey reports whether the detector finds exactly key k in t (μ-law, 20 ms frames).
func oneKey(g *dtmftest.Gen, t dtmftest.Tone) bool {
	a, _ := g.Append(g.Lead(), t)
	a = append(a, make([]float64, 800)...)
	pcm := laws[0].companded(a)
	frames := g.Frames(len(pcm), 160)
	res := runDetector(pcm, frames, nil)
	return res.keys == string(t.Key)
}

// TestMeasuredLimits sweeps frequency offset, twist, level and duration like spandsp's
// battery and logs where paybridge's detector accepts; it fails if a limit falls outside
// the conformance matrix's MUST bounds. docs/dtmf.md quotes its output.
func TestMeasuredLimits(t *testing.T) {
	g := dtmftest.New(9)
	for _, k := range []byte("159D") {
		var lim [4]float64 // low +, low −, high +, high −
		for w := 0; w < 4; w++ {
			sign := 1.0
			if w%2 == 1 {
				sign = -1
			}
			for i := 1; i <= 60; i++ {
				dev := sign * float64(i) / 1000
				tn := dtmftest.Std(k, 50, 50)
				tn.LowDB, tn.HighDB = -20, -20
				if w < 2 {
					tn.LowDev = dev
				} else {
					tn.HighDev = dev
				}
				if !oneKey(g, tn) {
					break
				}
				lim[w] = dev * 100
			}
		}
		t.Logf("freq: key %c accepts low %+.1f%%..%+.1f%%, high %+.1f%%..%+.1f%%", k, lim[1], lim[0], lim[3], lim[2])
		for _, l := range lim {
			if math.Abs(l) < 1.5 || math.Abs(l) >= 3.5 {
				t.Errorf("key %c: frequency limit %.1f%% outside [1.5, 3.5)", k, l)
			}
		}
		var lowLouder, highLouder float64
		for tw := 0.0; tw <= 20; tw += 0.1 {
			tn := dtmftest.Std(k, 50, 50)
			tn.LowDB, tn.HighDB = -3, -3-tw
			if !oneKey(g, tn) {
				break
			}
			lowLouder = tw
		}
		for tw := 0.0; tw <= 20; tw += 0.1 {
			tn := dtmftest.Std(k, 50, 50)
			tn.LowDB, tn.HighDB = -3-tw, -3
			if !oneKey(g, tn) {
				break
			}
			highLouder = tw
		}
		t.Logf("twist: key %c accepts low group louder by up to %.1f dB, high group louder by up to %.1f dB", k, lowLouder, highLouder)
		if lowLouder < 7 || lowLouder >= 12 || highLouder < 3.5 || highLouder >= 8 {
			t.Errorf("key %c: twist limits %.1f/%.1f outside the MUST bounds", k, lowLouder, highLouder)
		}
	}
	lo, hi := 99, -99
	for lvl := 3; lvl >= -60; lvl-- {
		tn := dtmftest.Std('1', 50, 50)
		tn.LowDB, tn.HighDB = float64(lvl), float64(lvl)
		if oneKey(g, tn) {
			lo, hi = min(lo, lvl), max(hi, lvl)
		}
	}
	t.Logf("level: accepts %d..%+d dBm0 per tone", lo, hi)
	if lo > -30 || lo <= -55 || hi < 3 {
		t.Errorf("level range %d..%d outside the MUST bounds", lo, hi)
	}
	shortest, longestReject := 999.0, 0.0
	for d := 60.0; d >= 5; d -= 0.5 {
		hits := 0
		for r := 0; r < 20; r++ {
			if oneKey(g, dtmftest.Std('1', d, 100)) {
				hits++
			}
		}
		if hits == 20 {
			shortest = d
		}
		if hits == 0 && d > longestReject {
			longestReject = d
		}
	}
	t.Logf("duration: always accepted >= %.1f ms; always rejected <= %.1f ms (20 alignments each)", shortest, longestReject)
	if shortest > 40 || longestReject < 20 {
		t.Errorf("duration limits %.1f/%.1f outside the MUST bounds", shortest, longestReject)
	}
}

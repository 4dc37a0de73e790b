package spandspref

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/dtmf/dtmftest"
)

// paybridge's G.711 decodes every code exactly as spandsp does, and encodes every 16-bit
// value the same way, with one documented difference in μ-law: for negative samples paybridge
// takes the magnitude as one's complement (~x), as the ITU-T G.191 reference encoder does and
// as spandsp itself does for A-law, where spandsp's μ-law takes −x; so paybridge's μ-law code
// for x < 0 is spandsp's code for x+1.
func TestG711MatchesSpandsp(t *testing.T) {
	for c := 0; c < 256; c++ {
		if a, b := dtmf.ULawToLinear(byte(c)), ULawToLinear(byte(c)); a != b {
			t.Fatalf("μ-law decode %#02x: paybridge %d, spandsp %d", c, a, b)
		}
		if a, b := dtmf.ALawToLinear(byte(c)), ALawToLinear(byte(c)); a != b {
			t.Fatalf("A-law decode %#02x: paybridge %d, spandsp %d", c, a, b)
		}
	}
	for x := -32768; x <= 32767; x++ {
		ref := int16(x)
		if x < 0 {
			ref = int16(x + 1)
		}
		if a, b := dtmf.LinearToULaw(int16(x)), LinearToULaw(ref); a != b && !(x == -1 && a == 0x7F) { // −1 is negative zero
			t.Fatalf("μ-law encode %d: paybridge %#02x, spandsp %#02x", x, a, b)
		}
		if a, b := dtmf.LinearToALaw(int16(x)), LinearToALaw(int16(x)); a != b {
			t.Fatalf("A-law encode %d: paybridge %#02x, spandsp %#02x", x, a, b)
		}
	}
}

type codec struct {
	name string
	enc  func([]byte, []int16)
	dec  func([]int16, []byte)
}

var codecs = []codec{{"ulaw", dtmf.EncodeULaw, dtmf.DecodeULaw}, {"alaw", dtmf.EncodeALaw, dtmf.DecodeALaw}}

func (c codec) through(a []float64) []int16 {
	pcm := dtmftest.Quantize(a)
	b := make([]byte, len(pcm))
	c.enc(b, pcm)
	c.dec(pcm, b)
	return pcm
}

// result of one detector on one case
type result struct {
	keys    string
	latency []int // samples from the onset to the end of the frame that reported each key
	cpu     time.Duration
	frames  int
}

func inGap(c dtmftest.Case, pos int) bool {
	for _, g := range c.Gaps {
		if pos >= g.From && pos < g.To {
			return true
		}
	}
	return false
}

// runPaybridge feeds 20 ms frames; a lost frame is a Gap.
func runPaybridge(c dtmftest.Case, pcm []int16) result {
	d := dtmf.NewDetector()
	var r result
	start := time.Now()
	for pos := 0; pos < len(pcm); pos += 160 {
		end := min(pos+160, len(pcm))
		var evs []dtmf.Event
		if inGap(c, pos) {
			evs = d.Gap(end - pos)
		} else {
			evs = d.Process(pcm[pos:end])
		}
		for _, e := range evs {
			if e.End == 0 {
				r.keys += string(e.Digit.Char())
				r.latency = append(r.latency, end)
			}
		}
		r.frames++
	}
	d.Flush()
	r.cpu = time.Since(start)
	return r
}

// runSpandsp feeds the same frames; spandsp has no gap call, so a lost frame is silence
// (what a stack without one does).
func runSpandsp(c dtmftest.Case, pcm []int16) result {
	rx := NewRx()
	defer rx.Close()
	var r result
	zero := make([]int16, 160)
	start := time.Now()
	for pos := 0; pos < len(pcm); pos += 160 {
		end := min(pos+160, len(pcm))
		frame := pcm[pos:end]
		if inGap(c, pos) {
			frame = zero[:end-pos]
		}
		for _, k := range rx.Process(frame) {
			r.keys += string(k)
			r.latency = append(r.latency, end)
		}
		r.frames++
	}
	r.cpu = time.Since(start)
	return r
}

type tally struct {
	must, should          int
	pbMust, pbShould      int
	refMust, refShould    int
	pbCPU, refCPU         time.Duration
	frames                int
	pbLatency, refLatency int
	pbFails, refFails     []string
}

func passes(c dtmftest.Case, keys string) bool {
	min := c.MinScore
	if min == 0 {
		min = 1
	}
	return dtmftest.Score(keys, c.Want) >= min
}

func worstLatency(c dtmftest.Case, r result) int {
	w := 0
	for i, at := range r.latency {
		if i < len(c.Onsets) && at-c.Onsets[i] > w {
			w = at - c.Onsets[i]
		}
	}
	return w
}

// TestCompareWithSpandsp runs both detectors over the conformance matrix of docs/dtmf.md (μ-law and A-law, 20 ms
// frames) and prints the side-by-side table; paybridge must never be worse on a MUST row.
// `make dtmf-compare` runs it with -v; DTMF_COMPARE_OUT=FILE writes the table as Markdown.
func TestCompareWithSpandsp(t *testing.T) {
	cases := dtmftest.Matrix(7)
	rows := map[string]*tally{}
	for _, cd := range codecs {
		for _, c := range cases {
			pcm := cd.through(c.Audio)
			pb, ref := runPaybridge(c, pcm), runSpandsp(c, pcm)
			// CPU: the best of three runs each, so load from other processes cancels out
			for i := 0; i < 2; i++ {
				pb.cpu = min(pb.cpu, runPaybridge(c, pcm).cpu)
				ref.cpu = min(ref.cpu, runSpandsp(c, pcm).cpu)
			}
			tl := rows[c.Row]
			if tl == nil {
				tl = &tally{}
				rows[c.Row] = tl
			}
			okPB, okRef := passes(c, pb.keys), passes(c, ref.keys)
			if c.Must {
				tl.must++
				tl.pbMust += b2i(okPB)
				tl.refMust += b2i(okRef)
				if !okPB {
					tl.pbFails = append(tl.pbFails, cd.name+" "+c.Name+" got "+abbrev(pb.keys))
				}
				if !okRef {
					tl.refFails = append(tl.refFails, cd.name+" "+c.Name+" got "+abbrev(ref.keys))
				}
			} else {
				tl.should++
				tl.pbShould += b2i(okPB)
				tl.refShould += b2i(okRef)
			}
			if c.Row == "D14" {
				tl.pbLatency = max(tl.pbLatency, worstLatency(c, pb))
				tl.refLatency = max(tl.refLatency, worstLatency(c, ref))
			}
			tl.pbCPU += pb.cpu
			tl.refCPU += ref.cpu
			tl.frames += pb.frames
		}
	}
	names := make([]string, 0, len(rows))
	for r := range rows {
		names = append(names, r)
	}
	sort.Slice(names, func(i, j int) bool { return rowNum(names[i]) < rowNum(names[j]) })
	var md strings.Builder
	md.WriteString("| row | paybridge MUST | spandsp MUST | paybridge SHOULD | spandsp SHOULD | paybridge ns/frame | spandsp ns/frame |\n")
	md.WriteString("|---|---|---|---|---|---|---|\n")
	for _, n := range names {
		tl := rows[n]
		should := func(p int) string {
			if tl.should == 0 {
				return "—"
			}
			return fmt.Sprintf("%d/%d", p, tl.should)
		}
		extra := ""
		if n == "D14" {
			extra = fmt.Sprintf(" (worst latency %v vs %v)", dtmf.SampleDuration(int64(tl.pbLatency)), dtmf.SampleDuration(int64(tl.refLatency)))
		}
		fmt.Fprintf(&md, "| %s%s | %d/%d | %d/%d | %s | %s | %d | %d |\n", n, extra, tl.pbMust, tl.must, tl.refMust, tl.must,
			should(tl.pbShould), should(tl.refShould),
			tl.pbCPU.Nanoseconds()/int64(tl.frames), tl.refCPU.Nanoseconds()/int64(tl.frames))
		if tl.pbMust < tl.refMust {
			t.Errorf("%s: paybridge passes %d MUST cases, spandsp %d", n, tl.pbMust, tl.refMust)
		}
		for i, f := range tl.pbFails {
			if i < 5 {
				t.Errorf("%s: paybridge fails %s", n, f)
			}
		}
		for i, f := range tl.refFails {
			if i < 3 {
				t.Logf("%s: spandsp fails %s", n, f)
			}
		}
	}
	t.Logf("\n%s", md.String())
	if p := os.Getenv("DTMF_COMPARE_OUT"); p != "" {
		if err := os.WriteFile(p, []byte(md.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func abbrev(s string) string {
	if len(s) > 24 {
		return fmt.Sprintf("%q… (%d keys)", s[:24], len(s))
	}
	return fmt.Sprintf("%q", s)
}

func rowNum(r string) int {
	var n int
	fmt.Sscanf(r, "D%d", &n)
	return n
}

// The CPU cost of one 20 ms frame, each detector: go test -bench Frame. One op is one frame.
func benchFrames(b *testing.B, pcm []int16, run func([]int16)) {
	frames := len(pcm) / 160
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		f := i % frames
		run(pcm[f*160 : f*160+160])
	}
}

// keyedAudio is D1: 160 keys, 50/50 ms, through the first codec.
func keyedAudio() []int16 { return codecs[0].through(dtmftest.Matrix(3)[0].Audio) }

func BenchmarkFramePaybridge(b *testing.B) {
	d := dtmf.NewDetector()
	benchFrames(b, keyedAudio(), func(p []int16) { d.Process(p) })
}

func BenchmarkFrameSpandsp(b *testing.B) {
	rx := NewRx()
	defer rx.Close()
	benchFrames(b, keyedAudio(), func(p []int16) { rx.Process(p) })
}

// BenchmarkCPUPerFrame prints both detectors' CPU time per 20 ms frame (ns/op) on keyed audio
// (D1), on speech-like noise and on keys in noise (D9), side by side: run it with -count to
// see the spread on a shared machine.
func BenchmarkCPUPerFrame(b *testing.B) {
	g := dtmftest.New(5)
	noise := make([]float64, 8000*4)
	g.AddNoise(noise, -20)
	var d9 []int16
	for _, c := range dtmftest.Matrix(3) {
		if c.Row == "D9" {
			d9 = codecs[0].through(c.Audio[:8000*10])
			break
		}
	}
	inputs := []struct {
		name string
		pcm  []int16
	}{{"keyed-D1", keyedAudio()}, {"noise-20dBm0", codecs[0].through(noise)}, {"keys-in-noise-D9", d9}}
	for _, in := range inputs {
		b.Run(in.name+"/paybridge", func(b *testing.B) {
			d := dtmf.NewDetector()
			benchFrames(b, in.pcm, func(p []int16) { d.Process(p) })
		})
		b.Run(in.name+"/spandsp", func(b *testing.B) {
			rx := NewRx()
			defer rx.Close()
			benchFrames(b, in.pcm, func(p []int16) { rx.Process(p) })
		})
	}
}

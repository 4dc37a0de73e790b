package dtmf

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/dtmf/dtmftest"
)

// law is a G.711 variant a stimulus passes through before the detector.
type law struct {
	name string
	enc  func([]byte, []int16)
	dec  func([]int16, []byte)
}

var laws = []law{{"ulaw", EncodeULaw, DecodeULaw}, {"alaw", EncodeALaw, DecodeALaw}}

// companded returns a through the codec: what the detector sees after RTP.
func (l law) companded(a []float64) []int16 {
	pcm := dtmftest.Quantize(a)
	b := make([]byte, len(pcm))
	l.enc(b, pcm)
	l.dec(pcm, b)
	return pcm
}

type runResult struct {
	keys      string
	latencies []int // samples from onset to the end of the frame that reported the key down
	events    []Event
}

// runDetector feeds pcm in frames, turning the case's gap spans into Gap calls.
func runDetector(pcm []int16, frames []int, gaps []dtmftest.Span) runResult {
	d := NewDetector()
	var res runResult
	var downs []int
	pos := 0
	handle := func(evs []Event) {
		for _, e := range evs {
			res.events = append(res.events, e)
			if e.End == 0 {
				downs = append(downs, pos)
				continue
			}
			res.keys += string(e.Digit.Char())
		}
	}
	for _, f := range frames {
		inGap := false
		for _, g := range gaps {
			if pos >= g.From && pos < g.To {
				inGap = true
			}
		}
		if inGap {
			handle(d.Gap(f))
		} else {
			handle(d.Process(pcm[pos : pos+f]))
		}
		pos += f
	}
	handle(d.Flush())
	res.latencies = downs
	return res
}

type rowStat struct {
	must, mustPass, should, shouldPass int
	fails                              []string
}

func TestDetectorMatrix(t *testing.T) {
	cases := dtmftest.Matrix(1)
	g := dtmftest.New(2)
	stats := map[string]*rowStat{}
	var worstLatency int
	for _, l := range laws {
		for _, fsize := range []int{160, 80, 240, 0} {
			for _, c := range cases {
				pcm := l.companded(c.Audio)
				frames := g.Frames(len(pcm), fsize)
				if len(c.Gaps) > 0 {
					// the lost span is exactly one 20 ms packet: align frames to it
					frames = append(g.Frames(c.Gaps[0].From, fsize), 160)
					frames = append(frames, g.Frames(len(pcm)-c.Gaps[0].To, fsize)...)
				}
				res := runDetector(pcm, frames, c.Gaps)
				st := stats[c.Row]
				if st == nil {
					st = &rowStat{}
					stats[c.Row] = st
				}
				min := c.MinScore
				if min == 0 {
					min = 1
				}
				score := dtmftest.Score(res.keys, c.Want)
				ok := score >= min
				if c.Row == "D14" && ok {
					for i, at := range res.latencies {
						if i < len(c.Onsets) && at-c.Onsets[i] > worstLatency {
							worstLatency = at - c.Onsets[i]
						}
					}
				}
				if c.Must {
					st.must++
					if ok {
						st.mustPass++
					} else {
						st.fails = append(st.fails, fmt.Sprintf("%s/%d %s: got %q (score %.3f)", l.name, fsize, c.Name, trim(res.keys), score))
					}
				} else {
					st.should++
					if ok {
						st.shouldPass++
					}
				}
			}
		}
	}
	rows := make([]string, 0, len(stats))
	for r := range stats {
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rowNum(rows[i]) < rowNum(rows[j]) })
	for _, r := range rows {
		st := stats[r]
		t.Logf("%-4s MUST %d/%d  SHOULD %d/%d", r, st.mustPass, st.must, st.shouldPass, st.should)
		for i, f := range st.fails {
			if i == 8 {
				t.Errorf("%s: … %d more", r, len(st.fails)-8)
				break
			}
			t.Errorf("%s MUST failed: %s", r, f)
		}
	}
	lat := SampleDuration(int64(worstLatency))
	t.Logf("D14 worst latency from tone onset to key-down (incl. frame delivery): %v", lat)
	if lat > 60*time.Millisecond {
		t.Errorf("D14: latency %v > 60ms", lat)
	}
}

func rowNum(r string) int {
	var n int
	fmt.Sscanf(r, "D%d", &n)
	return n
}

func trim(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return strings.TrimSpace(s)
}

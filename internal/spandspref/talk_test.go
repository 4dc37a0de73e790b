package spandspref

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/dtmf/dtmftest"
)

// keysBoth runs both detectors over pcm (through μ-law, 20 ms frames) and returns the keys
// each reported.
func keysBoth(pcm []int16) (pb, ref string) {
	b := make([]byte, len(pcm))
	dtmf.EncodeULaw(b, pcm)
	x := make([]int16, len(pcm))
	dtmf.DecodeULaw(x, b)
	d := dtmf.NewDetector()
	rx := NewRx()
	defer rx.Close()
	for i := 0; i < len(x); i += 160 {
		f := x[i:min(i+160, len(x))]
		for _, e := range d.Process(f) {
			if e.End == 0 {
				pb += string(e.Digit.Char())
			}
		}
		ref += rx.Process(f)
	}
	return pb, ref
}

func corpus(t *testing.T, minutes int) []int16 {
	t.Helper()
	dir := os.Getenv("PAYBRIDGE_CACHE")
	if dir == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			d = os.TempDir()
		}
		dir = filepath.Join(d, "paybridge")
	}
	pcm, err := dtmftest.Speech(dtmftest.SpeechOptions{CacheDir: filepath.Join(dir, "talkoff"), Minutes: minutes, Seed: 1})
	if err != nil {
		t.Fatalf("speech corpus: %v", err)
	}
	return pcm
}

// TestCompareTalk puts D11 (talk-off: speech and music) and D12 (talk-down) side by side.
func TestCompareTalk(t *testing.T) {
	sp := corpus(t, 60)
	pb, ref := keysBoth(sp)
	t.Logf("| D11 speech (%d min) | %d false keys | %d false keys |", len(sp)/8000/60, len(pb), len(ref))
	if len(pb) > len(ref) {
		t.Errorf("D11 speech: paybridge %d false keys, spandsp %d", len(pb), len(ref))
	}
	var music []int16
	for seed := uint64(1); seed <= 3; seed++ {
		music = append(music, dtmftest.Music(600, seed)...)
	}
	pb, ref = keysBoth(music)
	t.Logf("| D11 music (30 min) | %d false keys | %d false keys |", len(pb), len(ref))
	if len(pb) > len(ref) {
		t.Errorf("D11 music: paybridge %d false keys, spandsp %d", len(pb), len(ref))
	}
	for _, rel := range []float64{-20, -12, -6, 0} {
		var sPB, sRef float64
		const seeds = 5
		for seed := uint64(11); seed < 11+seeds; seed++ {
			a, want := dtmftest.TalkDown(sp[:10*60*8000], rel, 400, seed)
			pb, ref := keysBoth(a)
			sPB += dtmftest.Score(pb, want) / seeds
			sRef += dtmftest.Score(ref, want) / seeds
		}
		t.Logf("| D12 speech at %+.0f dB (2000 keys) | %.1f %% | %.1f %% |", rel, 100*sPB, 100*sRef)
		if sPB < sRef {
			t.Errorf("D12 at %+.0f dB: paybridge %.3f < spandsp %.3f", rel, sPB, sRef)
		}
	}
}

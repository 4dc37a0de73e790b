package dtmf

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/dtmf/dtmftest"
)

func TestMaskerDelaysAndKeepsLength(t *testing.T) {
	m := NewMasker(MaskerConfig{})
	if m.Lookahead() != 60*time.Millisecond {
		t.Fatalf("Lookahead = %v", m.Lookahead())
	}
	l := samplesOf(m.Lookahead())
	in := make([]int16, 4000)
	for i := range in {
		in[i] = int16(1000 * math.Sin(float64(i)*0.3)) // 382 Hz: not a DTMF pair
	}
	var out []int16
	for i := 0; i < len(in); i += 160 {
		out = append(out, m.Process(in[i:i+160])...)
	}
	if len(out) != len(in) {
		t.Fatalf("%d samples out of %d", len(out), len(in))
	}
	for i := 0; i < l; i++ {
		if out[i] != 0 {
			t.Fatalf("sample %d before the look-ahead is not fill", i)
		}
	}
	for i := l; i < len(out); i++ {
		if out[i] != in[i-l] {
			t.Fatalf("non-tone audio altered at %d", i)
		}
	}
	tail := m.Flush()
	if len(tail) != l || tail[0] != in[len(in)-l] {
		t.Fatalf("Flush returned %d samples", len(tail))
	}
	if m.Masked() != 0 {
		t.Fatalf("Masked = %d for a 382 Hz tone", m.Masked())
	}
}

func TestMaskerSecureWindow(t *testing.T) {
	m := NewMasker(MaskerConfig{})
	speech := make([]int16, 1600)
	for i := range speech {
		speech[i] = int16(3000 * math.Sin(float64(i)*0.2))
	}
	m.Process(speech)
	m.SetSecure(true)
	out := m.Process(speech) // includes the 60 ms still in the line from before
	out = append(out, m.Process(speech)...)
	for i, s := range out {
		if s != 0 {
			t.Fatalf("secure window leaked sample %d", i)
		}
	}
	m.SetSecure(false)
	m.Process(speech)
	out = m.Process(speech)
	if out[800] == 0 && out[801] == 0 {
		t.Fatal("audio does not pass after the secure window")
	}
}

// The fill is the same whatever the key: masked output of two different keys is identical.
func TestMaskerFillIndependentOfKey(t *testing.T) {
	var outs [][]int16
	for _, k := range []Digit{'1', '#'} {
		m := NewMasker(MaskerConfig{})
		in := append(make([]int16, 800), GenerateDigit(k, ToneOptions{Level: -10, Duration: 80 * time.Millisecond})...)
		in = append(in, make([]int16, 800)...)
		outs = append(outs, append(m.Process(in), m.Flush()...))
		if m.Masked() != 1 {
			t.Fatalf("Masked = %d", m.Masked())
		}
	}
	for i := range outs[0] {
		if outs[0][i] != outs[1][i] {
			t.Fatalf("outputs differ at %d", i)
		}
	}
}

// leakStimulus is dtmftest.LeakStimulus through μ-law, with spans as pairs.
func leakStimulus(n int, seed uint64) ([]int16, [][2]int) {
	a, sp := dtmftest.LeakStimulus(n, seed)
	pcm := laws[0].companded(a)
	spans := make([][2]int, len(sp))
	for i, s := range sp {
		spans[i] = [2]int{s.From, s.To}
	}
	return pcm, spans
}

// multimonDigits runs multimon-ng's DTMF decoder over 8 kHz audio (resampled by sox to the
// 22.05 kHz it wants) and returns the keys it found.
func multimonDigits(t *testing.T, pcm []int16) string {
	t.Helper()
	for _, tool := range []string{"multimon-ng", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed: run make deps", tool)
		}
	}
	dir := t.TempDir()
	raw := filepath.Join(dir, "in.s16")
	b := make([]byte, 2*len(pcm))
	for i, s := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	if err := os.WriteFile(raw, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r22 := filepath.Join(dir, "in22.raw")
	if out, err := exec.Command("sox", "-t", "raw", "-r", "8000", "-e", "signed", "-b", "16", "-c", "1", raw,
		"-t", "raw", "-r", "22050", "-e", "signed", "-b", "16", "-c", "1", r22).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	out, err := exec.Command("multimon-ng", "-q", "-c", "-a", "DTMF", "-t", "raw", r22).CombinedOutput()
	if err != nil {
		t.Fatalf("multimon-ng: %v\n%s", err, out)
	}
	var keys strings.Builder
	for _, line := range strings.Split(string(out), "\n") {
		if k, ok := strings.CutPrefix(strings.TrimSpace(line), "DTMF: "); ok {
			keys.WriteString(k)
		}
	}
	return keys.String()
}

// The leak test of the issue: 800 keypresses masked, multimon-ng finds none of them, and no
// original tone sample survives within ±5 ms of a true tone.
func TestMaskerLeakMultimon(t *testing.T) {
	const n = 800
	pcm, spans := leakStimulus(n, 42)
	found := multimonDigits(t, pcm)
	if len(found) < n*7/10 {
		t.Fatalf("multimon-ng finds only %d of %d keys in the unmasked audio: the attacker is not working", len(found), n)
	}
	t.Logf("multimon-ng finds %d of %d keys before masking", len(found), n)
	m := NewMasker(MaskerConfig{})
	l := samplesOf(m.Lookahead())
	var out []int16
	fr := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(pcm); {
		f := min(1+fr.IntN(320), len(pcm)-i)
		out = append(out, m.Process(pcm[i:i+f])...)
		i += f
	}
	out = append(out, m.Flush()...)
	out = out[l:] // undo the delay: out[i] is the masked version of pcm[i]
	survivors := 0
	for _, s := range spans {
		for i := max(0, s[0]-40); i < min(len(pcm), s[1]+40); i++ {
			if out[i] != 0 && out[i] == pcm[i] {
				survivors++
			}
		}
	}
	if survivors != 0 {
		t.Errorf("%d original samples survive within ±5 ms of a tone", survivors)
	}
	if found := multimonDigits(t, out); found != "" {
		t.Errorf("multimon-ng decodes %d keys from the masked audio", len(found))
	}
	t.Logf("%d keypresses, %d counted as masked, look-ahead %v", n, m.Masked(), m.Lookahead())
	if m.Masked() < n*95/100 {
		t.Errorf("Masked() = %d, want about %d", m.Masked(), n)
	}
}

// The leak check has teeth: muting "as you go" (from the Detector's key-down to its key-up,
// no look-ahead) leaves tone onsets that multimon-ng decodes and samples that survive.
func TestLeakCheckCatchesMuteAsYouGo(t *testing.T) {
	pcm, spans := leakStimulus(200, 43)
	d := NewDetector()
	out := make([]int16, len(pcm))
	muted := false
	for i := 0; i < len(pcm); i += 160 {
		end := min(i+160, len(pcm))
		if !muted {
			copy(out[i:end], pcm[i:end])
		}
		for _, e := range d.Process(pcm[i:end]) {
			muted = e.End == 0
		}
	}
	survivors := 0
	for _, s := range spans {
		for i := s[0]; i < s[1]; i++ {
			if out[i] != 0 && out[i] == pcm[i] {
				survivors++
			}
		}
	}
	found := multimonDigits(t, out)
	t.Logf("mute-as-you-go: %d tone samples survive, multimon-ng decodes %d of 200 keys", survivors, len(found))
	if survivors == 0 || found == "" {
		t.Fatal("the leak check does not catch a leaky masker")
	}
}

// SinceTone counts the audio taken in since the last masked span, in samples: the whole
// input before any tone, zero right after a tone, and it grows with silence (not wall time).
func TestMaskerSinceTone(t *testing.T) {
	m := NewMasker(MaskerConfig{})
	m.Process(make([]int16, 800))
	if got := m.SinceTone(); got < 100*time.Millisecond {
		t.Fatalf("before any tone SinceTone = %v, want at least the 100 ms taken in", got)
	}
	m.Process(GenerateDigit('8', ToneOptions{Level: -10, Duration: 80 * time.Millisecond}))
	if got := m.SinceTone(); got != 0 {
		t.Fatalf("right after a tone SinceTone = %v, want 0", got)
	}
	m.Process(make([]int16, 8000))
	if got := m.SinceTone(); got < 950*time.Millisecond || got > time.Second {
		t.Fatalf("after 1 s of silence SinceTone = %v", got)
	}
}

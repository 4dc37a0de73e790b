package spandspref

import (
	"testing"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/dtmf/dtmftest"
)

// The masker's second attacker (docs/dtmf.md, Masking): spandsp with relaxed settings (twist ±12 dB,
// threshold −50 dBm0) finds most keys in the input and none in the masked output.
func TestMaskerLeakSpandspRelaxed(t *testing.T) {
	const n = 800
	a, _ := dtmftest.LeakStimulus(n, 77)
	pcm := codecs[1].through(a) // A-law this time
	decode := func(x []int16) string {
		rx := NewRelaxedRx()
		defer rx.Close()
		s := ""
		for i := 0; i < len(x); i += 160 {
			s += rx.Process(x[i:min(i+160, len(x))])
		}
		return s + rx.Process(make([]int16, 800))
	}
	if found := decode(pcm); len(found) < n*8/10 {
		t.Fatalf("relaxed spandsp finds only %d of %d keys in the unmasked audio", len(found), n)
	}
	m := dtmf.NewMasker(dtmf.MaskerConfig{})
	var out []int16
	for i := 0; i < len(pcm); i += 160 {
		out = append(out, m.Process(pcm[i:min(i+160, len(pcm))])...)
	}
	out = append(out, m.Flush()...)
	if found := decode(out); found != "" {
		t.Fatalf("relaxed spandsp decodes %d keys from the masked audio", len(found))
	}
	t.Logf("relaxed spandsp: 0 of %d keys after masking (%d masked)", n, m.Masked())
}

package media

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestRingbackToneShared: a style's cadence is rendered once and the same slice is handed to
// every leg (legs ringing at once share its encoding), with the cadence its style names.
func TestRingbackToneShared(t *testing.T) {
	for _, c := range []struct {
		style string
		on    []time.Duration // on, off, on, off…
	}{
		{RingUS, []time.Duration{2 * time.Second, 4 * time.Second}},
		{RingUK, []time.Duration{400 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 2 * time.Second}},
		{RingEU, []time.Duration{time.Second, 4 * time.Second}},
	} {
		a, ok := RingbackTone(c.style)
		b, ok2 := RingbackTone(c.style)
		if !ok || !ok2 {
			t.Fatalf("%s: unknown", c.style)
		}
		if &a[0] != &b[0] || len(a) != len(b) {
			t.Fatalf("%s: two calls gave two renderings", c.style)
		}
		fresh, _ := renderRingback(c.style)
		if len(fresh) != len(a) {
			t.Fatalf("%s: %d samples, a fresh rendering has %d", c.style, len(a), len(fresh))
		}
		for i := range fresh {
			if fresh[i] != a[i] {
				t.Fatalf("%s: sample %d is %d, a fresh rendering's is %d", c.style, i, a[i], fresh[i])
			}
		}
		pos := 0
		for i, d := range c.on {
			n := int(d / (time.Second / 8000))
			seg := a[pos : pos+n]
			var peak int16
			for _, v := range seg {
				peak = max(peak, v, -v)
			}
			if on := i%2 == 0; on != (peak > 1000) {
				t.Fatalf("%s: segment %d (%v) peak %d, want on=%v", c.style, i, d, peak, on)
			}
			pos += n
		}
		if pos != len(a) {
			t.Fatalf("%s: %d samples, the cadence is %d", c.style, len(a), pos)
		}
	}
	if _, ok := RingbackTone("xx"); ok {
		t.Fatal("an unknown style gave a tone")
	}
}

// TestRingbackSharedEncoding: two legs ringing with one style (each asking for its tone, as
// ivr's legs do) hold one encoding of it.
func TestRingbackSharedEncoding(t *testing.T) {
	sink := listenLoopback(t)
	defer sink.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var done []chan error
	for range 2 {
		m := newSession(listenLoopback(t), nil)
		defer m.Close()
		if err := m.SetParams(Params{Codec: PCMA, EventPT: -1, PTime: 20, Direction: SendRecv,
			Remote: sink.LocalAddr().(*net.UDPAddr).AddrPort()}); err != nil {
			t.Fatal(err)
		}
		tone, _ := RingbackTone(RingUK)
		ch := make(chan error, 1)
		go func() { ch <- m.Play(ctx, tone) }()
		waitPlaying(t, m)
		done = append(done, ch)
	}
	if n := encodingsHeld(); n != 1 {
		t.Fatalf("two legs ringing hold %d encodings, want 1", n)
	}
	cancel()
	for _, ch := range done {
		<-ch
	}
	if n := encodingsHeld(); n != 0 {
		t.Fatalf("%d encodings held after the ringing stopped", n)
	}
}

// BenchmarkRingbackTone is what a leg placed with ring-back pays for its tone: a shared
// rendering (RingbackTone) against rendering it afresh (renderRingback, what every leg did).
func BenchmarkRingbackTone(b *testing.B) {
	b.Run("shared", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			RingbackTone(RingUS)
		}
	})
	b.Run("fresh", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			renderRingback(RingUS)
		}
	})
}

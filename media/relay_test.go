package media

import (
	"testing"
	"time"
)

func frameOf(v int16, n int) []int16 {
	f := make([]int16, n)
	for i := range f {
		f[i] = v
	}
	return f
}

// TestRelayJitterBuffer drives one direction by hand: it plays only once Target is buffered,
// absorbs a late packet without a gap, counts a frame it cannot fill while the source sends,
// and trims a burst back to Target.
func TestRelayJitterBuffer(t *testing.T) {
	r := newRelay(40*time.Millisecond, 200*time.Millisecond, nil)
	out := make([]int16, 160)
	r.audio(frameOf(1, 160))
	if r.pull(out) {
		t.Fatal("played before 40 ms were buffered")
	}
	r.audio(frameOf(2, 160))
	if !r.pull(out) || out[0] != 1 {
		t.Fatalf("first frame %d, want 1", out[0])
	}
	// the next packet is late: the buffered frame covers it
	if !r.pull(out) || out[0] != 2 {
		t.Fatalf("second frame %d, want 2", out[0])
	}
	// now nothing is buffered when a frame is due, and the late packet comes: one skipped frame
	if r.pull(out) {
		t.Fatal("an empty buffer played")
	}
	r.audio(frameOf(3, 160))
	if st := r.stats(); st.underruns != 1 {
		t.Fatalf("underruns %d, want 1", st.underruns)
	}
	// a burst of 30 frames (600 ms) is trimmed to 40 ms
	for i := 0; i < 30; i++ {
		r.audio(frameOf(int16(10+i), 160))
	}
	if r.n > r.limit {
		t.Fatalf("the buffer holds %d samples beyond its limit %d", r.n, r.limit)
	}
	if st := r.stats(); st.trimmed == 0 {
		t.Fatal("nothing trimmed after a 600 ms burst")
	}
	// the newest audio is kept
	for r.pull(out) {
	}
	if out[0] != 39 {
		t.Fatalf("after the burst the last frame played is %d, want the newest (39)", out[0])
	}
	if st := r.stats().public(); st.MaxDelay > 200*time.Millisecond+20*time.Millisecond {
		t.Fatalf("max delay %v beyond the limit", st.MaxDelay)
	}
}

// TestRelaySilenceIsNotAnUnderrun: a source that stopped sending (silence suppression, a
// telephone-event instead of audio, hold) leaves the buffer empty without a skipped frame.
func TestRelaySilenceIsNotAnUnderrun(t *testing.T) {
	r := newRelay(20*time.Millisecond, 200*time.Millisecond, nil)
	out := make([]int16, 160)
	r.audio(frameOf(1, 160))
	r.pull(out)
	for i := 0; i < 10; i++ {
		r.pull(out)
	}
	r.starved = r.starved.Add(-time.Second) // the source comes back a second after it went quiet
	r.audio(frameOf(1, 160))
	if st := r.stats(); st.underruns != 0 {
		t.Fatalf("%d underruns after the source's silence", st.underruns)
	}
}

// TestRelaySheds: a burst that left the buffer deeper than its target is shed a frame at a
// time once it has lasted a second, down to the target.
func TestRelaySheds(t *testing.T) {
	r := newRelay(40*time.Millisecond, 200*time.Millisecond, nil)
	out := make([]int16, 160)
	for i := 0; i < 7; i++ { // 140 ms
		r.audio(frameOf(1, 160))
	}
	for i := 0; i < 5*shrinkWindow; i++ {
		r.audio(frameOf(1, 160))
		r.pull(out)
	}
	if r.n > r.target+160 {
		t.Fatalf("the buffer still holds %d samples, target %d", r.n, r.target)
	}
	if st := r.stats(); st.underruns != 0 || st.trimmed == 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestRelayOverlay: a beep plays over silence and over audio, whole, in order.
func TestRelayOverlay(t *testing.T) {
	r := newRelay(20*time.Millisecond, 200*time.Millisecond, nil)
	out := make([]int16, 160)
	r.play(frameOf(7, 200))
	if !r.pull(out) || out[0] != 7 || out[159] != 7 {
		t.Fatal("the overlay did not play over silence")
	}
	if !r.pull(out) || out[0] != 7 || out[39] != 7 || out[40] != 0 {
		t.Fatalf("the overlay's tail: %d %d %d", out[0], out[39], out[40])
	}
	if r.pull(out) {
		t.Fatal("something played after the overlay ended")
	}
}

package media

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// BenchmarkSendFramePrompt is the send path outside the system call: one 20 ms frame of a
// prompt that many sessions play at once (the same prompt, as a plan's callers hear it),
// from the playback to the finished RTP packet — everything sendFrame does before sendto.
// The sessions are visited in turn, as a tick does, so their state is as cold as it is
// under load.
func BenchmarkSendFramePrompt(b *testing.B) {
	prompt := benchPrompt(60 * time.Second)
	for _, c := range []Codec{PCMU, PCMA} {
		for _, n := range []int{1, 1000} {
			b.Run(fmt.Sprintf("codec=%s/sessions=%d", c, n), func(b *testing.B) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				sessions := make([]*Session, n)
				for i := range sessions {
					m := newSession(nil, NewScheduler())
					m.SetParams(Params{Codec: c, EventPT: 101, PTime: 20, Direction: SendRecv,
						Remote: netip.MustParseAddrPort("127.0.0.1:9")})
					go m.Play(ctx, prompt)
					waitPlaying(b, m)
					sessions[i] = m
				}
				p := sessions[0].Params()
				now := time.Now()
				i := 0
				b.ReportAllocs()
				for b.Loop() {
					m := sessions[i]
					if _, _, ok := m.frame(&p, 160, now); !ok {
						b.Fatal("no packet")
					}
					if !isPlaying(m) { // the prompt ended: start it again
						b.StopTimer()
						go m.Play(ctx, prompt)
						waitPlaying(b, m)
						b.StartTimer()
					}
					if i++; i == n {
						i = 0
						now = now.Add(20 * time.Millisecond)
					}
				}
			})
		}
	}
}

// benchPrompt is d of speech-like audio: two tones, a slow swell.
func benchPrompt(d time.Duration) []int16 {
	pcm := make([]int16, int(d/time.Second)*8000)
	for i := range pcm {
		t := float64(i) / 8000
		a := 6000 * (1 + math.Sin(2*math.Pi*3*t)) / 2
		pcm[i] = int16(a * (math.Sin(2*math.Pi*440*t) + 0.5*math.Sin(2*math.Pi*1210*t)))
	}
	return pcm
}

func isPlaying(m *Session) bool {
	m.playMu.Lock()
	defer m.playMu.Unlock()
	return m.play != nil
}

func waitPlaying(tb testing.TB, m *Session) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if isPlaying(m) {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatal("playback did not start")
		}
		runtime.Gosched()
	}
}

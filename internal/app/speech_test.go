package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/engine"
	"github.com/paybridge/paybridge/siptest"
	"github.com/paybridge/paybridge/store"
	"github.com/paybridge/paybridge/tts"
)

const speechPlan = `<CallPlan name="speak">
  <Match number="+441632960990"/>
  <Prompts lang="en-GB"/>
  <Flow>
    <Say>Welcome to the speech test.</Say>
    <Set var="Amount" value="12.50"/>
    <Say>You owe <say-as interpret-as="currency" currency="GBP">$(Amount)</say-as>.</Say>
    <Hangup reason="spoken"/>
  </Flow>
</CallPlan>`

// TestServeSpeaksOnALiveCall: a real SIP call to a plan with <Say> hears the speech. The static
// text was rendered when the plan loaded (it is in the cache before the call); the text with a
// $(…) is rendered during the call. Both are found, sample for sample after G.711, in what the
// caller heard.
func TestServeSpeaksOnALiveCall(t *testing.T) {
	plans := t.TempDir()
	if err := os.WriteFile(filepath.Join(plans, "speak.xml"), []byte(speechPlan), 0o644); err != nil {
		t.Fatal(err)
	}
	cacheDir := t.TempDir()
	a, logs, stop := startNode(t, "--plans", plans, "--tts", "process", "--tts-cache", cacheDir)
	defer stop()

	// The renders the call needs, as the engine builds them; the cache is serve's own directory.
	plan, ds := callplan.Parse("speak.xml", []byte(speechPlan), nil)
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	says := callplan.Says(plan)
	static := engine.SpeechRequest(plan, says[0].Say, says[0].Say.Parts)
	dynamic := engine.SpeechRequest(plan, says[1].Say, says[1].Say.Expand(func(string) (string, bool) { return "12.50", true }))
	eng, err := tts.NewEspeakProcess("")
	if err != nil {
		t.Fatal(err)
	}
	cache, err := tts.OpenCache(tts.CacheConfig{Dir: cacheDir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if !cache.Has(eng.ID(), static) {
		t.Fatalf("the static <Say> was not rendered when the plan loaded:\n%s", logs)
	}
	if cache.Has(eng.ID(), dynamic) {
		t.Fatal("the <Say> with $(Amount) was rendered before any call knew the amount")
	}

	var heard []int16
	res, err := siptest.Dial(context.Background(), siptest.CallerConfig{
		Target:  fmt.Sprintf("sip:+441632960990@%s", a.SIPAddr()),
		From:    "+447700900123",
		Timeout: 60 * time.Second,
		Heard:   func(pcm []int16) { heard = pcm },
	})
	if err != nil || !res.Answered || res.HangupBy != "remote" {
		t.Fatalf("Dial = %+v, %v", res, err)
	}
	if !cache.Has(eng.ID(), dynamic) {
		t.Fatal("the <Say> with $(Amount) is not in the cache after the call")
	}
	render := tts.Renderer(cache.Wrap(eng))
	end := 0
	for i, req := range []tts.Request{static, dynamic} {
		audio, err := render.Render(context.Background(), req) // a cache hit: the samples the call played
		if err != nil {
			t.Fatal(err)
		}
		at := findSpeech(heard[end:], audio.Samples)
		if at < 0 {
			t.Fatalf("speech %d (%v of audio) is not in the %v the caller heard", i+1, audio.Duration(), time.Duration(len(heard))*time.Second/8000)
		}
		end += at + len(audio.Samples)
	}
	if s := cache.Stats(); s.Renders != 0 {
		t.Errorf("the test's own renders missed the cache: %+v", s)
	}

	// The call's timeline says what was said, and the call ended as the plan said.
	deadline := time.Now().Add(5 * time.Second)
	var evs []store.EventRecord
	for time.Now().Before(deadline) {
		calls, _ := a.Store().ListCalls(context.Background(), store.CallFilter{})
		if len(calls) == 1 && calls[0].State == store.CallEnded {
			_, evs, _ = a.Store().GetCall(context.Background(), calls[0].ID)
			if strings.Contains(calls[0].HangupCause, "spoken") {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	var texts []string
	for _, e := range evs {
		if e.Type == "say" {
			var f struct {
				Text       string `json:"text"`
				DurationMS int64  `json:"durationMs"`
				Error      string `json:"error"`
			}
			_ = json.Unmarshal(e.Fields, &f)
			if f.Error != "" || f.DurationMS < 500 {
				t.Errorf("say event %s", e.Fields)
			}
			texts = append(texts, f.Text)
		}
	}
	if strings.Join(texts, "|") != "Welcome to the speech test.|You owe 12.50." {
		t.Errorf("say events: %q", texts)
	}
}

// findSpeech returns where speech (as G.711 μ-law or A-law carries it) starts in heard, or -1.
// It compares 20 ms frames: one of the first three must match exactly (the anchor), and 95 % of
// all frames must. A frame that a loaded machine's scheduler skipped, or that the loopback lost,
// reaches the caller as fill in its slot; a few such frames are forgiven, other speech is not.
func findSpeech(heard, speech []int16) int {
	const frame = 160
	for _, codec := range []func(int16) int16{
		func(s int16) int16 { return dtmf.ULawToLinear(dtmf.LinearToULaw(s)) },
		func(s int16) int16 { return dtmf.ALawToLinear(dtmf.LinearToALaw(s)) },
	} {
		want := make([]int16, len(speech))
		for i, s := range speech {
			want[i] = codec(s)
		}
		frames := (len(want) + frame - 1) / frame
		match := func(at, f int) bool {
			lo, hi := f*frame, min((f+1)*frame, len(want))
			return slices.Equal(heard[at+lo:at+hi], want[lo:hi])
		}
		for at := 0; at+len(want) <= len(heard); at++ {
			if !match(at, 0) && (frames < 2 || !match(at, 1)) && (frames < 3 || !match(at, 2)) {
				continue
			}
			same := 0
			for f := range frames {
				if match(at, f) {
					same++
				}
			}
			if same*100 >= frames*95 {
				return at
			}
		}
	}
	return -1
}

package tts

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// toneWAV is a WAV of a 440 Hz tone between 100 ms of silence on each side, in the given
// layout: a service's answer.
func toneWAV(rate, channels, bits, tag int) []byte {
	n := rate * 3 / 2
	var data bytes.Buffer
	for i := 0; i < n; i++ {
		v := 0.0
		if i > rate/10 && i < n-rate/10 {
			v = 0.3 * math.Sin(2*math.Pi*440*float64(i)/float64(rate))
		}
		for c := 0; c < channels; c++ {
			switch {
			case tag == 3:
				_ = binary.Write(&data, binary.LittleEndian, float32(v))
			case bits == 8:
				data.WriteByte(byte(int(v*127) + 128))
			default:
				_ = binary.Write(&data, binary.LittleEndian, int16(v*32767))
			}
		}
	}
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36 + data.Len()))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(uint16(tag))
	le(uint16(channels))
	le(uint32(rate))
	le(uint32(rate * channels * bits / 8))
	le(uint16(channels * bits / 8))
	le(uint16(bits))
	b.WriteString("data")
	le(uint32(data.Len()))
	b.Write(data.Bytes())
	return b.Bytes()
}

func TestHTTPEngine(t *testing.T) {
	var got HTTPRequest
	var auth, accept, ctype string
	answer := toneWAV(44100, 2, 16, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		auth, accept, ctype = r.Header.Get("Authorization"), r.Header.Get("Accept"), r.Header.Get("Content-Type")
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "audio/wav")
		w.Write(answer)
	}))
	defer srv.Close()
	h, err := NewHTTP(HTTPConfig{URL: srv.URL + "/v1/speak", Header: http.Header{"Authorization": {"Bearer s3cret"}}, Version: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	if h.ID() != "http "+srv.URL+"/v1/speak v2" {
		t.Fatalf("ID %q", h.ID())
	}
	req := Request{Language: "en-gb", Voice: "Amy", Segments: []Segment{
		{Text: "Your code is"}, {SayAs: SayCharacters, Text: "ch_6"}, {SayAs: SayBreak, Pause: 300 * time.Millisecond},
		{Text: "You owe"}, {SayAs: SayCurrency, Text: "GBP 12.50"}}}
	a, err := h.Render(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := HTTPRequest{
		Text:     "Your code is C H underscore six. You owe twelve pounds fifty",
		SSML:     `<speak version="1.1" xml:lang="en-GB">Your code is <say-as interpret-as="characters">ch_6</say-as><break time="300ms"/> You owe twelve pounds fifty</speak>`,
		Voice:    "Amy",
		Language: "en-GB",
		Rate:     DefaultRate,
	}
	if got != want {
		t.Fatalf("request body\n got %+v\nwant %+v", got, want)
	}
	if auth != "Bearer s3cret" || accept != "audio/wav" || ctype != "application/json" {
		t.Fatalf("headers: %q %q %q", auth, accept, ctype)
	}
	// 44.1 kHz stereo became 8 kHz mono, the silence around the tone trimmed, -3 dBFS.
	if d := a.Duration(); d < 1280*time.Millisecond || d > 1340*time.Millisecond {
		t.Fatalf("duration %v, want the 1.3 s tone", d)
	}
	if p := peak(a.Samples); p < peakTarget-2 || p > peakTarget+2 {
		t.Fatalf("peak %d", p)
	}
	// Other layouts a service may send.
	for _, layout := range []struct{ rate, ch, bits, tag int }{{16000, 1, 16, 1}, {24000, 1, 32, 3}, {22050, 1, 8, 1}, {8000, 1, 16, 1}} {
		answer = toneWAV(layout.rate, layout.ch, layout.bits, layout.tag)
		a, err := h.Render(context.Background(), Text("en-GB", "tone"))
		if err != nil {
			t.Fatalf("%+v: %v", layout, err)
		}
		if d := a.Duration(); d < 1280*time.Millisecond || d > 1340*time.Millisecond {
			t.Fatalf("%+v: duration %v", layout, d)
		}
	}
}

func TestHTTPEngineFailures(t *testing.T) {
	var calls atomic.Int64
	var status atomic.Int64
	var body atomic.Value
	body.Store([]byte("overloaded\x00\x01"))
	ct := atomic.Value{}
	ct.Store("audio/wav")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		io.Copy(io.Discard, r.Body)
		if s := int(status.Load()); s != 0 && (s != 503 || n%2 == 1) {
			w.WriteHeader(s)
			w.Write(body.Load().([]byte))
			return
		}
		w.Header().Set("Content-Type", ct.Load().(string))
		w.Write(body.Load().([]byte))
	}))
	defer srv.Close()
	h, _ := NewHTTP(HTTPConfig{URL: srv.URL})
	ctx := context.Background()
	req := Text("en-GB", "hello")

	// 503 once, then the audio: one retry succeeds.
	status.Store(503)
	body.Store(toneWAV(8000, 1, 16, 1))
	if _, err := h.Render(ctx, req); err != nil || calls.Load() != 2 {
		t.Fatalf("retry: %v after %d calls", err, calls.Load())
	}
	for _, tc := range []struct {
		name      string
		status    int
		ctype     string
		body      []byte
		calls     int64
		wantInErr string
	}{
		{"500 twice", 500, "audio/wav", []byte("boom\x00"), 2, "500 Internal Server Error: boom."},
		{"400 is final", 400, "audio/wav", []byte(`{"error":"bad voice"}`), 1, `400 Bad Request: {"error":"bad voice"}`},
		{"not audio", 0, "text/html", []byte("<html>"), 1, "answered text/html"},
		{"not a WAV", 0, "audio/wav", []byte("ID3 mp3 data"), 1, "not a RIFF/WAVE"},
		{"silence", 0, "audio/wav", toneWAV(8000, 1, 16, 1)[:44+800], 1, "audio is silent"},
	} {
		calls.Store(0)
		status.Store(int64(tc.status))
		ct.Store(tc.ctype)
		body.Store(tc.body)
		_, err := h.Render(ctx, req)
		if !errors.Is(err, ErrEngine) || !strings.Contains(err.Error(), tc.wantInErr) || calls.Load() != tc.calls {
			t.Errorf("%s: %v after %d calls", tc.name, err, calls.Load())
		}
	}
	// A service that is down.
	srv.Close()
	if _, err := h.Render(ctx, req); !errors.Is(err, ErrEngine) {
		t.Fatalf("closed server: %v", err)
	}
	if _, err := NewHTTP(HTTPConfig{URL: "ftp://x"}); !errors.Is(err, ErrRequest) {
		t.Fatalf("ftp URL: %v", err)
	}
}

// An HTTP engine and espeak-ng share one cache without sharing entries.
func TestHTTPSharesTheCache(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "audio/x-wav")
		w.Write(toneWAV(16000, 1, 16, 1))
	}))
	defer srv.Close()
	c, err := OpenCache(CacheConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := NewHTTP(HTTPConfig{URL: srv.URL})
	lib, err := NewEspeak()
	if err != nil {
		t.Fatal(err)
	}
	req := Text("en-GB", "Welcome to the payment line.")
	for i := 0; i < 3; i++ {
		ha, err := c.Wrap(h).Render(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		ea, err := c.Wrap(lib).Render(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if slices := len(ha.Samples) == len(ea.Samples); slices {
			t.Fatal("the HTTP render and espeak-ng's are the same entry")
		}
	}
	if calls.Load() != 1 || c.Stats().Renders != 2 {
		t.Fatalf("%d service calls, %d renders", calls.Load(), c.Stats().Renders)
	}
}

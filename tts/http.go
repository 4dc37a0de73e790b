package tts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// HTTPConfig configures an external text-to-speech service.
type HTTPConfig struct {
	// URL receives one POST per request (see HTTPRequest); it answers 200 with a WAV body.
	URL string
	// Header is added to every request (e.g. Authorization); it is never logged.
	Header http.Header
	// Client defaults to one with Timeout.
	Client *http.Client
	// Timeout bounds one attempt when Client is nil (default 5 s).
	Timeout time.Duration
	// Version is part of the cache key next to URL: change it when the service's voices
	// change, so that cached audio is rendered anew.
	Version string
}

// HTTPRequest is the JSON body POSTed to the service (Content-Type application/json,
// Accept audio/wav). SSML is the whole request as an SSML 1.1 document: digits, currency,
// dates and cardinals already expanded to words in the language, characters as <say-as
// interpret-as="characters">, pauses as <break time="500ms"/>. Text is the same as plain text
// for services without SSML (characters spelled as capitals, digits and named symbols
// separated by spaces; pauses as full stops). Voice is "" when the request named none: the service picks one for
// Language. Rate is in words per minute (165 is normal speech).
type HTTPRequest struct {
	Text     string `json:"text"`
	SSML     string `json:"ssml"`
	Voice    string `json:"voice"`
	Language string `json:"language"`
	Rate     int    `json:"rate"`
}

// maxHTTPAudio bounds a response body: ten minutes of 48 kHz stereo 16-bit audio is more than
// any prompt.
const maxHTTPAudio = 64 << 20

// HTTP renders through an external service: the operator's choice of voice, at the cost of a
// network round trip (put a Cache in front of it). The answer may be a WAV in any common
// layout (rate, channels, 8–32-bit PCM, float, μ-law, A-law); it is converted to 8 kHz mono,
// trimmed and normalised like espeak-ng's speech.
//
// A render is a pure function of the request, so a failed attempt (connection error, 429, 5xx)
// is retried once when the context allows.
type HTTP struct {
	cfg HTTPConfig
}

// NewHTTP checks the configuration and returns the engine.
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	if !strings.HasPrefix(cfg.URL, "http://") && !strings.HasPrefix(cfg.URL, "https://") {
		return nil, fmt.Errorf("%w: TTS service URL %q is not http(s)", ErrRequest, cfg.URL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	return &HTTP{cfg: cfg}, nil
}

// ID is "http <URL> <Version>".
func (h *HTTP) ID() string { return strings.TrimSpace("http " + h.cfg.URL + " " + h.cfg.Version) }

// Render POSTs the request and converts the WAV that comes back.
func (h *HTTP) Render(ctx context.Context, req Request) (*Audio, error) {
	n, err := req.Normalize()
	if err != nil {
		return nil, err
	}
	sc, err := buildScript(n)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(HTTPRequest{Text: sc.text(), SSML: sc.document(n.Language), Voice: n.Voice, Language: n.Language, Rate: n.Rate})
	if err != nil {
		return nil, err
	}
	var a *Audio
	for attempt := 0; ; attempt++ {
		var retry bool
		a, retry, err = h.post(ctx, body)
		if err == nil || !retry || attempt == 1 || ctx.Err() != nil {
			break
		}
	}
	return a, err
}

// post makes one attempt; retry says whether another might succeed.
func (h *HTTP) post(ctx context.Context, body []byte) (*Audio, bool, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, h.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrEngine, err)
	}
	for k, vs := range h.cfg.Header {
		for _, v := range vs {
			hr.Header.Add(k, v)
		}
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "audio/wav")
	resp, err := h.cfg.Client.Do(hr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		var ue interface{ Timeout() bool }
		timeout := errors.As(err, &ue) && ue.Timeout()
		return nil, !timeout, fmt.Errorf("%w: TTS service: %v", ErrEngine, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxHTTPAudio+1))
	if err != nil {
		return nil, true, fmt.Errorf("%w: TTS service: reading the answer: %v", ErrEngine, err)
	}
	if resp.StatusCode != http.StatusOK {
		retry := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		return nil, retry, fmt.Errorf("%w: TTS service answered %s: %s", ErrEngine, resp.Status, clip(strings.TrimSpace(printable(data)), 200))
	}
	if len(data) > maxHTTPAudio {
		return nil, false, fmt.Errorf("%w: TTS service answered more than %d bytes", ErrEngine, maxHTTPAudio)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		switch mt {
		case "audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "application/octet-stream":
		default:
			return nil, false, fmt.Errorf("%w: TTS service answered %s, want audio/wav", ErrEngine, mt)
		}
	}
	a, err := finishWAV(data)
	return a, false, err
}

// printable keeps an error body readable in a log line.
func printable(b []byte) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != ' ' || r == 0x7f || r == 0xfffd {
			return '.'
		}
		return r
	}, string(b))
}

package tts

import (
	"context"
	"time"
)

// SampleRate is the rate of every Audio: telephony's 8 kHz.
const SampleRate = 8000

// Audio is rendered speech: 8 kHz mono 16-bit linear PCM, the shape a call's player sends as
// G.711 (ivr's Call.PlayPCM) and the prompts package holds, trimmed of leading and trailing
// silence and peak-normalised to -3 dBFS like the bundled prompt packs.
type Audio struct {
	Samples []int16 // shared with the cache: do not modify
}

// Duration is how long the audio plays.
func (a *Audio) Duration() time.Duration {
	return time.Duration(len(a.Samples)) * time.Second / SampleRate
}

// Renderer turns a Request into Audio. Engines (Espeak, EspeakProcess, HTTP) implement it
// and so does the Cache in front of one of them; consumers that need speech declare their own
// narrower interface or take a Renderer, and tests adapt a function with RenderFunc.
//
// A Renderer is safe for concurrent use. An error wraps one of the package's sentinels.
type Renderer interface {
	Render(ctx context.Context, req Request) (*Audio, error)
}

// RenderFunc adapts a function to Renderer.
type RenderFunc func(ctx context.Context, req Request) (*Audio, error)

// Render calls f.
func (f RenderFunc) Render(ctx context.Context, req Request) (*Audio, error) { return f(ctx, req) }

// Engine is a Renderer that can name itself for the cache key: the name changes whenever the
// same request could render differently (engine, version, service address or model).
type Engine interface {
	Renderer
	ID() string
}

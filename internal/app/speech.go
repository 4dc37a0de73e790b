package app

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/paybridge/paybridge/engine"
	"github.com/paybridge/paybridge/tts"
)

// speech is the node's text to speech: one engine and the disk cache in front of it, shared
// by every call and by the pre-rendering of plans at load.
type speech struct {
	renderer engine.Renderer // nil with --tts off
	cache    *tts.Cache
	engineID string
	name     string // for the banner: "espeak-ng 1.51 (library)"
}

// newSpeech opens the engine --tts names and its cache (--tts-cache, default DATA/tts).
func newSpeech(cfg Config, log *slog.Logger) (*speech, error) {
	if cfg.TTS == "off" {
		return &speech{name: "off (<Say> is skipped and reported)"}, nil
	}
	var eng tts.Engine
	switch cfg.TTS {
	case "library":
		e, err := tts.NewEspeak()
		if err != nil {
			return nil, fmt.Errorf("--tts library: %w (install libespeak-ng1 and espeak-ng-data, or use --tts process or --tts off)", err)
		}
		eng = e
	case "process":
		e, err := tts.NewEspeakProcess("")
		if err != nil {
			return nil, fmt.Errorf("--tts process: %w", err)
		}
		eng = e
	case "http":
		h := http.Header{}
		if cfg.TTSHeader != "" {
			k, v, _ := strings.Cut(cfg.TTSHeader, ":")
			h.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		e, err := tts.NewHTTP(tts.HTTPConfig{URL: cfg.TTSURL, Header: h, Timeout: cfg.TTSTimeout, Version: cfg.TTSVersion})
		if err != nil {
			return nil, fmt.Errorf("--tts-url: %w", err)
		}
		eng = e
	}
	cache, err := tts.OpenCache(tts.CacheConfig{Dir: cfg.SpeechCacheDir(), MaxBytes: int64(cfg.TTSCacheMiB) << 20,
		Logger: log.With("component", "tts")})
	if err != nil {
		return nil, fmt.Errorf("--tts-cache: %w", err)
	}
	return &speech{renderer: cache.Wrap(eng), cache: cache, engineID: eng.ID(),
		name: fmt.Sprintf("%s (%s), cache %s", eng.ID(), cfg.TTS, cfg.SpeechCacheDir())}, nil
}

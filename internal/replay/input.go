package replay

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/internal/audiofile"
)

// Key is one keypress of an Input: when the engine hears it, counted from the start of the
// call.
type Key struct {
	At     time.Duration
	Digit  dtmf.Digit
	Source dtmf.Source
}

// Input is a caller's keypresses and how long the recording (or typing) lasts.
type Input struct {
	Name   string // file name, or "digits"
	Keys   []Key
	Length time.Duration
}

// Typing rhythm of --digits.
const (
	KeyOn     = 100 * time.Millisecond
	KeyOff    = 100 * time.Millisecond
	ShortWait = 500 * time.Millisecond // 'w'
	LongWait  = time.Second            // 'W'
)

// MaxDigitsLen bounds a --digits string.
const MaxDigitsLen = 4096

// ParseDigits reads a --digits string: keys 0-9 * # A-D (a-d too), each KeyOn pressed then
// KeyOff released; 'w' waits ShortWait and 'W' LongWait; spaces, '-' and ',' are ignored so
// long strings can be grouped. A key is heard when it is released, as a detector would
// confirm it. Anything else is an error naming its position (never the keys around it).
func ParseDigits(s string) (*Input, error) {
	if len(s) > MaxDigitsLen {
		return nil, fmt.Errorf("%w: longer than %d characters", ErrBadDigits, MaxDigitsLen)
	}
	in := &Input{Name: "digits"}
	var at time.Duration
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case 'w':
			at += ShortWait
			continue
		case 'W':
			at += LongWait
			continue
		case ' ', '-', ',':
			continue
		}
		d, ok := dtmf.ParseDigit(c)
		if !ok {
			return nil, fmt.Errorf("%w: character %d is not a key (0-9 * # A-D) nor w/W", ErrBadDigits, i+1)
		}
		in.Keys = append(in.Keys, Key{At: at + KeyOn, Digit: d, Source: dtmf.SourceRFC4733})
		at += KeyOn + KeyOff
	}
	in.Length = at
	return in, nil
}

// ReadInput reads a recording: WAV (PCM16, μ-law or A-law), raw G.711 or PCM16 by extension
// (.ul/.ulaw/.pcmu, .al/.alaw/.pcma, .s16/.raw/.sln), or a pcap with RTP (in-band audio,
// RFC 4733 events) and SIP INFO.
func ReadInput(path string) (*Input, error) {
	f, err := audiofile.FormatFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	if f == audiofile.FormatPcap {
		return readPcap(path)
	}
	pcm, err := audiofile.ReadAudioFile(path, f)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInput, filepath.Base(path), err)
	}
	in := AudioInput(pcm)
	in.Name = filepath.Base(path)
	return in, nil
}

// AudioInput runs 8 kHz caller audio through a dtmf.Stream in 20 ms frames, as a live call's
// RTP would arrive, and keys each digit at the moment the stream reports it.
func AudioInput(pcm []int16) *Input {
	in := &Input{Name: "audio", Length: time.Duration(len(pcm)) * time.Second / dtmf.SampleRate}
	var s *dtmf.Stream
	s = dtmf.NewStream(dtmf.StreamConfig{OnDigit: func(e dtmf.Event) {
		in.Keys = append(in.Keys, Key{At: s.Now(), Digit: e.Digit, Source: e.Source})
	}})
	const frame = 160
	for i := 0; i < len(pcm); i += frame {
		s.Audio(pcm[i:min(i+frame, len(pcm))])
	}
	s.Advance(200 * time.Millisecond)
	s.Flush()
	return in
}

func readPcap(path string) (*Input, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	defer fh.Close()
	c, err := audiofile.ReadPcap(fh)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInput, filepath.Base(path), err)
	}
	in := &Input{Name: filepath.Base(path)}
	var first, last time.Time
	see := func(t time.Time) {
		if first.IsZero() || t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	for _, p := range c.RTP {
		see(p.Time)
	}
	for _, p := range c.Info {
		see(p.Time)
	}
	in.Length = last.Sub(first)
	for _, e := range audiofile.CaptureDigits(c, audiofile.CaptureOptions{}) {
		// CaptureDigits reports each key with its onset; the engine hears it once confirmed,
		// which a detector does within about 40 ms.
		in.Keys = append(in.Keys, Key{At: e.Start + 40*time.Millisecond, Digit: e.Digit, Source: e.Source})
	}
	return in, nil
}

package audiofile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Format names the file formats the tools accept.
type Format string

const (
	FormatWAV  Format = "wav"
	FormatULaw Format = "ulaw"
	FormatALaw Format = "alaw"
	FormatS16  Format = "s16"
	FormatPcap Format = "pcap"
)

// FormatFromPath guesses a file's format from its extension: .wav, .ul/.ulaw/.pcmu,
// .al/.alaw/.pcma, .s16/.raw/.sln, .pcap/.cap.
func FormatFromPath(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".wav":
		return FormatWAV, nil
	case ".ul", ".ulaw", ".pcmu", ".mulaw":
		return FormatULaw, nil
	case ".al", ".alaw", ".pcma":
		return FormatALaw, nil
	case ".s16", ".raw", ".sln", ".pcm":
		return FormatS16, nil
	case ".pcap", ".cap":
		return FormatPcap, nil
	}
	return "", fmt.Errorf("%w: cannot tell the format of %q from its extension (give --format)", ErrFormat, filepath.Base(path))
}

// ParseFormat checks a format name given on the command line.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case FormatWAV, FormatULaw, FormatALaw, FormatS16, FormatPcap:
		return f, nil
	case "ul", "pcmu":
		return FormatULaw, nil
	case "al", "pcma":
		return FormatALaw, nil
	case "raw", "sln":
		return FormatS16, nil
	}
	return "", fmt.Errorf("%w: %q (want wav, ulaw, alaw, s16 or pcap)", ErrFormat, s)
}

// ReadAudioFile reads an audio file (not pcap) in format f, or by extension when f is "".
func ReadAudioFile(path string, f Format) ([]int16, error) {
	if f == "" {
		var err error
		if f, err = FormatFromPath(path); err != nil {
			return nil, err
		}
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	switch f {
	case FormatWAV:
		pcm, _, err := ReadWAV(fh)
		return pcm, err
	case FormatULaw:
		return ReadRaw(fh, ULaw)
	case FormatALaw:
		return ReadRaw(fh, ALaw)
	case FormatS16:
		return ReadRaw(fh, PCM16)
	}
	return nil, fmt.Errorf("%w: %q is not an audio format", ErrFormat, f)
}

package audiofile

import "errors"

// Sentinel errors; returned errors wrap them with position details.
var (
	ErrNotWAV      = errors.New("audiofile: not a RIFF/WAVE file")
	ErrUnsupported = errors.New("audiofile: unsupported audio format")
	ErrTruncated   = errors.New("audiofile: file is truncated")
	ErrNotPcap     = errors.New("audiofile: not a libpcap capture")
	ErrLinkType    = errors.New("audiofile: unsupported pcap link type")
	ErrTooLarge    = errors.New("audiofile: file is too large")
	ErrFormat      = errors.New("audiofile: unknown audio format")
)

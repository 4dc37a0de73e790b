package media

import "errors"

// Sentinel errors; returned errors wrap them with position details.
var (
	ErrNotWAV      = errors.New("media: not a RIFF/WAVE file")
	ErrUnsupported = errors.New("media: unsupported audio format")
	ErrTruncated   = errors.New("media: file is truncated")
	ErrNotPcap     = errors.New("media: not a libpcap capture")
	ErrLinkType    = errors.New("media: unsupported pcap link type")
	ErrTooLarge    = errors.New("media: file is too large")
	ErrFormat      = errors.New("media: unknown audio format")
)

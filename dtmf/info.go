package dtmf

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxInfoBody bounds what ParseInfo reads: real bodies are a few dozen bytes.
const maxInfoBody = 4096

// ParseInfo decodes the body of a SIP INFO request carrying one keypress:
//
//   - application/dtmf-relay: lines "Signal=5" and "Duration=160" (milliseconds), keys and
//     values case-insensitive, spaces around '=' and CR/LF or LF line ends tolerated, unknown
//     lines ignored. Signal may be a key character or its event code ("10" is '*', "11" '#').
//   - application/dtmf: the key alone ("5", "#"), or its event code.
//
// Content-type parameters (";charset=…") and case are ignored. The duration is 0 when the
// body does not give one. Errors wrap ErrInfoContentType or ErrInfoBody and never quote the
// body, which is card data.
func ParseInfo(contentType string, body []byte) (Digit, time.Duration, error) {
	ct := strings.ToLower(strings.TrimSpace(contentType))
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = strings.TrimSpace(ct[:i])
	}
	if len(body) > maxInfoBody {
		return 0, 0, fmt.Errorf("%w: body of %d bytes", ErrInfoBody, len(body))
	}
	switch ct {
	case "application/dtmf-relay":
		return parseRelay(body)
	case "application/dtmf":
		d, err := parseSignal(bytes.TrimSpace(body))
		return d, 0, err
	}
	return 0, 0, ErrInfoContentType
}

func parseRelay(body []byte) (Digit, time.Duration, error) {
	var (
		d       Digit
		haveSig bool
		dur     time.Duration
	)
	for _, line := range bytes.Split(body, []byte{'\n'}) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		k, v, ok := bytes.Cut(line, []byte{'='})
		if !ok {
			continue
		}
		k, v = bytes.TrimSpace(k), bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("signal")):
			sig, err := parseSignal(v)
			if err != nil {
				return 0, 0, err
			}
			d, haveSig = sig, true
		case bytes.EqualFold(k, []byte("duration")):
			ms, err := strconv.ParseUint(string(v), 10, 32)
			if err != nil {
				return 0, 0, fmt.Errorf("%w: Duration is not a number of milliseconds", ErrInfoBody)
			}
			dur = time.Duration(ms) * time.Millisecond
		}
	}
	if !haveSig {
		return 0, 0, fmt.Errorf("%w: no Signal line", ErrInfoBody)
	}
	return d, dur, nil
}

func parseSignal(v []byte) (Digit, error) {
	if len(v) == 1 {
		if d, ok := ParseDigit(v[0]); ok {
			return d, nil
		}
	}
	if n, err := strconv.ParseUint(string(v), 10, 8); err == nil && len(v) <= 2 {
		if d, ok := DigitFromEvent(uint8(n)); ok {
			return d, nil
		}
	}
	return 0, fmt.Errorf("%w: Signal is not a DTMF key", ErrInfoBody)
}

// FormatInfoRelay builds an application/dtmf-relay body ("Signal=5\r\nDuration=160\r\n"),
// the form most gateways send. The duration is rounded to milliseconds.
func FormatInfoRelay(d Digit, dur time.Duration) []byte {
	b := make([]byte, 0, 32)
	b = append(b, "Signal="...)
	b = append(b, d.Char())
	b = append(b, "\r\nDuration="...)
	b = strconv.AppendInt(b, int64((dur+time.Millisecond/2)/time.Millisecond), 10)
	return append(b, "\r\n"...)
}

package gateway

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/paybridge/paybridge/payment"
)

// The provider's own capture line of a voice session (capture="provider"). A session's
// answer names it with dtmfFallbackNumber — where the caller is bridged — and dtmfLinkId — the
// keys paybridge sends down the line so the provider finds the session. The connector turns
// them into what the engine dials and keys:
//
//   - a dtmfFallbackNumber that is a SIP URI (sip: or sips:, with a host) is dialled as it is:
//     the sandbox's capture line names itself so, and so can a provider reached over SIP;
//   - a telephone number (+ and digits, as VCC returns) has no SIP address of its own: the
//     session keeps it in FallbackNumber and FallbackURI stays empty, so a Pay step with
//     capture="provider" ends with payment-connector-error ("names no capture line") rather
//     than dialling somewhere the operator did not say (routing numbers through a trunk is not
//     built yet, docs/pay.md);
//   - dtmfLinkId must be keys a keypad can send (0-9, *, #, A-D), at most maxLinkIDLen of them.
//
// A session without either field keeps both empty: capture="paybridge" never needs them.

// maxLinkIDLen bounds the keys sent down the line.
const maxLinkIDLen = 32

// captureLine fills sess's capture line from the create answer, or says why the answer is
// unusable (ErrBadResponse: a malformed line is the provider's fault, never the caller's).
func captureLine(sess *payment.Session, out *sessionCreated) error {
	number := strings.TrimSpace(out.DTMFFallbackNumber)
	link := strings.TrimSpace(out.DTMFLinkID)
	if number == "" && link == "" {
		return nil
	}
	if link != "" && !keyable(link) {
		return fmt.Errorf("session.create: %w: dtmfLinkId is not keys a keypad can send (%d characters)", ErrBadResponse, len(link))
	}
	sess.LinkID = link
	switch {
	case number == "":
	case strings.HasPrefix(strings.ToLower(number), "sip:") || strings.HasPrefix(strings.ToLower(number), "sips:"):
		if !sipURI(number) {
			return fmt.Errorf("session.create: %w: dtmfFallbackNumber is not a SIP URI with a host", ErrBadResponse)
		}
		sess.FallbackURI = number
		sess.FallbackNumber = number
	case telNumber(number):
		sess.FallbackNumber = number
	default:
		return fmt.Errorf("session.create: %w: dtmfFallbackNumber is neither a telephone number nor a SIP URI", ErrBadResponse)
	}
	return nil
}

// keyable: 1..maxLinkIDLen DTMF keys.
func keyable(s string) bool {
	if s == "" || len(s) > maxLinkIDLen {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789*#ABCD", r) {
			return false
		}
	}
	return true
}

// telNumber: an E.164-ish number, "+" then 3 to 15 digits (or just the digits).
func telNumber(s string) bool {
	d := strings.TrimPrefix(s, "+")
	if len(d) < 3 || len(d) > 15 {
		return false
	}
	for _, r := range d {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// sipURI: sip:/sips: with a host, no white space or control characters, and no headers
// (a "?" part would let the provider add headers to paybridge's INVITE).
func sipURI(s string) bool {
	if len(s) > 256 || strings.ContainsAny(s, " \t\r\n<>\"?") {
		return false
	}
	_, rest, _ := strings.Cut(s, ":")
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	host, _, _ := strings.Cut(rest, ";")
	if host == "" {
		return false
	}
	u, err := url.Parse("sip://" + host)
	return err == nil && u.Hostname() != ""
}

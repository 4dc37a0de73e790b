package sandbox

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"

	"github.com/paybridge/paybridge/internal/cardsafe"
)

// The sandbox's side of card data. It is a provider inside the paybridge process (serve mounts
// it on the public listener), so what it receives is in the same memory as what paybridge sent,
// and it follows the same rule: card digits are read from the request into buffers it owns and
// zeroes before releasing them, and never become Go strings.
//
//   - The three card routes (session capture, generic, Stripe tokens) are registered with
//     cardAPI: instrument reads their body with cardsafe.ReadBody (own buffer, net/http's read
//     buffer of the connection zeroed under cardsafe.Listener, Connection: close) before any fault is
//     applied, hands it to the handler and wipes it when the handler returns.
//   - Card fields are decoded from that body straight into byte slices (digitField for JSON,
//     formDigits for forms), which the handler wipes.

// maxBody bounds any sandbox request body.
const maxBody = 64 << 10

// cardHandler is a sandbox handler of a request that carries card data: body is the request
// body, owned by instrument, which wipes it after the handler returns; nil when it could not be
// read (too large, or the connection failed).
type cardHandler func(w http.ResponseWriter, r *http.Request, body []byte)

// digitField is a card field of a JSON request (a number or a security code), decoded from the
// request bytes straight into a slice the handler wipes. encoding/json hands UnmarshalJSON the
// literal as a sub-slice of the input, so no other copy is made. Only "digits" (or null) is
// accepted: a card field with an escape or any other character is refused.
type digitField []byte

// UnmarshalJSON implements json.Unmarshaler.
func (d *digitField) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' || len(b)-2 > maxCardDigits {
		return errNotDigits
	}
	in := b[1 : len(b)-1]
	if !digitBytes(in) && len(in) > 0 {
		return errNotDigits
	}
	cardsafe.Wipe(*d)
	*d = append(make([]byte, 0, len(in)), in...)
	return nil
}

// maxCardDigits is the longest card field the sandbox reads.
const maxCardDigits = 24

// digitBytes reports whether b is all ASCII digits (and not empty).
func digitBytes(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// cardFormField is one field of a form-encoded card request.
type cardFormField struct {
	key string // URL-decoded name; never card data
	val []byte // the raw (still encoded) value, a sub-slice of the body
}

// splitForm splits an application/x-www-form-urlencoded body into its fields without copying
// the values. A name that does not decode is an error.
func splitForm(body []byte) ([]cardFormField, error) {
	var out []cardFormField
	for len(body) > 0 {
		var pair []byte
		if i := bytes.IndexByte(body, '&'); i >= 0 {
			pair, body = body[:i], body[i+1:]
		} else {
			pair, body = body, nil
		}
		if len(pair) == 0 {
			continue
		}
		k, v, _ := bytes.Cut(pair, []byte{'='})
		key, err := url.QueryUnescape(string(k))
		if err != nil {
			return nil, err
		}
		out = append(out, cardFormField{key: key, val: v})
	}
	return out, nil
}

// formDigits URL-decodes a form value that must be digits (a card number or security code)
// into a new slice the caller wipes; spaces and dashes between digits are dropped.
func formDigits(v []byte) ([]byte, error) {
	out := make([]byte, 0, min(len(v), maxCardDigits))
	err := cardsafe.FormDigits(v, func(c byte) error {
		if len(out) == maxCardDigits {
			return errNotDigits
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		cardsafe.Wipe(out[:cap(out)])
		return nil, errNotDigits
	}
	return out, nil
}

// formInt reads a small decimal form value (an expiry month or year); 0 when it is not one.
func formInt(v []byte) int {
	s, err := url.QueryUnescape(string(v))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(s)
	return n
}

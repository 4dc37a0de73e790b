package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/paybridge/paybridge/pan"
)

// The store is the last line of defence for card data. Card digits are never handed to it —
// the Pay step keeps them in a pan.SecureBuffer — but free text reaches it from many places
// (provider error messages, references a caller keyed in, event fields, webhook payloads,
// admin notes). Every such string passes through pan.Redact, and every JSON document through
// pan.RedactJSON, before it is written: the one redaction rule of paybridge (pan/doc.go), so a
// card number that slips through upstream still never lands on disk. A masked card must be
// the canonical mask (pan.ValidMask) or the write is refused with ErrCardData.

// redactJSON returns event fields safe to store. Fields must be a JSON object (or empty).
func redactJSON(fields json.RawMessage) (string, error) {
	if len(fields) == 0 || string(fields) == "null" {
		return "", nil
	}
	if !isJSONObject(fields) {
		return "", fmt.Errorf("%w: event fields are not a JSON object", ErrInvalid)
	}
	return string(pan.RedactJSON(fields)), nil
}

// isJSONObject reports whether b is one valid JSON object. It checks without decoding (a
// timeline event's fields pass here on every write).
func isJSONObject(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && t[0] == '{' && json.Valid(b)
}

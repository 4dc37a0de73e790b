package store

import (
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
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(fields, &probe); err != nil {
		return "", fmt.Errorf("%w: event fields are not a JSON object: %v", ErrInvalid, err)
	}
	return string(pan.RedactJSON(fields)), nil
}

package pan

import (
	"bytes"
	"encoding/json"
	"io"
)

// RedactJSON applies the rule of Redact to a JSON document: to every string, object keys
// included, and every number, in document order, so that a key such as "cvc" or "exp_month"
// announces the value after it exactly as the word does in text, and escapes ("\u0034") hide
// nothing. A number that must be masked becomes a JSON string of its mask; the document stays
// valid JSON (written compactly when anything changed). raw itself is returned when nothing
// needs masking. Input that is not one JSON value is redacted as text.
func RedactJSON(raw []byte) []byte {
	if bytes.IndexByte(raw, '\\') < 0 {
		// Without escapes the tokens read exactly as the text does: the text scan decides.
		s := string(raw)
		if Redact(s) == s {
			return raw
		}
	}
	out, changed, err := redactTokens(raw)
	if err != nil {
		return []byte(Redact(string(raw)))
	}
	if !changed {
		return raw
	}
	return out
}

// jsonFrame is one open object or array of the document being rewritten.
type jsonFrame struct {
	object bool
	n      int  // members or elements written
	value  bool // object: the next token is a member's value
}

// redactTokens rewrites raw token by token. The bytes between two tokens (quotes, ':' and ','
// and white space) count towards a keyword's window as they do in text.
func redactTokens(raw []byte) (out []byte, changed bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var sc scanner
	var stack []jsonFrame
	prevEnd, prevString, done := 0, false, false
	out = make([]byte, 0, len(raw)+16)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if !done {
				return nil, false, io.ErrUnexpectedEOF
			}
			return out, changed, nil
		}
		if err != nil {
			return nil, false, err
		}
		if done {
			return nil, false, errTrailing
		}
		end := int(dec.InputOffset())
		// the gap: the previous string's closing quote, punctuation, this string's opening quote
		gap := 0
		for k := prevEnd; k < end && isJSONGap(raw[k]); k++ {
			gap++
		}
		if prevString {
			gap++
		}
		_, isString := tok.(string)
		if isString {
			gap++
		}
		sc.skip(gap)
		prevEnd, prevString = end, isString

		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			out = append(out, byte(d))
			done = len(stack) == 0
			continue
		}
		// a new element: comma and, for an object member's value, nothing more
		key := false
		if len(stack) > 0 {
			f := &stack[len(stack)-1]
			switch {
			case f.object && !f.value:
				if f.n > 0 {
					out = append(out, ',')
				}
				key, f.value = true, true
			case f.object:
				out = append(out, ':')
				f.value = false
				f.n++
			default:
				if f.n > 0 {
					out = append(out, ',')
				}
				f.n++
			}
		}
		switch v := tok.(type) {
		case json.Delim:
			out = append(out, byte(v))
			stack = append(stack, jsonFrame{object: v == '{'})
			continue
		case string:
			red, ch := sc.redact(nil, v)
			if ch {
				changed = true
				v = string(red)
			}
			out = appendJSONString(out, v)
		case json.Number:
			red, ch := sc.redact(nil, string(v))
			if ch {
				changed = true
				out = appendJSONString(out, string(red))
			} else {
				out = append(out, v...)
			}
		case bool:
			if v {
				sc.word("true")
				out = append(out, "true"...)
			} else {
				sc.word("false")
				out = append(out, "false"...)
			}
		case nil:
			sc.word("null")
			out = append(out, "null"...)
		}
		if !key {
			done = len(stack) == 0
		}
	}
}

// appendJSONString appends s as a JSON string.
func appendJSONString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return append(dst, b...)
}

func isJSONGap(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' || c == ':'
}

package callplan

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// Locators pick one value out of an ApiInteraction response.
//
// JSON locators are dotted paths from the top-level value. An array element is selected with
// [n] or with a numeric segment, 0-based:
//
//	access_token   balance.amount   items[0].id   items.0.id   [2].name   matrix[1][0]
//	meta['x.request-id']   ["odd key"].value
//
// A key that contains '.', '[' or ']' is written quoted in brackets. A string value is returned as
// is, a number in its JSON spelling, true/false as "true"/"false", null as "", and an object
// or array as its compact JSON text.
//
// XML locators are slash-separated element names from the root element, with an optional
// 1-based [n] to choose among same-named siblings (as in XPath) and a final @name for an
// attribute. A leading '/' is allowed. Names match the local part, ignoring namespaces:
//
//	Response/Session/Id   /Response/Items/Item[2]/Price   Response/Session/@state
//
// The text of an element is its character data with surrounding white space trimmed.

// document is a parsed response body that locators read from.
type document interface {
	// Locate returns the value the locator names. A locator that does not parse wraps
	// errLocator; one that finds nothing wraps errNotFound.
	Locate(locator string) (string, error)
}

// errNotFound: a locator is well formed but the response has no such value.
var errNotFound = errors.New("callplan: locator found nothing")

// MaxResponseBytes bounds the response bodies parseResponse accepts.
const MaxResponseBytes = 4 << 20

// parseResponse parses body as typ (JSON or XML).
func parseResponse(typ ResponseType, body []byte) (document, error) {
	if len(body) > MaxResponseBytes {
		return nil, fmt.Errorf("%w: response body larger than %d bytes", errLocator, MaxResponseBytes)
	}
	switch typ {
	case ResponseJSON, "":
		return parseJSONDoc(body)
	case ResponseXML:
		return parseXMLDoc(body)
	}
	return nil, fmt.Errorf("%w: unknown response type %q", errLocator, typ)
}

// --- JSON ---

type jsonDoc struct{ v any }

func parseJSONDoc(body []byte) (*jsonDoc, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: response is not JSON: %v", errLocator, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: response has data after the JSON value", errLocator)
	}
	return &jsonDoc{v: v}, nil
}

// jsonStep is one step of a parsed JSON locator: a key, or an index when isIndex.
type jsonStep struct {
	key     string
	index   int
	isIndex bool
}

// checkJSONLocator checks a JSON locator and returns it as steps (for validation).
func checkJSONLocator(loc string) error {
	_, err := parseJSONLocator(loc)
	return err
}

func parseJSONLocator(loc string) ([]jsonStep, error) {
	if loc == "" {
		return nil, fmt.Errorf("%w: empty locator", errLocator)
	}
	var steps []jsonStep
	i := 0
	expectKey := true
	for i < len(loc) {
		switch c := loc[i]; {
		case c == '[' && i+1 < len(loc) && (loc[i+1] == '\'' || loc[i+1] == '"'):
			// ['key.with.dots'] or ["key"]: a quoted key, taken literally.
			q := loc[i+1]
			j := strings.IndexByte(loc[i+2:], q)
			if j < 0 || i+2+j+1 >= len(loc) || loc[i+2+j+1] != ']' {
				return nil, fmt.Errorf("%w: %q: unterminated quoted key at offset %d", errLocator, loc, i)
			}
			steps = append(steps, jsonStep{key: loc[i+2 : i+2+j]})
			i += 2 + j + 2
			expectKey = false
		case c == '[':
			j := strings.IndexByte(loc[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("%w: %q: [ without ] at offset %d", errLocator, loc, i)
			}
			n, err := parseIndex(loc[i+1 : i+j])
			if err != nil {
				return nil, fmt.Errorf("%w: %q: %v", errLocator, loc, err)
			}
			steps = append(steps, jsonStep{index: n, isIndex: true})
			i += j + 1
			expectKey = false
		case c == '.':
			if expectKey {
				return nil, fmt.Errorf("%w: %q: empty name at offset %d", errLocator, loc, i)
			}
			i++
			expectKey = true
			if i == len(loc) {
				return nil, fmt.Errorf("%w: %q ends with '.'", errLocator, loc)
			}
		default:
			if !expectKey {
				return nil, fmt.Errorf("%w: %q: expected '.' or '[' at offset %d", errLocator, loc, i)
			}
			j := i
			for j < len(loc) && loc[j] != '.' && loc[j] != '[' {
				if loc[j] == ']' {
					return nil, fmt.Errorf("%w: %q: ] without [ at offset %d", errLocator, loc, j)
				}
				j++
			}
			steps = append(steps, jsonStep{key: loc[i:j]})
			i = j
			expectKey = false
		}
	}
	return steps, nil
}

func parseIndex(s string) (int, error) {
	if s == "" || len(s) > 9 {
		return 0, fmt.Errorf("bad index %q", s)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("bad index %q", s)
		}
	}
	return strconv.Atoi(s)
}

func (d *jsonDoc) Locate(loc string) (string, error) {
	steps, err := parseJSONLocator(loc)
	if err != nil {
		return "", err
	}
	v := d.v
	for _, st := range steps {
		switch cur := v.(type) {
		case map[string]any:
			if st.isIndex {
				return "", fmt.Errorf("%w: %q: [%d] applied to an object", errNotFound, loc, st.index)
			}
			next, ok := cur[st.key]
			if !ok {
				return "", fmt.Errorf("%w: %q: no key %q", errNotFound, loc, st.key)
			}
			v = next
		case []any:
			idx := st.index
			if !st.isIndex {
				n, err := parseIndex(st.key)
				if err != nil {
					return "", fmt.Errorf("%w: %q: key %q applied to an array", errNotFound, loc, st.key)
				}
				idx = n
			}
			if idx >= len(cur) {
				return "", fmt.Errorf("%w: %q: index %d out of range (length %d)", errNotFound, loc, idx, len(cur))
			}
			v = cur[idx]
		default:
			return "", fmt.Errorf("%w: %q: cannot descend into a %s", errNotFound, loc, jsonKind(v))
		}
	}
	return jsonText(v)
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	}
	return "value"
}

func jsonText(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("%w: %v", errLocator, err)
	}
	return string(b), nil
}

// --- XML ---

type xmlNode struct {
	name     string
	attrs    []xml.Attr
	text     strings.Builder
	children []*xmlNode
}

type xmlDoc struct{ root *xmlNode }

const maxXMLDepth = 256

func parseXMLDoc(body []byte) (*xmlDoc, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	var stack []*xmlNode
	var root *xmlNode
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: response is not XML: %v", errLocator, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxXMLDepth {
				return nil, fmt.Errorf("%w: response XML nested deeper than %d", errLocator, maxXMLDepth)
			}
			n := &xmlNode{name: t.Name.Local, attrs: t.Attr}
			if len(stack) == 0 {
				if root != nil {
					return nil, fmt.Errorf("%w: response XML has more than one root element", errLocator)
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w: response XML has no root element", errLocator)
	}
	return &xmlDoc{root: root}, nil
}

type xmlStep struct {
	name  string
	index int // 1-based; 0 = first
	attr  bool
}

// checkXMLLocator checks an XML locator (for validation).
func checkXMLLocator(loc string) error {
	_, err := parseXMLLocator(loc)
	return err
}

func parseXMLLocator(loc string) ([]xmlStep, error) {
	s := strings.TrimPrefix(loc, "/")
	if s == "" {
		return nil, fmt.Errorf("%w: empty locator", errLocator)
	}
	parts := strings.Split(s, "/")
	steps := make([]xmlStep, 0, len(parts))
	for i, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("%w: %q: empty step", errLocator, loc)
		}
		if p[0] == '@' {
			if i != len(parts)-1 || len(p) == 1 {
				return nil, fmt.Errorf("%w: %q: @attribute must be the last step", errLocator, loc)
			}
			if i == 0 {
				return nil, fmt.Errorf("%w: %q: an attribute needs an element before it", errLocator, loc)
			}
			steps = append(steps, xmlStep{name: p[1:], attr: true})
			continue
		}
		st := xmlStep{name: p}
		if k := strings.IndexByte(p, '['); k >= 0 {
			if !strings.HasSuffix(p, "]") || k == 0 {
				return nil, fmt.Errorf("%w: %q: bad step %q", errLocator, loc, p)
			}
			n, err := parseIndex(p[k+1 : len(p)-1])
			if err != nil || n < 1 {
				return nil, fmt.Errorf("%w: %q: XML indexes start at 1 (step %q)", errLocator, loc, p)
			}
			st.name, st.index = p[:k], n
		}
		if strings.ContainsAny(st.name, "[]@ ") {
			return nil, fmt.Errorf("%w: %q: bad element name %q", errLocator, loc, st.name)
		}
		steps = append(steps, st)
	}
	return steps, nil
}

func (d *xmlDoc) Locate(loc string) (string, error) {
	steps, err := parseXMLLocator(loc)
	if err != nil {
		return "", err
	}
	first := steps[0]
	if first.name != d.root.name || first.index > 1 {
		return "", fmt.Errorf("%w: %q: the root element is <%s>", errNotFound, loc, d.root.name)
	}
	n := d.root
	for _, st := range steps[1:] {
		if st.attr {
			for _, a := range n.attrs {
				if a.Name.Local == st.name {
					return a.Value, nil
				}
			}
			return "", fmt.Errorf("%w: %q: <%s> has no attribute %q", errNotFound, loc, n.name, st.name)
		}
		want := max(st.index, 1)
		var found *xmlNode
		seen := 0
		for _, c := range n.children {
			if c.name == st.name {
				seen++
				if seen == want {
					found = c
					break
				}
			}
		}
		if found == nil {
			return "", fmt.Errorf("%w: %q: <%s> has no child <%s> number %d", errNotFound, loc, n.name, st.name, want)
		}
		n = found
	}
	return strings.TrimSpace(n.text.String()), nil
}

// convertValue converts a located value to its field's DataType and returns the variable's
// text:
//
//	String   unchanged
//	Decimal  a decimal number; JSON exponents are expanded ("1.5e2" → "150"); "" stays ""
//	Integer  a whole number ("12", "-3", "12.0" → "12"); "" stays ""
//	Boolean  true/false, 1/0, yes/no (any case) → "true"/"false"; "" stays ""
//
// A value that does not convert is an error wrapping errDataType. Errors never quote the
// value (a response is not ours to print).
func convertValue(v string, dt DataType) (string, error) {
	t := strings.TrimSpace(v)
	switch dt {
	case DataString, "":
		return v, nil
	case DataDecimal, DataInteger:
		if t == "" {
			return "", nil
		}
		r, ok := parseNumberRat(t)
		if !ok {
			return "", fmt.Errorf("%w: the value (%d characters) is not a %s", errDataType, len(t), dt)
		}
		if dt == DataInteger {
			if !r.IsInt() {
				return "", fmt.Errorf("%w: the value (%d characters) is not an Integer", errDataType, len(t))
			}
			return r.Num().String(), nil
		}
		if isDecimal(t) {
			return strings.TrimPrefix(t, "+"), nil
		}
		return ratDecimal(r), nil
	case DataBoolean:
		switch strings.ToLower(t) {
		case "":
			return "", nil
		case "true", "1", "yes":
			return "true", nil
		case "false", "0", "no":
			return "false", nil
		}
		return "", fmt.Errorf("%w: the value (%d characters) is not a Boolean", errDataType, len(t))
	}
	return "", fmt.Errorf("%w: unknown DataType %q", errDataType, dt)
}

// dataTypes lists the accepted DataType names.
var dataTypes = []string{string(DataString), string(DataDecimal), string(DataInteger), string(DataBoolean)}

// parseNumberRat reads a decimal or a JSON number with exponent (bounded).
func parseNumberRat(s string) (*big.Rat, bool) {
	if isDecimal(s) {
		return parseDecimalRat(s)
	}
	if len(s) > 64 {
		return nil, false
	}
	mant, exp, ok := strings.Cut(strings.ToLower(s), "e")
	if !ok || !isDecimal(mant) {
		return nil, false
	}
	e, err := strconv.Atoi(exp)
	if err != nil || e > 30 || e < -30 {
		return nil, false
	}
	r, _ := parseDecimalRat(mant)
	p := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(e))), nil))
	if e >= 0 {
		return r.Mul(r, p), true
	}
	return r.Quo(r, p), true
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// ratDecimal prints r exactly (it comes from a finite decimal, so a finite expansion exists).
func ratDecimal(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	for prec := 1; prec <= 64; prec++ {
		s := r.FloatString(prec)
		back, _ := new(big.Rat).SetString(s)
		if back.Cmp(r) == 0 {
			return s
		}
	}
	return r.FloatString(64)
}

// credentialLocator matches the last segment of a locator that names a credential: the fields
// of an OAuth2 token response, and the usual names of keys and passwords.
var credentialLocator = regexp.MustCompile(`(?i)^(access_?token|refresh_?token|id_?token|client_?secret|api_?key|password|passwd)$`)

// secretLocator reports whether a response Field located by loc holds a credential by its
// name (access_token, refresh_token, id_token, client_secret, api_key, password). Such fields are
// secret unless the plan says secret="false".
func secretLocator(loc string) bool {
	loc = strings.TrimRight(loc, "]'\" ")
	last := loc[strings.LastIndexAny(loc, "./@['\"")+1:]
	return credentialLocator.MatchString(last)
}

package callplan

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// The first stage of parsing: the XML text becomes a tree of xnodes that remember where
// every element, attribute value and text run starts, so that each later diagnostic can
// point at the exact line and column. Nothing here knows the call-plan vocabulary.

// MaxPlanBytes bounds a plan file.
const MaxPlanBytes = 1 << 20

// maxPlanDepth bounds element nesting.
const maxPlanDepth = 64

type xattr struct {
	name   string
	value  string
	pos    Pos // the attribute name
	valOff int // byte offset of the value's first character in the source
}

type xnode struct {
	name     string
	pos      Pos
	attrs    []*xattr
	children []*xnode
	text     strings.Builder // all character data directly inside, concatenated
	textOff  int             // byte offset of the first character data (after a CDATA opener), -1 = none
	// parts is the content in document order — runs of text and child elements — for the
	// elements whose text and children interleave (<Say>).
	parts []xpart
}

// xpart is one piece of an element's content: a run of character data starting at byte
// offset off, or a child element.
type xpart struct {
	text  string
	off   int
	child *xnode
}

// srcMap turns byte offsets into positions.
type srcMap struct {
	file  string
	src   []byte
	lines []int // byte offset of the start of each line
}

func newSrcMap(file string, src []byte) *srcMap {
	m := &srcMap{file: file, src: src, lines: []int{0}}
	for i, c := range src {
		if c == '\n' {
			m.lines = append(m.lines, i+1)
		}
	}
	return m
}

func (m *srcMap) pos(off int) Pos {
	if off < 0 {
		off = 0
	}
	if off > len(m.src) {
		off = len(m.src)
	}
	line := sort.Search(len(m.lines), func(i int) bool { return m.lines[i] > off }) - 1
	return Pos{File: m.file, Line: line + 1, Col: off - m.lines[line] + 1}
}

// parseXMLTree reads src into a tree. Well-formedness errors are returned as a Diagnostic;
// XML cannot be recovered after one, so it is the only one.
func parseXMLTree(m *srcMap, sink *diagSink) *xnode {
	if len(m.src) > MaxPlanBytes {
		sink.errorf(m.pos(0), "too-large", "plan is larger than %d bytes", MaxPlanBytes)
		return nil
	}
	dec := xml.NewDecoder(bytes.NewReader(m.src))
	dec.Strict = true
	dec.CharsetReader = func(charset string, r io.Reader) (io.Reader, error) {
		switch strings.ToLower(charset) {
		case "us-ascii", "ascii": // a subset of UTF-8
			return r, nil
		}
		return nil, fmt.Errorf("encoding %q is not supported: save the plan as UTF-8", charset)
	}
	var stack []*xnode
	var root *xnode
	for {
		start := int(dec.InputOffset())
		tok, err := dec.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			off := int(dec.InputOffset())
			pos := m.pos(off)
			var se *xml.SyntaxError
			msg := err.Error()
			if errors.As(err, &se) {
				msg = se.Msg
				if se.Line > 0 && se.Line != pos.Line && se.Line <= len(m.lines) {
					pos = Pos{File: m.file, Line: se.Line, Col: 1}
				}
			}
			if msg == "unescaped < inside quoted string" {
				// The decoder stops just after the '<': point at it, and say how to write it.
				lt := off - 1
				for lt > start && m.src[lt] != '<' {
					lt--
				}
				sink.errorf(m.pos(lt), "xml", "XML is not well formed: a raw < inside an attribute value: write it as &lt; (test=\"$(A) &lt; 5\")")
				return nil
			}
			sink.errorf(pos, "xml", "XML is not well formed: %s", msg)
			return nil
		}
		end := int(dec.InputOffset())
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxPlanDepth {
				sink.errorf(m.pos(start), "too-deep", "elements nested deeper than %d", maxPlanDepth)
				return nil
			}
			n := &xnode{name: qname(t.Name), pos: m.pos(start), textOff: -1}
			n.attrs = scanAttrs(m, t, start, end, sink)
			if len(stack) == 0 {
				if root != nil {
					sink.errorf(n.pos, "xml", "XML is not well formed: more than one root element")
					return nil
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
				p.parts = append(p.parts, xpart{child: n})
			}
			stack = append(stack, n)
		case xml.EndElement:
			if len(stack) == 0 || stack[len(stack)-1].name != qname(t.Name) {
				sink.add(unclosed(m, stack, qname(t.Name), start))
				return nil
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					sink.errorf(m.pos(start), "xml", "XML is not well formed: text outside the root element")
					return nil
				}
				continue
			}
			n := stack[len(stack)-1]
			if n.textOff < 0 && len(bytes.TrimSpace(t)) > 0 {
				off := start
				if bytes.HasPrefix(m.src[start:], []byte("<![CDATA[")) {
					off += len("<![CDATA[")
				} else {
					off += len(t) - len(bytes.TrimLeft(t, " \t\r\n"))
				}
				n.textOff = off
			}
			n.text.Write(t)
			off := start
			if bytes.HasPrefix(m.src[start:], []byte("<![CDATA[")) {
				off += len("<![CDATA[")
			}
			n.parts = append(n.parts, xpart{text: string(t), off: off})
		}
	}
	if len(stack) > 0 {
		// Reported at the element left open (the innermost), not at the end of the file.
		open := stack[len(stack)-1]
		sink.errorf(open.pos, "xml", "XML is not well formed: <%s> is never closed (the file ends first): end it with </%s>, or write <%s … />", open.name, open.name, open.name)
		return nil
	}
	if root == nil {
		sink.errorf(m.pos(0), "xml", "empty plan: no root element")
		return nil
	}
	return root
}

// unclosed explains an end tag that does not match the innermost open element. When it
// closes an element further out, the elements in between were left open: the diagnostic
// points at the innermost of them — where the author forgot "/>" or an end tag — rather than
// at the end tag where the parser noticed.
func unclosed(m *srcMap, stack []*xnode, end string, at int) Diagnostic {
	endPos := m.pos(at)
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i].name != end {
			continue
		}
		open := stack[len(stack)-1]
		return Diagnostic{Pos: open.pos, Severity: SeverityError, Code: "xml", Err: ErrInvalidPlan,
			Message: fmt.Sprintf("XML is not well formed: <%s> is never closed (</%s> at %d:%d ends <%s> first): end it with </%s>, or write <%s … />",
				open.name, end, endPos.Line, endPos.Col, end, open.name, open.name)}
	}
	msg := fmt.Sprintf("XML is not well formed: </%s> closes nothing that is open", end)
	if len(stack) > 0 {
		open := stack[len(stack)-1]
		msg = fmt.Sprintf("XML is not well formed: </%s> does not match <%s> at %d:%d", end, open.name, open.pos.Line, open.pos.Col)
	}
	return Diagnostic{Pos: endPos, Severity: SeverityError, Code: "xml", Message: msg, Err: ErrInvalidPlan}
}

func qname(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

// scanAttrs pairs the decoder's attributes with their raw positions in the tag src[start:end].
func scanAttrs(m *srcMap, t xml.StartElement, start, end int, sink *diagSink) []*xattr {
	raw := m.src[start:end]
	type rawAttr struct{ nameOff, valOff int }
	var found []rawAttr
	// Skip "<name".
	i := 1
	for i < len(raw) && !isXMLSpace(raw[i]) && raw[i] != '>' && raw[i] != '/' {
		i++
	}
	for i < len(raw) {
		for i < len(raw) && isXMLSpace(raw[i]) {
			i++
		}
		if i >= len(raw) || raw[i] == '>' || raw[i] == '/' {
			break
		}
		nameOff := i
		for i < len(raw) && raw[i] != '=' && !isXMLSpace(raw[i]) {
			i++
		}
		for i < len(raw) && (isXMLSpace(raw[i]) || raw[i] == '=') {
			i++
		}
		if i >= len(raw) {
			break
		}
		q := raw[i]
		i++
		valOff := i
		for i < len(raw) && raw[i] != q {
			i++
		}
		i++
		found = append(found, rawAttr{nameOff: start + nameOff, valOff: start + valOff})
	}
	out := make([]*xattr, 0, len(t.Attr))
	seen := map[string]bool{}
	for k, a := range t.Attr {
		x := &xattr{name: qname(a.Name), value: a.Value, pos: m.pos(start), valOff: start}
		if k < len(found) {
			x.pos = m.pos(found[k].nameOff)
			x.valOff = found[k].valOff
		}
		if seen[x.name] {
			sink.errorf(x.pos, "duplicate-attribute", "attribute %s given twice", x.name)
			continue
		}
		seen[x.name] = true
		out = append(out, x)
	}
	return out
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func (n *xnode) attr(name string) *xattr {
	for _, a := range n.attrs {
		if a.name == name {
			return a
		}
	}
	return nil
}

func (n *xnode) textValue() string { return strings.TrimSpace(n.text.String()) }

// String names the element for messages: "<Gather>".
func (n *xnode) String() string { return fmt.Sprintf("<%s>", n.name) }

package tts

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// interpretAs maps SSML's say-as interpret-as values (and their common aliases) to SayAs.
var interpretAs = map[string]SayAs{
	"digits": SayDigits, "telephone": SayDigits,
	"characters": SayCharacters, "spell-out": SayCharacters,
	"currency": SayCurrency,
	"date":     SayDate,
	"cardinal": SayCardinal, "number": SayCardinal,
}

// breakStrengths are SSML's break strengths as pauses.
var breakStrengths = map[string]time.Duration{
	"none": 0, "x-weak": 100 * time.Millisecond, "weak": 250 * time.Millisecond,
	"medium": 500 * time.Millisecond, "strong": 750 * time.Millisecond, "x-strong": time.Second,
}

// ParseMarkup reads SSML-like text into segments: plain text, <say-as interpret-as="…">
// (digits, characters, currency with an optional currency="GBP", date with an optional
// format="dmy", cardinal; the aliases telephone, spell-out and number), and <break
// time="500ms"/> or <break strength="strong"/>; an optional <speak> root is allowed. Anything
// else — another element, an unknown interpret-as, a say-as inside a say-as, bad XML — is an
// error wrapping ErrMarkup that gives the byte offset. Entities (&lt; &amp; …) are decoded.
//
//	Your code is <say-as interpret-as="characters">ch_6dy</say-as>.<break time="500ms"/>
func ParseMarkup(s string) ([]Segment, error) {
	const root = "paybridge-markup"
	d := xml.NewDecoder(strings.NewReader("<" + root + ">" + s + "</" + root + ">"))
	d.Strict = true
	offset := func() int64 { return max(d.InputOffset()-int64(len(root)+2), 0) }
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%w: offset %d: %s", ErrMarkup, offset(), fmt.Sprintf(format, a...))
	}
	var segs []Segment
	var inSayAs *Segment
	inBreak := false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				if el, ok := strings.CutSuffix(se.Msg, " closed by </"+root+">"); ok {
					return nil, fail("%s is not closed", strings.TrimPrefix(el, "element "))
				}
				if end, ok := strings.CutPrefix(se.Msg, "element <"+root+"> closed by "); ok {
					return nil, fail("%s closes nothing", end)
				}
				return nil, fail("%s", se.Msg)
			}
			return nil, fail("%v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case t.Name.Local == root, t.Name.Local == "speak":
			case inSayAs != nil || inBreak:
				return nil, fail("<%s> inside <%s>", t.Name.Local, map[bool]string{true: "break", false: "say-as"}[inBreak])
			case t.Name.Local == "say-as":
				seg, err := sayAsStart(t)
				if err != nil {
					return nil, fail("%v", err)
				}
				inSayAs = &seg
			case t.Name.Local == "break":
				seg, err := breakStart(t)
				if err != nil {
					return nil, fail("%v", err)
				}
				segs = append(segs, seg)
				inBreak = true
			default:
				return nil, fail("unknown element <%s> (want say-as or break)", t.Name.Local)
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "say-as":
				if strings.TrimSpace(inSayAs.Text) == "" {
					return nil, fail("empty <say-as>")
				}
				segs = append(segs, *inSayAs)
				inSayAs = nil
			case "break":
				inBreak = false
			}
		case xml.CharData:
			switch {
			case inSayAs != nil:
				inSayAs.Text += string(t)
			case inBreak:
				if strings.TrimSpace(string(t)) != "" {
					return nil, fail("text inside <break>")
				}
			case strings.TrimSpace(string(t)) != "":
				if n := len(segs); n > 0 && segs[n-1].SayAs == SayText {
					segs[n-1].Text += string(t)
				} else {
					segs = append(segs, Segment{Text: string(t)})
				}
			}
		case xml.ProcInst, xml.Directive:
			return nil, fail("processing instructions and directives are not allowed")
		}
	}
	return segs, nil
}

func sayAsStart(t xml.StartElement) (Segment, error) {
	var seg Segment
	kind := ""
	for _, a := range t.Attr {
		switch a.Name.Local {
		case "interpret-as":
			kind = a.Value
		case "format":
			seg.Format = a.Value
		case "currency":
			seg.Currency = a.Value
		case "detail":
		default:
			return seg, fmt.Errorf("unknown attribute %s of <say-as>", a.Name.Local)
		}
	}
	k, ok := interpretAs[kind]
	if !ok {
		return seg, fmt.Errorf("interpret-as %q (want digits, characters, currency, date or cardinal)", kind)
	}
	seg.SayAs = k
	return seg, nil
}

func breakStart(t xml.StartElement) (Segment, error) {
	seg := Segment{SayAs: SayBreak, Pause: breakStrengths["medium"]}
	for _, a := range t.Attr {
		switch a.Name.Local {
		case "time":
			d, err := parseBreakTime(a.Value)
			if err != nil {
				return seg, err
			}
			seg.Pause = d
		case "strength":
			d, ok := breakStrengths[a.Value]
			if !ok {
				return seg, fmt.Errorf("break strength %q (want none, x-weak, weak, medium, strong, x-strong)", a.Value)
			}
			seg.Pause = d
		default:
			return seg, fmt.Errorf("unknown attribute %s of <break>", a.Name.Local)
		}
	}
	return seg, nil
}

// parseBreakTime reads SSML times: "500ms", "1s", "1.5s".
func parseBreakTime(v string) (time.Duration, error) {
	num, unit := v, time.Second
	if n, ok := strings.CutSuffix(v, "ms"); ok {
		num, unit = n, time.Millisecond
	} else if n, ok := strings.CutSuffix(v, "s"); ok {
		num = n
	} else {
		return 0, fmt.Errorf("break time %q (want e.g. 500ms or 1.5s)", v)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || f > float64(MaxPause/unit) {
		return 0, fmt.Errorf("break time %q (want 0 to %v)", v, MaxPause)
	}
	return time.Duration(f * float64(unit)), nil
}

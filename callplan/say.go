package callplan

import (
	"strconv"
	"strings"
	"time"

	"github.com/paybridge/paybridge/internal/suggest"
)

// Text to speech in a plan: the <Say> step, and the same element (or a prompt attribute
// written "say:…") wherever a prompt name is accepted — Play, Gather, Menu and Pay's
// <Prompt>. The language only describes what is to be said; the engine renders it (package
// tts) and checks the say-as values it cannot say (engine.CheckSpeech), so that validate
// reports them at their file:line:col before a caller hears anything.

// Say is what one <Say> speaks: text with say-as parts and pauses, in a language and voice.
type Say struct {
	Pos      Pos
	Language string // BCP 47 ("es-ES"); "" = the plan's <Prompts lang>, else en-GB
	Voice    string // the engine's voice name ("en-gb+f3"); "" = the language's default
	Rate     int    // words per minute, MinSayRate–MaxSayRate; 0 = the engine's default
	Parts    []SayPart
}

// SayPart is one piece of a Say, in document order: a run of text, a <say-as>, or a <break>.
type SayPart struct {
	Pos      Pos           // where the text starts, or the <say-as>/<break> element
	As       string        // "" for plain text, else one of SayAsKinds (aliases resolved), or "break"
	Text     string        // template; "" for a break
	Currency string        // currency: an ISO 4217 code; "" = from the text ("GBP 12.50", "£12.50")
	Format   string        // date: one of SayDateFormats; "" = ymd
	Pause    time.Duration // break: the silence
}

// SayAsKinds are the interpret-as values of <say-as> (SSML's names; package tts says them).
var SayAsKinds = []string{"digits", "characters", "currency", "date", "cardinal"}

// sayAsAliases are SSML's other names for the same kinds.
var sayAsAliases = map[string]string{"telephone": "digits", "spell-out": "characters", "number": "cardinal"}

// SayDateFormats are the field orders of <say-as interpret-as="date" format="…">.
var SayDateFormats = []string{"ymd", "dmy", "mdy", "ym", "my", "md", "dm"}

// sayBreakStrengths are SSML's break strengths as pauses (the tts package's table).
var sayBreakStrengths = map[string]time.Duration{
	"none": 0, "x-weak": 100 * time.Millisecond, "weak": 250 * time.Millisecond,
	"medium": 500 * time.Millisecond, "strong": 750 * time.Millisecond, "x-strong": time.Second,
}

// The bounds of Say's rate attribute and of one break (the tts package's).
const (
	MinSayRate  = 80
	MaxSayRate  = 450
	maxSayPause = 10 * time.Second
)

// SayAsBreak is SayPart.As of a <break>.
const SayAsBreak = "break"

// Static reports whether nothing in the Say is a $(…) template: its audio is the same on
// every call and can be rendered when the plan loads.
func (s *Say) Static() bool {
	for _, p := range s.Parts {
		if !isLiteral(p.Text) {
			return false
		}
	}
	return true
}

// Expand returns the parts with their text expanded by lookup (Expand's rules). A $(…)
// that is not set says nothing.
func (s *Say) Expand(lookup func(string) (string, bool)) []SayPart {
	out := make([]SayPart, len(s.Parts))
	for i, p := range s.Parts {
		out[i] = p
		if p.Text != "" && !isLiteral(p.Text) {
			out[i].Text, _ = Expand(p.Text, lookup)
		}
	}
	return out
}

// PromptItem is one entry of a prompt list (Play prompt, Gather and Menu prompt /
// invalidPrompt / timeoutPrompt, Pay <Prompt prompt>): a prompt by name, or speech.
type PromptItem struct {
	Name string // a prompt name or a $(…) template expanding to one or more names
	Say  *Say   // set instead of Name: text to speak
}

// SayStep is the <Say> step: it speaks, with barge-in and looping as <Play>.
type SayStep struct {
	stepBase
	Say     *Say
	BargeIn *bool // nil = on when the next step takes input (as Play)
	Loop    int   // default 1; 0 = until a key or the end of the call
}

// StepName implements Step.
func (*SayStep) StepName() string { return "Say" }

// SayPromptPrefix starts a prompt attribute that speaks its text instead of naming prompts:
// prompt="say:Please enter your account number".
const SayPromptPrefix = "say:"

// sayChildren are the elements a <Say> may hold.
var sayChildren = []string{"say-as", "break"}

// sayFor are the prompt slots a <Say> child of Gather or Menu can fill (its for attribute).
var sayFor = []string{"prompt", "invalidPrompt", "timeoutPrompt"}

func (p *parser) parseSayStep(n *xnode) Step {
	a := p.attrs(n, "voice", "language", "rate", "bargeIn", "loop")
	s := &SayStep{stepBase: stepBase{Pos: n.pos}}
	s.Say = p.parseSay(n, a)
	if a.has("bargeIn") {
		b := a.bool("bargeIn", true)
		s.BargeIn = &b
	}
	s.Loop = a.int("loop", defaultPlayLoop, 0, 100)
	return s
}

// parseSay reads a <Say> element's voice attributes and its content: text runs, <say-as>
// and <break> in document order. The caller has checked the attribute names.
func (p *parser) parseSay(n *xnode, a *attrSet) *Say {
	say := &Say{Pos: n.pos}
	if v, ok := a.str("language"); ok {
		say.Language = strings.TrimSpace(v)
		if !validLangTag(say.Language) {
			p.sink.errorf(a.valPos(a.get("language")), "bad-say", "language %q is not a BCP 47 tag such as en-GB or es-ES", v)
			say.Language = ""
		}
	}
	if v, ok := a.str("voice"); ok {
		say.Voice = strings.TrimSpace(v)
		if !validVoiceName(say.Voice) {
			p.sink.errorf(a.valPos(a.get("voice")), "bad-say", "voice %q: letters, digits, '-', '_', '+' and '.', at most 64 (e.g. en-gb or en-gb+f3)", v)
			say.Voice = ""
		}
	}
	say.Rate = a.int("rate", 0, MinSayRate, MaxSayRate)
	elements := false
	for _, part := range n.parts {
		if part.child == nil {
			p.sayText(say, part.text, part.off, "")
			continue
		}
		c := part.child
		elements = true
		switch c.name {
		case "say-as":
			p.parseSayAs(say, c)
		case "break":
			p.parseBreak(say, c)
		default:
			p.sink.errorf(c.pos, "unknown-element", "<Say> holds text, <say-as> and <break>, not <%s>%s", c.name, suggest.DidYouMean(c.name, sayChildren))
		}
	}
	if len(say.Parts) == 0 && !elements { // (an element that said nothing has been reported)
		p.sink.errorf(n.pos, "bad-say", "<Say> says nothing: give it text, e.g. <Say>Thank you for calling</Say>")
	}
	return say
}

// sayText adds a run of text (or a say-as's text, kind as) at source offset off: whitespace
// runs become one space, #(env:…) is substituted, and secrets and card numbers are refused.
func (p *parser) sayText(say *Say, raw string, off int, as string) {
	lead := len(raw) - len(strings.TrimLeft(raw, " \t\r\n"))
	text := strings.Join(strings.Fields(raw), " ")
	if text == "" {
		return
	}
	off += lead
	p.checkLiteral(text, off, "<Say>")
	text = p.expandEnv(text, func(k int) Pos { return p.m.pos(off + k) })
	pos := p.m.pos(off)
	say.Parts = append(say.Parts, SayPart{Pos: pos, As: as, Text: text})
	last := &say.Parts[len(say.Parts)-1]
	p.plan.setPos(&last.Text, pos)
	p.checkTemplate(text, pos, "<Say>")
}

func (p *parser) parseSayAs(say *Say, n *xnode) {
	a := p.attrs(n, "interpret-as", "format", "currency")
	for _, c := range n.children {
		p.sink.errorf(c.pos, "unexpected-element", "<say-as> takes text, not elements (found <%s>)", c.name)
	}
	kind := strings.TrimSpace(a.required("interpret-as"))
	if k, ok := sayAsAliases[kind]; ok {
		kind = k
	}
	if a.has("interpret-as") && !contains(SayAsKinds, kind) {
		p.sink.errorf(a.valPos(a.get("interpret-as")), "bad-say", "interpret-as %q: use %s%s", kind, strings.Join(SayAsKinds, ", "), suggest.DidYouMean(kind, SayAsKinds))
		return
	}
	before := len(say.Parts)
	if raw := n.text.String(); n.textOff >= 0 {
		// textOff is where the first non-blank character is; sayText skips the blanks itself.
		p.sayText(say, raw, n.textOff-(len(raw)-len(strings.TrimLeft(raw, " \t\r\n"))), kind)
	}
	if len(say.Parts) == before {
		p.sink.errorf(n.pos, "bad-say", "<say-as interpret-as=%q> is empty", kind)
		return
	}
	part := &say.Parts[len(say.Parts)-1]
	if v, ok := a.str("format"); ok {
		v = strings.TrimSpace(v)
		switch {
		case kind != "date":
			p.sink.errorf(a.valPos(a.get("format")), "bad-say", "format is for interpret-as=\"date\", not %q", kind)
		case !contains(SayDateFormats, v):
			p.sink.errorf(a.valPos(a.get("format")), "bad-say", "date format %q: use %s%s", v, strings.Join(SayDateFormats, ", "), suggest.DidYouMean(v, SayDateFormats))
		default:
			part.Format = v
		}
	}
	if v, ok := a.str("currency"); ok {
		v = strings.TrimSpace(v)
		if kind != "currency" {
			p.sink.errorf(a.valPos(a.get("currency")), "bad-say", "currency is for interpret-as=\"currency\", not %q", kind)
		} else {
			p.checkCurrency(a, "currency", v)
			part.Currency = v
		}
	}
}

func (p *parser) parseBreak(say *Say, n *xnode) {
	a := p.attrs(n, "time", "strength")
	p.leaf(n)
	part := SayPart{Pos: n.pos, As: SayAsBreak, Pause: sayBreakStrengths["medium"]}
	if v, ok := a.str("strength"); ok {
		d, known := sayBreakStrengths[strings.TrimSpace(v)]
		if !known {
			names := []string{"none", "x-weak", "weak", "medium", "strong", "x-strong"}
			p.sink.errorf(a.valPos(a.get("strength")), "bad-say", "break strength %q: use %s%s", v, strings.Join(names, ", "), suggest.DidYouMean(strings.TrimSpace(v), names))
		}
		part.Pause = d
	}
	if a.has("time") {
		part.Pause = a.dur("time", part.Pause, 0, maxSayPause)
	}
	say.Parts = append(say.Parts, part)
}

// promptItems reads a prompt attribute: space-separated prompt names (each may be a
// template), or — when it starts with "say:" — one text to speak in the plan's language.
func (a *attrSet) promptItems(name string, required bool) []PromptItem {
	x := a.get(name)
	if x != nil {
		if v, _ := a.str(name); strings.HasPrefix(strings.TrimSpace(v), SayPromptPrefix) {
			return a.sayAttr(x, v)
		}
	}
	names := a.promptList(name, required)
	if names == nil {
		return nil
	}
	out := make([]PromptItem, len(names))
	for i, n := range names {
		out[i].Name = n
		a.p.plan.setPos(&out[i].Name, a.p.plan.posOf(&names[i], a.valPos(x)))
	}
	return out
}

// sayAttr reads prompt="say:text" as one Say of plain text.
func (a *attrSet) sayAttr(x *xattr, v string) []PromptItem {
	p := a.p
	lead := len(v) - len(strings.TrimLeft(v, " \t\r\n"))
	text := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), SayPromptPrefix))
	pos := a.valPos(x)
	pos.Col += lead + len(SayPromptPrefix)
	if text == "" {
		p.sink.errorf(a.valPos(x), "bad-say", "%s=\"say:\" says nothing: write the text after say:", x.name)
		return nil
	}
	text = strings.Join(strings.Fields(text), " ")
	say := &Say{Pos: pos, Parts: []SayPart{{Pos: pos, Text: text}}}
	p.plan.setPos(&say.Parts[0].Text, pos)
	p.checkTemplate(text, pos, x.name)
	return []PromptItem{{Say: say}}
}

// saySlots reads the <Say> children of Gather or Menu into the prompt slots their for
// attribute names (prompt by default), after what the attributes gave. Other children are
// returned for the caller.
func (p *parser) saySlots(n *xnode, slots map[string]*[]PromptItem) (rest []*xnode) {
	for _, c := range n.children {
		if c.name != "Say" {
			rest = append(rest, c)
			continue
		}
		a := p.attrs(c, "for", "voice", "language", "rate")
		slot := "prompt"
		if v, ok := a.str("for"); ok {
			slot = strings.TrimSpace(v)
			if slots[slot] == nil {
				p.sink.errorf(a.valPos(a.get("for")), "bad-say", "for=%q: a <Say> in <%s> is its prompt, invalidPrompt or timeoutPrompt%s", v, n.name, suggest.DidYouMean(slot, sayFor))
				continue
			}
		}
		*slots[slot] = append(*slots[slot], PromptItem{Say: p.parseSay(c, a)})
	}
	return rest
}

// validLangTag: a BCP 47 tag's shape — subtags of 1–8 letters or digits separated by '-'
// (or '_'), the first of letters. Whether there are words for it is the engine's question.
func validLangTag(s string) bool {
	if s == "" || len(s) > 35 {
		return false
	}
	for i, sub := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' }) {
		if sub == "" || len(sub) > 8 {
			return false
		}
		for _, c := range sub {
			letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
			if !letter && (i == 0 || c < '0' || c > '9') {
				return false
			}
		}
	}
	return !strings.HasPrefix(s, "-") && !strings.HasSuffix(s, "-") && !strings.Contains(s, "--")
}

// validVoiceName: what a voice may be called (the tts package's rule).
func validVoiceName(v string) bool {
	if v == "" || len(v) > 64 {
		return false
	}
	for _, c := range v {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '+', c == '.':
		default:
			return false
		}
	}
	return true
}

// String is the Say's text for messages and timelines: its parts' text as written (templates
// unexpanded), breaks as "… 500ms …".
func (s *Say) String() string {
	var b strings.Builder
	for i, p := range s.Parts {
		if i > 0 {
			b.WriteByte(' ')
		}
		if p.As == SayAsBreak {
			b.WriteString("… ")
			b.WriteString(strconv.FormatInt(p.Pause.Milliseconds(), 10))
			b.WriteString("ms …")
			continue
		}
		b.WriteString(p.Text)
	}
	return b.String()
}

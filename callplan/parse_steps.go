package callplan

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paybridge/paybridge/internal/suggest"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
)

// stepParsers maps each step element to its parser (filled in init to avoid an
// initialisation cycle: If, Switch and Menu parse nested steps).
var stepParsers map[string]func(*parser, *xnode) Step

// stepNames lists the step elements, for "did you mean".
var stepNames []string

// nestedOnly names elements that exist but only inside a particular parent.
var nestedOnly = map[string]string{
	"Choice": "Menu", "Case": "Switch", "Default": "Switch", "ElseIf": "If", "Else": "If",
	"Prompt": "Pay", "Route": "Pay", "Invoice": "Pay or SendPaymentLink", "Line": "Invoice", "Metadata": "Invoice",
	"Request": "ApiInteraction", "Response": "ApiInteraction",
	"ClientCredentials": "Connector", "BasicAuth": "Connector",
	"Match": "CallPlan", "Connector": "CallPlan", "Prompts": "CallPlan", "Flow": "CallPlan", "Merchant": "CallPlan",
	"say-as": "Say", "break": "Say",
	"Sip": "Dial",
}

func init() {
	stepParsers = map[string]func(*parser, *xnode) Step{
		"Play":            (*parser).parsePlay,
		"Say":             (*parser).parseSayStep,
		"SayDigits":       (*parser).parseSayDigits,
		"SayCharacters":   (*parser).parseSayCharacters,
		"SayAmount":       (*parser).parseSayAmount,
		"Pause":           (*parser).parsePause,
		"Gather":          (*parser).parseGather,
		"Menu":            (*parser).parseMenu,
		"ApiInteraction":  (*parser).parseAPI,
		"Authorize":       (*parser).parseAuthorize,
		"Pay":             (*parser).parsePay,
		"SendPaymentLink": (*parser).parseLink,
		"Capture":         (*parser).parsePaymentOp,
		"Void":            (*parser).parsePaymentOp,
		"Refund":          (*parser).parsePaymentOp,
		"Set":             (*parser).parseSet,
		"If":              (*parser).parseIf,
		"Switch":          (*parser).parseSwitch,
		"Goto":            (*parser).parseGoto,
		"Label":           (*parser).parseLabel,
		"Transfer":        (*parser).parseTransfer,
		"Hangup":          (*parser).parseHangup,
		"Dial":            (*parser).parseDial,
	}
	for n := range stepParsers {
		stepNames = append(stepNames, n)
	}
}

// steps parses a list of step elements. top is true for the children of <Flow>.
func (p *parser) steps(nodes []*xnode, top bool) []Step {
	out := []Step{}
	for _, c := range nodes {
		fn := stepParsers[c.name]
		if fn == nil {
			if parent, ok := nestedOnly[c.name]; ok {
				p.sink.errorf(c.pos, "misplaced-element", "<%s> belongs directly inside <%s>", c.name, parent)
			} else {
				p.sink.errorf(c.pos, "unknown-element", "unknown element <%s>%s", c.name, suggest.DidYouMean(c.name, stepNames))
				p.misspelled(c)
			}
			continue
		}
		if c.name == "Label" && !top {
			p.sink.errorf(c.pos, "nested-label", "<Label> must be a direct child of <Flow> (a Goto jumps out of any block to a top-level label)")
		}
		if s := fn(p, c); s != nil {
			out = append(out, s)
		}
	}
	return out
}

// misspelled notes what an unknown element that is a misspelling of a step (<Gathr
// var="Account">) would have set, so that the one "did you mean" error is not followed by a
// "never set" error for every use of those variables. The element is parsed as the step it
// resembles, into a throwaway sink: it never runs.
func (p *parser) misspelled(n *xnode) {
	name := suggest.Closest(n.name, stepNames)
	fn := stepParsers[name]
	if fn == nil {
		return
	}
	shadow := &parser{m: p.m, sink: &diagSink{}, env: p.env, plan: &Plan{Name: p.plan.Name, Labels: map[string]int{}}, dir: p.dir}
	cp := *n
	cp.name = name
	s := fn(shadow, &cp)
	if s == nil {
		return
	}
	v := &validator{plan: shadow.plan}
	walkSteps([]Step{s}, func(st Step) bool {
		_, sets := v.stepIO(st)
		for _, set := range sets {
			if p.plan.unparsedSets == nil {
				p.plan.unparsedSets = map[string]bool{}
			}
			p.plan.unparsedSets[set.name] = true
		}
		return true
	})
}

// indexLabels fills Plan.Labels from the top-level LabelSteps.
func (p *parser) indexLabels() {
	for i, s := range p.plan.Flow {
		l, ok := s.(*LabelStep)
		if !ok || l.Name == "" {
			continue
		}
		if j, dup := p.plan.Labels[l.Name]; dup {
			first := p.plan.Flow[j].StepPos()
			p.sink.errorf(l.Pos, "duplicate-label", "label %q is defined twice (first at %d:%d)", l.Name, first.Line, first.Col)
			continue
		}
		p.plan.Labels[l.Name] = i
	}
}

// leaf checks that a step element has no children and no text.
func (p *parser) leaf(n *xnode) {
	p.noText(n)
	for _, c := range n.children {
		p.sink.errorf(c.pos, "unexpected-element", "<%s> takes no child elements (found <%s>)", n.name, c.name)
	}
}

func (p *parser) parsePlay(n *xnode) Step {
	a := p.attrs(n, "prompt", "bargeIn", "loop")
	p.leaf(n)
	s := &PlayStep{stepBase: stepBase{Pos: n.pos}}
	s.Prompts = a.promptItems("prompt", true)
	if a.has("bargeIn") {
		b := a.bool("bargeIn", true)
		s.BargeIn = &b
	}
	s.Loop = a.int("loop", defaultPlayLoop, 0, 100)
	return s
}

func (p *parser) parseSayDigits(n *xnode) Step {
	a := p.attrs(n, "value")
	p.leaf(n)
	s := &SayDigitsStep{stepBase: stepBase{Pos: n.pos}}
	a.tmpl("value", &s.Value, true)
	if isLiteral(s.Value) && strings.Trim(s.Value, dtmfKeys+" ") != "" {
		p.sink.errorf(a.valPos(a.get("value")), "bad-value", "SayDigits value %q: only digits, * and # can be spoken as digits", s.Value)
	}
	return s
}

func (p *parser) parseSayCharacters(n *xnode) Step {
	a := p.attrs(n, "value")
	p.leaf(n)
	s := &SayCharactersStep{stepBase: stepBase{Pos: n.pos}}
	a.tmpl("value", &s.Value, true)
	if isLiteral(s.Value) {
		for i := 0; i < len(s.Value); i++ {
			if c := s.Value[i]; c != ' ' && charPrompt(c) == "" {
				p.sink.errorf(a.valPos(a.get("value")), "bad-value", "SayCharacters value %q: %q cannot be spoken (letters, digits, * # _ - . and spaces can)", s.Value, string(c))
				break
			}
		}
	}
	return s
}

func (p *parser) parseSayAmount(n *xnode) Step {
	a := p.attrs(n, "value", "currency")
	p.leaf(n)
	s := &SayAmountStep{stepBase: stepBase{Pos: n.pos}}
	a.tmpl("value", &s.Value, true)
	a.tmpl("currency", &s.Currency, false)
	p.checkCurrency(a, "currency", s.Currency)
	if isLiteral(s.Value) && s.Value != "" && !isDecimal(strings.TrimSpace(s.Value)) {
		p.sink.errorf(a.valPos(a.get("value")), "bad-amount", "SayAmount value %q is not a decimal amount", s.Value)
	}
	return s
}

func (p *parser) parsePause(n *xnode) Step {
	a := p.attrs(n, "length")
	p.leaf(n)
	return &PauseStep{stepBase: stepBase{Pos: n.pos}, Length: a.dur("length", defaultPauseLength, time.Millisecond, 10*time.Minute)}
}

const (
	minTimeout = 100 * time.Millisecond
	maxTimeout = 10 * time.Minute
)

func (p *parser) parseGather(n *xnode) Step {
	a := p.attrs(n, "var", "minDigits", "maxDigits", "finishOnKey", "timeout", "firstDigitTimeout",
		"attempts", "prompt", "invalidPrompt", "timeoutPrompt", "pattern")
	p.noText(n)
	s := &GatherStep{stepBase: stepBase{Pos: n.pos}}
	s.Var = a.varName("var", true, "")
	s.Min = a.int("minDigits", defaultGatherMinDigits, 1, maxDigitsLimit)
	s.Max = a.int("maxDigits", max(defaultGatherMaxDigits, s.Min), 1, maxDigitsLimit)
	if s.Max < s.Min {
		p.sink.errorf(n.pos, "bad-number", "maxDigits %d is less than minDigits %d", s.Max, s.Min)
	}
	s.FinishOnKey = defaultFinishOnKey
	if v, ok := a.str("finishOnKey"); ok {
		s.FinishOnKey = v
		if len(v) > 1 || v != "" && !strings.Contains(dtmfKeys, v) {
			p.sink.errorf(a.valPos(a.get("finishOnKey")), "bad-key", "finishOnKey %q: one key of 0-9 * # A-D, or \"\" for none", v)
		}
	}
	s.Timeout = a.dur("timeout", defaultGatherTimeout, minTimeout, maxTimeout)
	s.FirstDigitTimeout = a.dur("firstDigitTimeout", s.Timeout, minTimeout, maxTimeout)
	s.Attempts = a.int("attempts", defaultGatherAttempts, 1, 10)
	s.Prompt = a.promptItems("prompt", false)
	s.InvalidPrompt = a.promptItems("invalidPrompt", false)
	s.TimeoutPrompt = a.promptItems("timeoutPrompt", false)
	// <Say> children speak after the prompts the attributes name (TwiML nests <Say> in
	// <Gather>); for="invalidPrompt" / "timeoutPrompt" fill those slots.
	for _, c := range p.saySlots(n, map[string]*[]PromptItem{"prompt": &s.Prompt, "invalidPrompt": &s.InvalidPrompt, "timeoutPrompt": &s.TimeoutPrompt}) {
		p.sink.errorf(c.pos, "unexpected-element", "<Gather> holds only <Say> elements (found <%s>)%s", c.name, suggest.DidYouMean(c.name, []string{"Say"}))
	}
	if v, ok := a.str("pattern"); ok {
		s.PatternSource = v
		re, err := regexp.Compile(`^(?:` + v + `)$`)
		if err != nil {
			var re2 *syntax.Error
			msg := err.Error()
			if errors.As(err, &re2) {
				msg = string(re2.Code) + ": " + re2.Expr
			}
			p.sink.errorf(a.valPos(a.get("pattern")), "bad-pattern", "pattern: %s", msg)
		} else {
			s.Pattern = re
		}
	}
	return s
}

func (p *parser) parseMenu(n *xnode) Step {
	a := p.attrs(n, "prompt", "invalidPrompt", "timeoutPrompt", "timeout", "attempts", "var")
	p.noText(n)
	s := &MenuStep{stepBase: stepBase{Pos: n.pos}}
	s.Var = a.varName("var", false, "")
	s.Prompt = a.promptItems("prompt", false)
	s.InvalidPrompt = a.promptItems("invalidPrompt", false)
	s.TimeoutPrompt = a.promptItems("timeoutPrompt", false)
	s.Timeout = a.dur("timeout", defaultMenuTimeout, minTimeout, maxTimeout)
	s.Attempts = a.int("attempts", defaultMenuAttempts, 1, 10)
	keys := map[string]Pos{}
	rest := p.saySlots(n, map[string]*[]PromptItem{"prompt": &s.Prompt, "invalidPrompt": &s.InvalidPrompt, "timeoutPrompt": &s.TimeoutPrompt})
	for _, c := range rest {
		if c.name != "Choice" {
			p.sink.errorf(c.pos, "unknown-element", "<Menu> holds <Choice> and <Say> elements, not <%s>%s", c.name, suggest.DidYouMean(c.name, []string{"Choice", "Say"}))
			continue
		}
		ca := p.attrs(c, "key")
		p.noText(c)
		ch := &Choice{Pos: c.pos, Key: ca.requiredNonEmpty("key")}
		if ch.Key != "" {
			if len(ch.Key) != 1 || !strings.Contains(dtmfKeys, ch.Key) {
				p.sink.errorf(ca.valPos(ca.get("key")), "bad-key", "Choice key %q: one key of 0-9 * # A-D", ch.Key)
			} else if first, dup := keys[ch.Key]; dup {
				p.sink.errorf(c.pos, "duplicate-key", "key %s is chosen twice in this menu (first at %d:%d)", ch.Key, first.Line, first.Col)
			} else {
				keys[ch.Key] = c.pos
			}
		}
		ch.Steps = p.steps(c.children, false)
		s.Choices = append(s.Choices, ch)
	}
	if len(s.Choices) == 0 {
		p.sink.errorf(n.pos, "missing-element", "<Menu> has no <Choice>")
	}
	return s
}

var httpMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}

func (p *parser) parseAPI(n *xnode) Step {
	a := p.attrs(n, "name", "timeout", "onError", "redirects", "untrustedHost")
	p.noText(n)
	s := &APIInteractionStep{stepBase: stepBase{Pos: n.pos}}
	s.Name, _ = a.str("name")
	s.Timeout = a.dur("timeout", defaultAPITimeout, minTimeout, 2*time.Minute)
	if v, ok := a.str("redirects"); ok {
		i := slices.Index(redirectPolicies, strings.TrimSpace(v))
		if i < 0 {
			p.sink.errorf(a.valPos(a.get("redirects")), "bad-value", "redirects %q: use same-origin (the default), none or any%s", v, suggest.DidYouMean(strings.TrimSpace(v), redirectPolicies))
		} else {
			s.Redirects = RedirectPolicy(i)
		}
	}
	s.UntrustedHost = a.bool("untrustedHost", false)
	if v, ok := a.str("onError"); ok {
		s.OnError = strings.TrimSpace(v)
		p.plan.setPos(&s.OnError, a.valPos(a.get("onError")))
	}
	s.Response.Type = defaultAPIResponseType
	var haveReq, haveResp bool
	for _, c := range n.children {
		switch c.name {
		case "Request":
			if haveReq {
				p.sink.errorf(c.pos, "duplicate-element", "<Request> given twice")
				continue
			}
			haveReq = true
			p.parseRequest(c, &s.Request)
		case "Response":
			if haveResp {
				p.sink.errorf(c.pos, "duplicate-element", "<Response> given twice")
				continue
			}
			haveResp = true
			p.parseResponse(c, &s.Response)
		default:
			p.sink.errorf(c.pos, "unknown-element", "unknown element <%s> in <ApiInteraction>%s", c.name, suggest.DidYouMean(c.name, []string{"Request", "Response"}))
		}
	}
	if !haveReq {
		p.sink.errorf(n.pos, "missing-element", "<ApiInteraction> has no <Request>")
	}
	return s
}

func (p *parser) parseRequest(n *xnode, r *APIRequest) {
	p.attrs(n)
	p.noText(n)
	r.Pos = n.pos
	r.Method = defaultAPIMethod
	var haveURL bool
	seen := map[string]bool{}
	for _, c := range n.children {
		if seen[c.name] && c.name != "Headers" {
			p.sink.errorf(c.pos, "duplicate-element", "<%s> given twice in <Request>", c.name)
			continue
		}
		seen[c.name] = true
		switch c.name {
		case "Url":
			haveURL = true
			p.textTmpl(c, &r.URL)
			p.checkAPIURL(r.URL, p.plan.posOf(&r.URL, c.pos))
		case "Method":
			v, pos := p.text(c)
			r.Method = strings.ToUpper(v)
			if !contains(httpMethods, r.Method) {
				p.sink.errorf(pos, "bad-method", "method %q: use GET, POST, PUT, PATCH, DELETE or HEAD%s", v, suggest.DidYouMean(r.Method, httpMethods))
			}
		case "Headers":
			p.attrs(c)
			p.noText(c)
			for _, h := range c.children {
				if h.name != "Header" {
					p.sink.errorf(h.pos, "unknown-element", "<Headers> holds <Header> elements, not <%s>%s", h.name, suggest.DidYouMean(h.name, []string{"Header"}))
					continue
				}
				r.Headers = append(r.Headers, Header{Pos: h.pos})
				p.parseHeader(h, &r.Headers[len(r.Headers)-1])
			}
		case "Body":
			p.textTmpl(c, &r.Body)
		default:
			p.sink.errorf(c.pos, "unknown-element", "unknown element <%s> in <Request>%s", c.name, suggest.DidYouMean(c.name, []string{"Url", "Method", "Headers", "Body"}))
		}
	}
	if !haveURL {
		p.sink.errorf(n.pos, "missing-element", "<Request> has no <Url>")
	}
}

// checkAPIURL checks the literal shape of a request URL template.
func (p *parser) checkAPIURL(u string, pos Pos) {
	switch {
	case u == "":
		p.sink.errorf(pos, "bad-url", "<Url> is empty")
	case hasURLCredentials(u):
		p.sink.errorf(pos, "secret", "<Url> carries user:password@: put credentials in a header from #(env:…), never in a URL")
	case strings.HasPrefix(u, "$("):
		// A base URL variable such as $(Sandbox.Url); checked when expanded.
	case strings.HasPrefix(u, "https://"):
	case strings.HasPrefix(u, "http://"):
		host := strings.TrimPrefix(u, "http://")
		if i := strings.IndexAny(host, "/?#"); i >= 0 {
			host = host[:i]
		}
		if h, err := url.Parse("http://" + host); err == nil {
			host = h.Hostname()
		}
		if !isLoopbackHost(host) && !strings.Contains(host, "$(") {
			p.sink.warnf(pos, "plain-http", "<Url> uses plain http outside loopback: tokens and caller data travel unencrypted")
		}
	default:
		p.sink.errorf(pos, "bad-url", "<Url> %q must start with https://, http:// or a base URL variable such as $(Sandbox.Url)", clipText(u))
	}
}

// hasURLCredentials reports whether a URL template has a literal user-info part.
func hasURLCredentials(u string) bool {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return false
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return strings.Contains(rest, "@")
}

// tchar: RFC 9110 token characters (header field names).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func (p *parser) parseHeader(n *xnode, h *Header) {
	p.attrs(n)
	p.noText(n)
	var haveKey, haveValue bool
	for _, c := range n.children {
		switch c.name {
		case "Key":
			haveKey = true
			var pos Pos
			h.Key, pos = p.text(c)
			if !validHeaderName(h.Key) {
				p.sink.errorf(pos, "bad-header", "header name %q is not a valid HTTP field name", clipText(h.Key))
			}
		case "Value":
			haveValue = true
			p.textTmpl(c, &h.Value)
			if strings.ContainsAny(stripRefs(h.Value), "\r\n\x00") {
				p.sink.errorf(p.plan.posOf(&h.Value, c.pos), "bad-header", "header value spans lines: CR and LF are not allowed")
			}
		default:
			p.sink.errorf(c.pos, "unknown-element", "unknown element <%s> in <Header>%s", c.name, suggest.DidYouMean(c.name, []string{"Key", "Value"}))
		}
	}
	if !haveKey {
		p.sink.errorf(n.pos, "missing-element", "<Header> has no <Key>")
	}
	if !haveValue {
		p.sink.errorf(n.pos, "missing-element", "<Header> has no <Value>")
	}
}

func (p *parser) parseResponse(n *xnode, r *APIResponse) {
	p.attrs(n)
	p.noText(n)
	r.Pos = n.pos
	seen := map[string]bool{}
	var fieldsNode *xnode
	for _, c := range n.children {
		if seen[c.name] {
			p.sink.errorf(c.pos, "duplicate-element", "<%s> given twice in <Response>", c.name)
			continue
		}
		seen[c.name] = true
		switch c.name {
		case "Type":
			v, pos := p.text(c)
			switch strings.ToUpper(v) {
			case "JSON":
				r.Type = ResponseJSON
			case "XML":
				r.Type = ResponseXML
			default:
				p.sink.errorf(pos, "bad-response-type", "response Type %q: use JSON or XML", v)
			}
		case "ResponseCodeDestination":
			v, pos := p.text(c)
			if err := checkVarName(v); err != nil {
				p.sink.errorf(pos, "bad-variable", "ResponseCodeDestination: %v", err)
			} else {
				r.ResponseCodeDestination = v
				p.plan.setPos(&r.ResponseCodeDestination, pos)
			}
		case "Fields":
			fieldsNode = c
		default:
			p.sink.errorf(c.pos, "unknown-element", "unknown element <%s> in <Response>%s", c.name, suggest.DidYouMean(c.name, []string{"Type", "ResponseCodeDestination", "Fields"}))
		}
	}
	if fieldsNode == nil {
		return
	}
	// Fields after Type, wherever Type was written.
	p.attrs(fieldsNode)
	p.noText(fieldsNode)
	for _, f := range fieldsNode.children {
		if f.name != "Field" {
			p.sink.errorf(f.pos, "unknown-element", "<Fields> holds <Field> elements, not <%s>%s", f.name, suggest.DidYouMean(f.name, []string{"Field"}))
			continue
		}
		r.Fields = append(r.Fields, Field{Pos: f.pos, DataType: DataString})
		p.parseField(f, &r.Fields[len(r.Fields)-1], r.Type)
	}
}

func (p *parser) parseField(n *xnode, f *Field, typ ResponseType) {
	a := p.attrs(n, "secret")
	p.noText(n)
	defer func() { f.Secret = a.bool("secret", secretLocator(f.Locator)) }()
	var haveLoc, haveDest bool
	for _, c := range n.children {
		switch c.name {
		case "Locator":
			haveLoc = true
			var pos Pos
			f.Locator, pos = p.text(c)
			var err error
			if typ == ResponseXML {
				err = checkXMLLocator(f.Locator)
			} else {
				err = checkJSONLocator(f.Locator)
			}
			if err != nil {
				p.sink.errorf(pos, "bad-locator", "Locator %s", errText(err, errLocator))
			}
		case "Destination":
			haveDest = true
			v, pos := p.text(c)
			if err := checkVarName(v); err != nil {
				p.sink.errorf(pos, "bad-variable", "Destination: %v", err)
			} else {
				f.Destination = v
				p.plan.setPos(&f.Destination, pos)
			}
		case "DataType":
			v, pos := p.text(c)
			switch {
			case contains(dataTypes, v):
				f.DataType = DataType(v)
			default:
				p.sink.errorf(pos, "bad-datatype", "DataType %q: use String, Decimal, Integer or Boolean%s", v, suggest.DidYouMean(v, dataTypes))
			}
		default:
			p.sink.errorf(c.pos, "unknown-element", "unknown element <%s> in <Field>%s", c.name, suggest.DidYouMean(c.name, []string{"Locator", "Destination", "DataType"}))
		}
	}
	if !haveLoc {
		p.sink.errorf(n.pos, "missing-element", "<Field> has no <Locator>")
	}
	if !haveDest {
		p.sink.errorf(n.pos, "missing-element", "<Field> has no <Destination>")
	}
}

func (p *parser) parseAuthorize(n *xnode) Step {
	a := p.attrs(n, "connector", "var")
	p.leaf(n)
	s := &AuthorizeStep{stepBase: stepBase{Pos: n.pos}}
	s.Connector = strings.TrimSpace(a.requiredNonEmpty("connector"))
	p.recordConnectorRef(a, &s.Connector)
	s.Var = a.varName("var", false, defaultAuthorizeVar)
	return s
}

func (p *parser) recordConnectorRef(a *attrSet, dst *string) {
	if x := a.get("connector"); x != nil {
		p.plan.setPos(dst, a.valPos(x))
	}
}

// checkCurrency checks a literal currency attribute.
func (p *parser) checkCurrency(a *attrSet, name, v string) {
	if v == "" || !isLiteral(v) {
		return
	}
	if _, ok := payment.CurrencyMinorUnits(v); !ok {
		hint := ""
		if _, ok := payment.CurrencyMinorUnits(strings.ToUpper(v)); ok {
			hint = fmt.Sprintf(" (currency codes are upper case: %q)", strings.ToUpper(v))
		}
		p.sink.errorf(a.valPos(a.get(name)), "bad-currency", "currency %q is not an ISO 4217 code%s", v, hint)
	}
}

// checkAmount checks a literal amount against a literal currency.
func (p *parser) checkAmount(a *attrSet, amount, currency string, needCurrency bool) {
	if amount == "" || !isLiteral(amount) {
		if amount != "" && currency == "" && needCurrency {
			p.sink.errorf(a.n.pos, "missing-attribute", "<%s> has an amount but no currency", a.n.name)
		}
		return
	}
	t := strings.TrimSpace(amount)
	if !isDecimal(t) || t[0] == '+' || t[0] == '-' {
		p.sink.errorf(a.valPos(a.get("amount")), "bad-amount", "amount %q is not a decimal amount such as 12.50 (or a $(Variable))", amount)
		return
	}
	if currency == "" {
		if r, _ := parseDecimalRat(t); r.Sign() != 0 && needCurrency {
			p.sink.errorf(a.n.pos, "missing-attribute", "<%s> has an amount but no currency", a.n.name)
		}
		return
	}
	if !isLiteral(currency) {
		return
	}
	if _, ok := payment.CurrencyMinorUnits(currency); !ok {
		return // reported by checkCurrency
	}
	if _, err := payment.ParseAmount(t, currency); err != nil {
		p.sink.errorf(a.valPos(a.get("amount")), "bad-amount", "amount %s", errText(err, payment.ErrAmount))
	}
}

var tokenTypes = []string{"one-time", "reusable"}

func (p *parser) parsePay(n *xnode) Step {
	a := p.attrs(n, "connector", "amount", "currency", "reference", "description", "session",
		"validCardTypes", "securityCode", "postalCode", "minPostalCodeLength", "maxAttempts",
		"timeout", "tokenType", "var", "mode", "method", "paymentMethod", "bankAccountType")
	p.noText(n)
	s := &PayStep{stepBase: stepBase{Pos: n.pos}}
	if v, ok := a.str("mode"); ok {
		s.Mode = strings.TrimSpace(v)
		switch {
		case s.Mode == "ivr":
			s.Mode = ""
		case s.Mode != PayModeAgent:
			p.sink.errorf(a.valPos(a.get("mode")), "bad-pay-mode", "mode %q: use ivr (the default: the caller keys to paybridge's prompts) or agent (inside <Dial>)%s", v, suggest.DidYouMean(s.Mode, []string{"ivr", PayModeAgent}))
			s.Mode = ""
		case p.inDial == 0:
			p.sink.errorf(a.valPos(a.get("mode")), "bad-pay-mode", "<Pay mode=\"agent\"> is taken by an agent on a bridged call: it belongs directly inside <Dial>")
		}
	}
	route := strings.Fields(a.requiredNonEmpty("connector"))
	if len(route) > 0 {
		s.Connector = route[0]
	}
	p.recordConnectorRef(a, &s.Connector)
	var routeAt []Pos
	for range route {
		routeAt = append(routeAt, a.valPos(a.get("connector")))
	}
	a.tmpl("amount", &s.Amount, false)
	a.tmpl("currency", &s.Currency, false)
	s.Currency = strings.TrimSpace(s.Currency)
	p.checkCurrency(a, "currency", s.Currency)
	p.checkAmount(a, s.Amount, s.Currency, true)
	a.tmpl("reference", &s.Reference, false)
	a.tmpl("description", &s.Description, false)
	a.tmpl("session", &s.Session, false)
	s.ValidCardTypes = append([]string(nil), defaultValidCardTypes...)
	if v, ok := a.list("validCardTypes"); ok {
		s.ValidCardTypes = p.cardTypes(a, "validCardTypes", v)
		if len(v) == 0 {
			p.sink.errorf(a.valPos(a.get("validCardTypes")), "empty-attribute", "validCardTypes is empty: no card could ever be accepted")
		}
	}
	s.SecurityCode = a.bool("securityCode", true)
	s.PostalCode = "false"
	if a.has("postalCode") {
		a.tmpl("postalCode", &s.PostalCode, false)
		s.PostalCode = strings.TrimSpace(s.PostalCode)
		if s.PostalCode == "" {
			s.PostalCode = "false"
		}
	}
	s.MinPostalCodeLength = a.int("minPostalCodeLength", defaultMinPostalCodeLen, 1, pan.MaxPostalCodeLength)
	s.MaxAttempts = a.int("maxAttempts", defaultPayMaxAttempts, 1, 10)
	s.Timeout = a.dur("timeout", defaultPayTimeout, minTimeout, maxTimeout)
	s.TokenType = defaultPayTokenType
	if v, ok := a.str("tokenType"); ok {
		s.TokenType = strings.TrimSpace(v)
		if !contains(tokenTypes, s.TokenType) {
			p.sink.errorf(a.valPos(a.get("tokenType")), "bad-token-type", "tokenType %q: use one-time or reusable%s", v, suggest.DidYouMean(v, tokenTypes))
		}
	}
	s.Var = a.varName("var", false, defaultPayVar)
	s.Method = payment.MethodCharge
	if v, ok := a.str("method"); ok {
		s.Method = strings.TrimSpace(v)
		switch s.Method {
		case payment.MethodCharge:
		case payment.MethodAuthorize:
			if strings.TrimSpace(s.Amount) == "" || s.Amount == "0" {
				p.sink.errorf(a.valPos(a.get("method")), "missing-attribute", "method=\"authorize\" holds an amount: give amount and currency")
			}
		default:
			p.sink.errorf(a.valPos(a.get("method")), "bad-method", "method %q: use charge or authorize (an amount of 0 tokenizes)%s", v,
				suggest.DidYouMean(v, []string{payment.MethodCharge, payment.MethodAuthorize}))
			s.Method = payment.MethodCharge
		}
	}
	s.PaymentMethod = payment.PaymentMethodCard
	if v, ok := a.str("paymentMethod"); ok {
		s.PaymentMethod = strings.TrimSpace(v)
		if !contains(payment.PaymentMethods, s.PaymentMethod) {
			p.sink.errorf(a.valPos(a.get("paymentMethod")), "bad-payment-method", "paymentMethod %q: use %s%s", v,
				strings.Join(payment.PaymentMethods, " or "), suggest.DidYouMean(v, payment.PaymentMethods))
			s.PaymentMethod = payment.PaymentMethodCard
		}
	}
	if v, ok := a.str("bankAccountType"); ok {
		s.BankAccountType = strings.TrimSpace(v)
		switch {
		case !s.IsBank():
			p.sink.errorf(a.valPos(a.get("bankAccountType")), "bad-attribute", "bankAccountType applies to paymentMethod=\"ach-debit\" only")
		case !contains(payment.BankAccountTypes, s.BankAccountType):
			p.sink.errorf(a.valPos(a.get("bankAccountType")), "bad-bank-account-type", "bankAccountType %q: use %s%s", v,
				strings.Join(payment.BankAccountTypes, ", "), suggest.DidYouMean(v, payment.BankAccountTypes))
		}
	}
	if s.IsBank() {
		if s.BankAccountType == "" || !contains(payment.BankAccountTypes, s.BankAccountType) {
			s.BankAccountType = payment.BankConsumerChecking
		}
		if strings.TrimSpace(s.Amount) == "" || s.Amount == "0" {
			p.sink.errorf(n.pos, "missing-attribute", "a bank account (ach-debit) is debited: give amount and currency")
		}
		for _, attr := range []string{"validCardTypes", "securityCode", "postalCode", "minPostalCodeLength"} {
			if a.has(attr) {
				p.sink.warnf(a.valPos(a.get(attr)), "unused-attribute", "%s is about cards: a bank account (ach-debit) has none", attr)
			}
		}
		s.SecurityCode, s.PostalCode = false, "false"
	}
	for _, c := range n.children {
		switch c.name {
		case "Prompt":
			if pp := p.parsePayPrompt(c, s); pp != nil {
				s.Prompts = append(s.Prompts, pp)
			}
		case "Route":
			ra := p.attrs(c, "connector")
			p.leaf(c)
			if name := strings.TrimSpace(ra.requiredNonEmpty("connector")); name != "" {
				route = append(route, name)
				routeAt = append(routeAt, ra.valPos(ra.get("connector")))
			}
		case "Invoice":
			if s.Invoice != nil {
				p.sink.errorf(c.pos, "duplicate-element", "<Pay> takes one <Invoice>")
				continue
			}
			s.Invoice = p.parseInvoice(c)
		default:
			p.sink.errorf(c.pos, "unknown-element", "<Pay> holds <Prompt>, <Route> and <Invoice> elements, not <%s>%s", c.name,
				suggest.DidYouMean(c.name, []string{"Prompt", "Route", "Invoice"}))
		}
	}
	s.Route = route
	seen := map[string]bool{}
	for i := range s.Route {
		p.plan.setPos(&s.Route[i], routeAt[i])
		if seen[s.Route[i]] {
			p.sink.errorf(routeAt[i], "duplicate-connector", "connector %q is twice in the route: a payment is offered to each connector once", s.Route[i])
		}
		seen[s.Route[i]] = true
	}
	p.checkInvoiceTotal(s.Invoice, s.Amount, s.Currency)
	return s
}

// parseInvoice reads <Invoice id description> with its <Line> and <Metadata> children.
func (p *parser) parseInvoice(n *xnode) *InvoiceDecl {
	a := p.attrs(n, "id", "description")
	p.noText(n)
	inv := &InvoiceDecl{Pos: n.pos}
	a.tmpl("id", &inv.ID, true)
	if strings.TrimSpace(inv.ID) == "" && a.has("id") {
		p.sink.errorf(a.valPos(a.get("id")), "empty-attribute", "id on <Invoice> is empty")
	}
	a.tmpl("description", &inv.Description, false)
	for _, c := range n.children {
		ca := p.attrs(c, "description", "quantity", "amount", "name", "value")
		p.leaf(c)
		switch c.name {
		case "Line":
			for _, bad := range []string{"name", "value"} {
				if ca.has(bad) {
					p.sink.errorf(ca.valPos(ca.get(bad)), "unknown-attribute", "<Line> has description, quantity and amount, not %s", bad)
				}
			}
			l := InvoiceLineDecl{Quantity: ca.int("quantity", 1, 1, 1_000_000)}
			ca.tmpl("description", &l.Description, true)
			ca.tmpl("amount", &l.Amount, true)
			if v := strings.TrimSpace(l.Amount); isLiteral(v) && v != "" && (!isDecimal(v) || v[0] == '-' || v[0] == '+') {
				p.sink.errorf(ca.valPos(ca.get("amount")), "bad-amount", "amount %q is not a decimal amount such as 12.50 (or a $(Variable))", l.Amount)
			}
			inv.Lines = append(inv.Lines, l)
		case "Metadata":
			for _, bad := range []string{"description", "quantity", "amount"} {
				if ca.has(bad) {
					p.sink.errorf(ca.valPos(ca.get(bad)), "unknown-attribute", "<Metadata> has name and value, not %s", bad)
				}
			}
			m := InvoiceMeta{Name: strings.TrimSpace(ca.requiredNonEmpty("name"))}
			ca.tmpl("value", &m.Value, true)
			inv.Metadata = append(inv.Metadata, m)
		default:
			p.sink.errorf(c.pos, "unknown-element", "<Invoice> holds <Line> and <Metadata> elements, not <%s>%s", c.name,
				suggest.DidYouMean(c.name, []string{"Line", "Metadata"}))
		}
	}
	return inv
}

// checkInvoiceTotal: when the amounts are literal, an invoice's lines add up to the payment.
func (p *parser) checkInvoiceTotal(inv *InvoiceDecl, amount, currency string) {
	if inv == nil || len(inv.Lines) == 0 || !isLiteral(amount) || !isLiteral(currency) || strings.TrimSpace(amount) == "" {
		return
	}
	want, err := payment.ParseAmount(amount, currency)
	if err != nil {
		return
	}
	var total int64
	for _, l := range inv.Lines {
		if !isLiteral(l.Amount) {
			return
		}
		a, err := payment.ParseAmount(l.Amount, currency)
		if err != nil {
			p.sink.errorf(inv.Pos, "bad-amount", "invoice line %q: amount %s", l.Description, errText(err, payment.ErrAmount))
			return
		}
		total += int64(l.Quantity) * a.Minor
	}
	if total != want.Minor {
		p.sink.errorf(inv.Pos, "invoice-total", "the invoice's lines add up to %s %s, the payment is %s %s",
			payment.FormatAmount(payment.Amount{Minor: total, Currency: currency}), currency, payment.FormatAmount(want), currency)
	}
}

// opElement is the element of a payment operation.
func opElement(kind string) string {
	switch kind {
	case payment.OpCapture:
		return "Capture"
	case payment.OpVoid:
		return "Void"
	}
	return "Refund"
}

// parsePaymentOp reads <Capture payment amount final var>, <Void payment var> and <Refund
// payment amount reason var>.
func (p *parser) parsePaymentOp(n *xnode) Step {
	kind := map[string]string{"Capture": payment.OpCapture, "Void": payment.OpVoid, "Refund": payment.OpRefund}[n.name]
	allowed := []string{"payment", "var"}
	switch kind {
	case payment.OpCapture:
		allowed = append(allowed, "amount", "final")
	case payment.OpRefund:
		allowed = append(allowed, "amount", "reason")
	}
	a := p.attrs(n, allowed...)
	p.leaf(n)
	s := &PaymentOpStep{stepBase: stepBase{Pos: n.pos}, Kind: kind}
	a.tmpl("payment", &s.Payment, true)
	if a.tmpl("amount", &s.Amount, false) {
		if v := strings.TrimSpace(s.Amount); isLiteral(v) && (v == "" || !isDecimal(v) || v[0] == '-' || v[0] == '+') {
			p.sink.errorf(a.valPos(a.get("amount")), "bad-amount", "amount %q is not a decimal amount such as 12.50 (or a $(Variable)); leave it out for all that is left", s.Amount)
		}
	}
	s.Final = a.bool("final", false)
	a.tmpl("reason", &s.Reason, false)
	s.Var = a.varName("var", false, n.name)
	return s
}

// cardTypes checks a list of card type names.
func (p *parser) cardTypes(a *attrSet, name string, v []string) []string {
	out := make([]string, 0, len(v))
	for _, t := range v {
		if !contains(cardTypes, t) {
			p.sink.errorf(a.valPos(a.get(name)), "bad-card-type", "%s: unknown card type %q%s (known: %s)", name, t, suggest.DidYouMean(t, cardTypes), strings.Join(cardTypes, " "))
			continue
		}
		if contains(out, t) {
			continue
		}
		out = append(out, t)
	}
	return out
}

func (p *parser) parsePayPrompt(n *xnode, pay *PayStep) *PayPrompt {
	a := p.attrs(n, "for", "errorType", "cardType", "attempt", "prompt", "requireMatchingInputs")
	p.noText(n)
	pp := &PayPrompt{Pos: n.pos}
	pp.For = strings.TrimSpace(a.requiredNonEmpty("for"))
	if pp.For != "" && !contains(payFields, pp.For) {
		p.sink.errorf(a.valPos(a.get("for")), "bad-pay-field", "for=%q: use one of %s%s", pp.For, strings.Join(payFields, ", "), suggest.DidYouMean(pp.For, payFields))
	}
	if v, ok := a.list("errorType"); ok {
		for _, e := range v {
			switch {
			case !contains(payErrorTypes, e):
				p.sink.errorf(a.valPos(a.get("errorType")), "bad-error-type", "unknown errorType %q%s", e, suggest.DidYouMean(e, payErrorTypes))
			case pp.For != "" && contains(payFields, pp.For) && !contains(fieldErrorTypes[pp.For], e):
				p.sink.errorf(a.valPos(a.get("errorType")), "bad-error-type", "errorType %s never happens for %s (possible: %s)", e, pp.For, strings.Join(fieldErrorTypes[pp.For], " "))
			default:
				pp.ErrorType = append(pp.ErrorType, e)
			}
		}
	}
	if v, ok := a.list("cardType"); ok {
		pp.CardType = p.cardTypes(a, "cardType", v)
	}
	if v, ok := a.list("attempt"); ok {
		for _, s := range v {
			k, err := strconv.Atoi(s)
			if err != nil || k < 1 || k > 10 {
				p.sink.errorf(a.valPos(a.get("attempt")), "bad-number", "attempt %q: a whole number 1–10", s)
				continue
			}
			if k > pay.MaxAttempts {
				p.sink.warnf(a.valPos(a.get("attempt")), "unused-prompt", "attempt %d is more than maxAttempts %d: this prompt never plays", k, pay.MaxAttempts)
			}
			pp.Attempt = append(pp.Attempt, k)
		}
	}
	// The prompt attribute, then <Say> children (at least one of the two).
	pp.Prompt = a.promptItems("prompt", false)
	for _, c := range n.children {
		if c.name != "Say" {
			p.sink.errorf(c.pos, "unexpected-element", "<Prompt> holds only <Say> elements (found <%s>)%s", c.name, suggest.DidYouMean(c.name, []string{"Say"}))
			continue
		}
		pp.Prompt = append(pp.Prompt, PromptItem{Say: p.parseSay(c, p.attrs(c, "voice", "language", "rate"))})
	}
	if !a.has("prompt") && len(pp.Prompt) == 0 {
		p.sink.errorf(n.pos, "missing-attribute", "<Prompt> needs a prompt attribute or a <Say>")
	}
	pp.RequireMatching = a.bool("requireMatchingInputs", false)
	switch {
	case pp.RequireMatching && !contains(bankFields, pp.For):
		p.sink.errorf(a.valPos(a.get("requireMatchingInputs")), "bad-attribute",
			"requireMatchingInputs applies to bank-routing-number and bank-account-number (a bank account keyed twice), not %s", pp.For)
	case pp.RequireMatching && len(pp.ErrorType) > 0:
		p.sink.errorf(a.valPos(a.get("requireMatchingInputs")), "bad-attribute",
			"a requireMatchingInputs prompt asks for the second entry: it takes no errorType (give the mismatch its own <Prompt errorType=\"input-matching-failed\">)")
	case contains(payFields, pp.For) && !slices.Contains(pay.Fields(), pp.For):
		p.sink.warnf(n.pos, "unused-prompt", "this <Prompt> for %s never plays: the Pay step does not ask for it", pp.For)
	}
	return pp
}

func (p *parser) parseLink(n *xnode) Step {
	a := p.attrs(n, "connector", "to", "amount", "currency", "reference", "ttl", "session", "var")
	p.noText(n)
	var invoice *InvoiceDecl
	for _, c := range n.children {
		if c.name != "Invoice" || invoice != nil {
			p.sink.errorf(c.pos, "unexpected-element", "<SendPaymentLink> takes one <Invoice> child at most (found <%s>)", c.name)
			continue
		}
		invoice = p.parseInvoice(c)
	}
	s := &SendPaymentLinkStep{stepBase: stepBase{Pos: n.pos}}
	s.Connector = strings.TrimSpace(a.requiredNonEmpty("connector"))
	p.recordConnectorRef(a, &s.Connector)
	if a.tmpl("to", &s.To, true) {
		s.To = strings.TrimSpace(s.To)
		if isLiteral(s.To) && !parseE164(s.To) {
			p.sink.errorf(a.valPos(a.get("to")), "bad-number", "to=%q is not an E.164 mobile number (e.g. +447700900123)", s.To)
		}
	}
	a.tmpl("amount", &s.Amount, false)
	a.tmpl("currency", &s.Currency, false)
	s.Currency = strings.TrimSpace(s.Currency)
	p.checkCurrency(a, "currency", s.Currency)
	a.tmpl("reference", &s.Reference, false)
	a.tmpl("session", &s.Session, false)
	p.checkAmount(a, s.Amount, s.Currency, true)
	if s.Session == "" && (s.Amount == "" || s.Currency == "") {
		p.sink.errorf(n.pos, "missing-attribute", "<SendPaymentLink> without a session starts a new one: it needs amount and currency")
	}
	s.TTL = a.dur("ttl", payment.DefaultLinkTTL, time.Minute, payment.MaxLinkTTL)
	s.Var = a.varName("var", false, defaultLinkVar)
	s.Invoice = invoice
	p.checkInvoiceTotal(s.Invoice, s.Amount, s.Currency)
	return s
}

func (p *parser) parseSet(n *xnode) Step {
	a := p.attrs(n, "var", "value")
	p.leaf(n)
	s := &SetStep{stepBase: stepBase{Pos: n.pos}}
	s.Var = a.varName("var", true, "")
	if s.Var != "" {
		p.plan.setPos(&s.Var, a.valPos(a.get("var")))
	}
	a.tmpl("value", &s.Value, true)
	return s
}

// parseTest parses the test attribute of If/ElseIf into a Branch.
func (p *parser) parseTest(n *xnode, a *attrSet) *Branch {
	b := &Branch{Pos: n.pos}
	x := a.get("test")
	if x == nil {
		p.sink.errorf(n.pos, "missing-attribute", "<%s> needs a test attribute", n.name)
		return b
	}
	v, _ := a.str("test")
	e, err := parseExpr(v)
	pos := a.valPos(x)
	if err != nil {
		at := pos
		var ee *exprError
		if errors.As(err, &ee) {
			at.Col += ee.Col - 1
			err = errors.New(ee.Msg)
		}
		p.sink.errorf(at, "bad-expression", "test: %v", err)
		return b
	}
	b.Test = e
	p.plan.setPos(&e.Source, pos)
	return b
}

func (p *parser) parseIf(n *xnode) Step {
	a := p.attrs(n, "test")
	p.noText(n)
	s := &IfStep{stepBase: stepBase{Pos: n.pos}}
	first := p.parseTest(n, a)
	s.Branches = append(s.Branches, first)
	var own []*xnode
	i := 0
	for ; i < len(n.children) && n.children[i].name != "ElseIf" && n.children[i].name != "Else"; i++ {
		own = append(own, n.children[i])
	}
	first.Steps = p.steps(own, false)
	sawElse := false
	for ; i < len(n.children); i++ {
		c := n.children[i]
		switch c.name {
		case "ElseIf":
			if sawElse {
				p.sink.errorf(c.pos, "misplaced-element", "<ElseIf> after <Else>: <Else> must come last")
			}
			ca := p.attrs(c, "test")
			p.noText(c)
			b := p.parseTest(c, ca)
			b.Steps = p.steps(c.children, false)
			s.Branches = append(s.Branches, b)
		case "Else":
			if sawElse {
				p.sink.errorf(c.pos, "duplicate-element", "<If> has two <Else>")
				continue
			}
			sawElse = true
			p.attrs(c)
			p.noText(c)
			s.Else = p.steps(c.children, false)
		default:
			p.sink.errorf(c.pos, "misplaced-element", "<%s> after <ElseIf>/<Else>: the If's own steps come first, then ElseIf, then Else", c.name)
		}
	}
	return s
}

func (p *parser) parseSwitch(n *xnode) Step {
	a := p.attrs(n, "value")
	p.noText(n)
	s := &SwitchStep{stepBase: stepBase{Pos: n.pos}}
	a.tmpl("value", &s.Value, true)
	seen := map[string]Pos{}
	sawDefault := false
	for _, c := range n.children {
		switch c.name {
		case "Case":
			if sawDefault {
				p.sink.errorf(c.pos, "misplaced-element", "<Case> after <Default>: <Default> must come last")
			}
			ca := p.attrs(c, "is")
			p.noText(c)
			cs := &Case{Pos: c.pos}
			if v, ok := ca.list("is"); !ok {
				p.sink.errorf(c.pos, "missing-attribute", "<Case> needs an is attribute")
			} else if len(v) == 0 {
				p.sink.errorf(ca.valPos(ca.get("is")), "empty-attribute", "is on <Case> is empty")
			} else {
				for _, w := range v {
					if first, dup := seen[w]; dup {
						p.sink.warnf(ca.valPos(ca.get("is")), "duplicate-case", "value %q is already handled by the <Case> at %d:%d: this one never matches it", w, first.Line, first.Col)
						continue
					}
					seen[w] = c.pos
					cs.Is = append(cs.Is, w)
				}
			}
			cs.Steps = p.steps(c.children, false)
			s.Cases = append(s.Cases, cs)
		case "Default":
			if sawDefault {
				p.sink.errorf(c.pos, "duplicate-element", "<Switch> has two <Default>")
				continue
			}
			sawDefault = true
			p.attrs(c)
			p.noText(c)
			s.Default = p.steps(c.children, false)
		default:
			p.sink.errorf(c.pos, "unknown-element", "<Switch> holds <Case> and <Default>, not <%s>%s", c.name, suggest.DidYouMean(c.name, []string{"Case", "Default"}))
		}
	}
	return s
}

func (p *parser) parseGoto(n *xnode) Step {
	a := p.attrs(n, "label")
	p.leaf(n)
	s := &GotoStep{stepBase: stepBase{Pos: n.pos}}
	s.Label = strings.TrimSpace(a.requiredNonEmpty("label"))
	if x := a.get("label"); x != nil {
		p.plan.setPos(&s.Label, a.valPos(x))
	}
	return s
}

func (p *parser) parseLabel(n *xnode) Step {
	a := p.attrs(n, "name")
	p.leaf(n)
	return &LabelStep{stepBase: stepBase{Pos: n.pos}, Name: strings.TrimSpace(a.requiredNonEmpty("name"))}
}

func (p *parser) parseTransfer(n *xnode) Step {
	a := p.attrs(n, "to")
	p.leaf(n)
	s := &TransferStep{stepBase: stepBase{Pos: n.pos}}
	if a.tmpl("to", &s.To, true) {
		s.To = strings.TrimSpace(s.To)
		if isLiteral(s.To) && !parseE164(s.To) && !strings.HasPrefix(s.To, "sip:") && !strings.HasPrefix(s.To, "sips:") && !strings.HasPrefix(s.To, "tel:") {
			p.sink.errorf(a.valPos(a.get("to")), "bad-transfer", "Transfer to=%q: a SIP URI (sip:…), tel: URI or E.164 number", s.To)
		}
		if strings.ContainsAny(s.To, "\r\n\x00<>\" ") {
			p.sink.errorf(a.valPos(a.get("to")), "bad-transfer", "Transfer to contains characters not allowed in a SIP header")
		}
	}
	return s
}

func (p *parser) parseHangup(n *xnode) Step {
	a := p.attrs(n, "reason")
	p.leaf(n)
	s := &HangupStep{stepBase: stepBase{Pos: n.pos}, Reason: defaultHangupReason}
	if v, ok := a.str("reason"); ok {
		s.Reason = strings.TrimSpace(v)
		if s.Reason == "" || len(s.Reason) > 64 || strings.IndexFunc(s.Reason, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
			p.sink.errorf(a.valPos(a.get("reason")), "bad-reason", "Hangup reason must be 1–64 printable characters")
		}
	}
	return s
}

// clipText shortens text quoted in a message.
func clipText(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

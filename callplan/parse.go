package callplan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/paybridge/paybridge/internal/suggest"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
)

// Parse reads one plan from src. name is the file name used in positions (and, without its
// directory and .xml, the plan's default name); env reads the process environment for
// #(env:…) (nil = no environment). Parse always runs the validator too, so the diagnostics are
// complete; the plan is returned even when it has errors (for tools), but only a plan
// whose Diagnostics have no errors may run.
func Parse(name string, src []byte, env func(string) string) (*Plan, Diagnostics) {
	sink := &diagSink{}
	sum := sha256.Sum256(src)
	// A UTF-8 byte-order mark (Windows editors write one) is not part of the document;
	// positions count from after it, as editors show them.
	m := newSrcMap(name, bytes.TrimPrefix(src, []byte("\xef\xbb\xbf")))
	base := strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	plan := &Plan{Name: base, File: name, Hash: hex.EncodeToString(sum[:]), Labels: map[string]int{}}
	root := parseXMLTree(m, sink)
	if root != nil {
		p := &parser{m: m, sink: sink, env: env, plan: plan, dir: filepath.Dir(name)}
		p.parsePlan(root)
		if !sink.ds.HasErrors() || len(plan.Flow) > 0 {
			sink.ds = append(sink.ds, validatePlan(plan)...)
		}
	}
	sink.ds = dedupe(sink.ds)
	sink.ds.Sort()
	return plan, sink.ds
}

// ParseFile reads and parses the plan at path.
func ParseFile(path string, env func(string) string) (*Plan, Diagnostics) {
	fi, err := os.Stat(path)
	if err == nil && fi.Size() > MaxPlanBytes {
		return nil, Diagnostics{{Pos: Pos{File: path}, Severity: SeverityError, Code: "too-large", Message: fmt.Sprintf("plan is larger than %d bytes", MaxPlanBytes), Err: ErrInvalidPlan}}
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, Diagnostics{{Pos: Pos{File: path}, Severity: SeverityError, Code: "read", Message: fmt.Sprintf("cannot read plan: %v", unwrapPathError(err)), Err: ErrInvalidPlan}}
	}
	return Parse(path, src, env)
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// dedupe drops repeated identical diagnostics (one cause seen by two checks).
func dedupe(ds Diagnostics) Diagnostics {
	seen := map[string]bool{}
	out := ds[:0]
	for _, d := range ds {
		k := d.String()
		if !seen[k] {
			seen[k] = true
			out = append(out, d)
		}
	}
	return out
}

type parser struct {
	m    *srcMap
	sink *diagSink
	env  func(string) string
	plan *Plan
	dir  string // the plan file's directory, for relative prompt dirs

	inDial int // > 0 while the children of a <Dial> are parsed
}

// --- attribute access ---

// attrSet reads the attributes of one element, after checking that each is known.
type attrSet struct {
	p *parser
	n *xnode
}

// attrs reports every attribute of n not in allowed (with a did-you-mean) and every value
// that looks like a secret or a card number, and returns an accessor.
func (p *parser) attrs(n *xnode, allowed ...string) *attrSet {
	for _, a := range n.attrs {
		if strings.HasPrefix(a.name, "xmlns") {
			continue
		}
		if !contains(allowed, a.name) {
			if len(allowed) == 0 {
				p.sink.errorf(a.pos, "unknown-attribute", "<%s> takes no attributes (found %s)", n.name, a.name)
			} else {
				p.sink.errorf(a.pos, "unknown-attribute", "unknown attribute %s on <%s>%s", a.name, n.name, suggest.DidYouMean(a.name, allowed))
			}
		}
		p.checkLiteral(a.value, a.valOff, a.name)
	}
	return &attrSet{p: p, n: n}
}

// checkLiteral refuses secrets and card numbers typed into a plan.
func (p *parser) checkLiteral(raw string, off int, what string) {
	if s := findSecret(raw); s != "" {
		p.sink.errorf(p.m.pos(off), "secret", "%s holds %s: secrets belong in the environment, use #(env:NAME)", what, s)
	}
	if k := pan.FindCard(stripRefs(raw)); k >= 0 {
		p.sink.errorf(p.m.pos(off), "card-data", "%s holds what looks like a card number: card data never appears in a plan", what)
	}
}

func (a *attrSet) get(name string) *xattr { return a.n.attr(name) }

// has reports whether the attribute is present.
func (a *attrSet) has(name string) bool { return a.n.attr(name) != nil }

// valPos is the position of the value of attribute x.
func (a *attrSet) valPos(x *xattr) Pos { return a.p.m.pos(x.valOff) }

// str returns the env-expanded value and whether the attribute is present.
func (a *attrSet) str(name string) (string, bool) {
	x := a.get(name)
	if x == nil {
		return "", false
	}
	return a.p.expandEnv(x.value, func(k int) Pos { return a.p.m.pos(x.valOff + k) }), true
}

// required returns the value, reporting a missing attribute.
func (a *attrSet) required(name string) string {
	v, ok := a.str(name)
	if !ok {
		a.p.sink.errorf(a.n.pos, "missing-attribute", "<%s> needs a %s attribute", a.n.name, name)
	}
	return v
}

// requiredNonEmpty is required, and also refuses "".
func (a *attrSet) requiredNonEmpty(name string) string {
	v, ok := a.str(name)
	if !ok {
		a.p.sink.errorf(a.n.pos, "missing-attribute", "<%s> needs a %s attribute", a.n.name, name)
	} else if strings.TrimSpace(v) == "" && !strings.Contains(a.get(name).value, "#(") {
		// (An empty #(env:…) has been reported already.)
		a.p.sink.errorf(a.valPos(a.get(name)), "empty-attribute", "%s on <%s> is empty", name, a.n.name)
	}
	return v
}

// tmpl stores a template attribute into *dst, checking its $(…) syntax and recording its
// position. required reports a missing attribute.
func (a *attrSet) tmpl(name string, dst *string, required bool) bool {
	x := a.get(name)
	if x == nil {
		if required {
			a.p.sink.errorf(a.n.pos, "missing-attribute", "<%s> needs a %s attribute", a.n.name, name)
		}
		return false
	}
	v, _ := a.str(name)
	*dst = v
	pos := a.valPos(x)
	a.p.plan.setPos(dst, pos)
	a.p.checkTemplate(v, pos, name)
	return true
}

// checkTemplate reports malformed $(…) references in a template.
func (p *parser) checkTemplate(v string, pos Pos, what string) {
	if _, err := templateVars(v); err != nil {
		te, _ := err.(*templateError)
		at := pos
		if te != nil {
			at.Col += te.Offset
			err = te.Err
		}
		p.sink.errorf(at, "variable-syntax", "%s: %s", what, errText(err, errVarSyntax))
	}
}

// varName reads an attribute naming a variable to assign.
func (a *attrSet) varName(name string, required bool, def string) string {
	v, ok := a.str(name)
	if !ok {
		if required {
			a.p.sink.errorf(a.n.pos, "missing-attribute", "<%s> needs a %s attribute", a.n.name, name)
		}
		return def
	}
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "$(") && strings.HasSuffix(v, ")") {
		a.p.sink.errorf(a.valPos(a.get(name)), "bad-variable", "%s names the variable to set: write %s=%q, not %q", name, name, strings.TrimSuffix(strings.TrimPrefix(v, "$("), ")"), v)
		return def
	}
	if err := checkVarName(v); err != nil {
		a.p.sink.errorf(a.valPos(a.get(name)), "bad-variable", "%s: %v", name, err)
		return def
	}
	return v
}

// dur reads a duration attribute.
func (a *attrSet) dur(name string, def, lo, hi time.Duration) time.Duration {
	v, ok := a.str(name)
	if !ok {
		return def
	}
	d, err := parseDurationAttr(strings.TrimSpace(v), lo, hi)
	if err != nil {
		a.p.sink.errorf(a.valPos(a.get(name)), "bad-duration", "%s: %v", name, err)
		return def
	}
	return d
}

// int reads an integer attribute within [lo, hi].
func (a *attrSet) int(name string, def, lo, hi int) int {
	v, ok := a.str(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		a.p.sink.errorf(a.valPos(a.get(name)), "bad-number", "%s: %q is not a whole number", name, v)
		return def
	}
	if n < lo || n > hi {
		a.p.sink.errorf(a.valPos(a.get(name)), "bad-number", "%s: %d out of range %d–%d", name, n, lo, hi)
		return def
	}
	return n
}

// bool reads a true/false attribute.
func (a *attrSet) bool(name string, def bool) bool {
	v, ok := a.str(name)
	if !ok {
		return def
	}
	switch strings.TrimSpace(v) {
	case "true":
		return true
	case "false":
		return false
	}
	a.p.sink.errorf(a.valPos(a.get(name)), "bad-boolean", "%s: %q must be true or false", name, v)
	return def
}

// list reads a space-separated list.
func (a *attrSet) list(name string) ([]string, bool) {
	v, ok := a.str(name)
	if !ok {
		return nil, false
	}
	return strings.Fields(v), true
}

// promptList reads a space-separated list of prompt names (each may be a template).
func (a *attrSet) promptList(name string, required bool) []string {
	x := a.get(name)
	if x == nil {
		if required {
			a.p.sink.errorf(a.n.pos, "missing-attribute", "<%s> needs a %s attribute", a.n.name, name)
		}
		return nil
	}
	v, _ := a.str(name)
	fields := strings.Fields(v)
	if len(fields) == 0 {
		a.p.sink.errorf(a.valPos(x), "empty-attribute", "%s on <%s> names no prompt", name, a.n.name)
		return nil
	}
	out := make([]string, len(fields))
	copy(out, fields)
	pos := a.valPos(x)
	for i := range out {
		a.p.plan.setPos(&out[i], pos)
		a.p.checkTemplate(out[i], pos, name)
		if isLiteral(out[i]) && !validPromptName(out[i]) {
			a.p.sink.errorf(pos, "bad-prompt", "%s: prompt name %q: use letters, digits, '-', '_' and '.', without the .wav extension", name, out[i])
		}
	}
	return out
}

// validPromptName: the names the prompt loader accepts (1–128 letters, digits, '-', '_', '.',
// not starting with '.'), resolved inside a prompt directory, never outside it. A name is
// written without its .wav extension.
func validPromptName(s string) bool {
	if s == "" || len(s) > 128 || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return !strings.HasSuffix(strings.ToLower(s), ".wav")
}

// --- children and text ---

// noText reports character data inside an element that takes none.
func (p *parser) noText(n *xnode) {
	if n.textOff >= 0 {
		p.sink.errorf(p.m.pos(n.textOff), "unexpected-text", "unexpected text inside <%s>", n.name)
	}
}

// text returns the trimmed, env-expanded text of an element with no children, and its
// position.
func (p *parser) text(n *xnode) (string, Pos) {
	p.attrs(n)
	return p.textOf(n)
}

// textOf is text for an element whose attributes its caller checks.
func (p *parser) textOf(n *xnode) (string, Pos) {
	for _, c := range n.children {
		p.sink.errorf(c.pos, "unknown-element", "<%s> takes text, not elements (found <%s>)", n.name, c.name)
	}
	raw := n.textValue()
	off := n.textOff
	if off < 0 {
		off = 0
	}
	pos := p.m.pos(off)
	if n.textOff < 0 {
		pos = n.pos
	}
	p.checkLiteral(raw, off, "<"+n.name+">")
	return p.expandEnv(raw, func(k int) Pos { return p.m.pos(off + k) }), pos
}

// textTmpl stores an element's text as a template.
func (p *parser) textTmpl(n *xnode, dst *string) {
	v, pos := p.text(n)
	*dst = v
	p.plan.setPos(dst, pos)
	p.checkTemplate(v, pos, "<"+n.name+">")
}

// errText is err's message without the sentinel's prefix ("callplan: …: ").
func errText(err, sentinel error) string {
	return strings.TrimPrefix(err.Error(), sentinel.Error()+": ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// --- the plan ---

var planChildren = []string{"Match", "Prompts", "Merchant", "Connector", "Flow"}

func (p *parser) parsePlan(root *xnode) {
	if root.name != "CallPlan" {
		p.sink.errorf(root.pos, "root", "the root element must be <CallPlan>, not <%s>%s", root.name, suggest.DidYouMean(root.name, []string{"CallPlan"}))
		return
	}
	pl := p.plan
	pl.Pos = root.pos
	a := p.attrs(root, "name", "version", "srtp")
	if v, ok := a.str("name"); ok {
		pl.Name = strings.TrimSpace(v)
		if pl.Name == "" {
			p.sink.errorf(a.valPos(a.get("name")), "empty-attribute", "name on <CallPlan> is empty")
		}
	}
	pl.Version, _ = a.str("version")
	if v, ok := a.str("srtp"); ok {
		switch v = strings.TrimSpace(v); v {
		case SRTPOff, SRTPOptional, SRTPRequired:
			pl.SRTP = v
		default:
			p.sink.errorf(a.valPos(a.get("srtp")), "bad-value", "srtp %q on <CallPlan>: use off, optional or required", clipText(v))
		}
	}
	p.noText(root)
	var flows int
	for _, c := range root.children {
		switch c.name {
		case "Match":
			p.parseMatch(c)
		case "Prompts":
			if pl.Prompts != nil {
				p.sink.errorf(c.pos, "duplicate-element", "<Prompts> given twice (first at %d:%d)", pl.Prompts.Pos.Line, pl.Prompts.Pos.Col)
				continue
			}
			p.parsePrompts(c)
		case "Merchant":
			if pl.Merchant != nil {
				p.sink.errorf(c.pos, "duplicate-element", "<Merchant> given twice: a plan has one (a <Connector> may have its own)")
				continue
			}
			pl.Merchant = p.parseMerchant(c)
		case "Connector":
			p.parseConnector(c)
		case "Flow":
			flows++
			if flows > 1 {
				p.sink.errorf(c.pos, "duplicate-element", "<Flow> given twice: a plan has one flow")
				continue
			}
			p.noText(c)
			p.attrs(c)
			pl.Flow = p.steps(c.children, true)
			p.indexLabels()
		default:
			if stepParsers[c.name] != nil {
				p.sink.errorf(c.pos, "misplaced-element", "<%s> is a step: put it inside <Flow>", c.name)
			} else {
				p.sink.errorf(c.pos, "unknown-element", "unknown element <%s> in <CallPlan>%s", c.name, suggest.DidYouMean(c.name, planChildren))
			}
		}
	}
	if flows == 0 {
		p.sink.errorf(root.pos, "missing-element", "<CallPlan> has no <Flow>")
	}
	for _, c := range pl.Connectors {
		if c.Spec.Merchant == nil {
			c.Spec.Merchant = pl.Merchant
		}
	}
}

func (p *parser) parseMatch(n *xnode) {
	a := p.attrs(n, "number")
	p.noText(n)
	if !p.plan.MatchPos.IsValid() {
		p.plan.MatchPos = n.pos
	}
	v := a.requiredNonEmpty("number")
	x := a.get("number")
	for _, num := range strings.Fields(v) {
		switch {
		case num == "*":
			p.plan.Fallback = true
		case parseE164(num):
			if contains(p.plan.Match, num) {
				p.sink.warnf(a.valPos(x), "duplicate-number", "number %s is listed twice", num)
				continue
			}
			p.plan.Match = append(p.plan.Match, num)
		default:
			p.sink.errorf(a.valPos(x), "bad-number", "number %q in <Match> is not E.164 (+ then 2–15 digits, e.g. +441632960000) or *", num)
		}
	}
}

func (p *parser) parsePrompts(n *xnode) {
	a := p.attrs(n, "lang", "dir")
	p.noText(n)
	d := &PromptsDecl{Pos: n.pos}
	d.Lang, _ = a.str("lang")
	if dir, ok := a.str("dir"); ok && strings.TrimSpace(dir) != "" {
		dir = strings.TrimSpace(dir)
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(p.dir, dir)
		}
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs // so that a later change of working directory cannot move it
		}
		d.Dir = dir
	}
	p.plan.Prompts = d
}

func (p *parser) parseConnector(n *xnode) {
	a := p.attrs(n, "name", "type", "baseUrl", "account", "timeout", "apiKey", "capture")
	p.noText(n)
	d := &ConnectorDecl{Pos: n.pos}
	s := &d.Spec
	s.Plan = p.plan.Name
	// Where each problem CheckConnector may find is reported, and which the XML checks have
	// reported already (a required attribute that is missing).
	at := map[string]Pos{}
	reported := map[string]bool{}
	attrAt := func(attrs *attrSet, key, name string) {
		if x := attrs.get(name); x != nil {
			at[key] = attrs.valPos(x)
		}
	}
	// checked marks key as reported when reading it reported a problem (#(env:…) unset, …).
	checked := func(key string, read func()) {
		before := len(p.sink.ds)
		read()
		if len(p.sink.ds) > before {
			reported[key] = true
		}
	}
	checked("name", func() { s.Name = strings.TrimSpace(a.requiredNonEmpty("name")) })
	if old := p.plan.Connector(s.Name); old != nil && s.Name != "" {
		p.sink.errorf(n.pos, "duplicate-connector", "connector %q is declared twice (first at %d:%d)", s.Name, old.Pos.Line, old.Pos.Col)
	}
	if t, ok := a.str("type"); ok {
		s.Type = strings.TrimSpace(t)
		attrAt(a, "type", "type")
	}
	checked("baseUrl", func() { s.BaseURL = strings.TrimRight(strings.TrimSpace(a.requiredNonEmpty("baseUrl")), "/") })
	attrAt(a, "baseUrl", "baseUrl")
	checked("account", func() { s.Account, _ = a.str("account") })
	s.Account = strings.TrimSpace(s.Account)
	attrAt(a, "account", "account")
	s.Timeout = a.dur("timeout", 0, 100*time.Millisecond, 5*time.Minute)
	if v, ok := a.str("capture"); ok {
		s.Capture = strings.TrimSpace(v)
		attrAt(a, "capture", "capture")
	}
	if x := a.get("apiKey"); x != nil {
		checked("apiKey", func() {
			p.secretAttr(x, "apiKey")
			s.APIKey, _ = a.str("apiKey")
		})
		attrAt(a, "apiKey", "apiKey")
	}
	for _, c := range n.children {
		switch c.name {
		case "ClientCredentials":
			if s.ClientCredentials != nil {
				p.sink.errorf(c.pos, "duplicate-element", "<ClientCredentials> given twice")
				continue
			}
			at["ClientCredentials"] = c.pos
			ca := p.attrs(c, "tokenUrl", "clientId", "clientSecret", "scope")
			attrAt(ca, "ClientCredentials.tokenUrl", "tokenUrl")
			checked("ClientCredentials", func() { s.ClientCredentials = p.parseClientCredentials(c, ca, s.BaseURL) })
			if reported["ClientCredentials"] {
				reported["ClientCredentials.clientId"], reported["ClientCredentials.clientSecret"] = true, true
				reported["ClientCredentials.tokenUrl"] = true
			}
		case "Merchant":
			if s.Merchant != nil {
				p.sink.errorf(c.pos, "duplicate-element", "<Merchant> given twice")
				continue
			}
			s.Merchant = p.parseMerchant(c)
		case "BasicAuth":
			if s.BasicAuth != nil {
				p.sink.errorf(c.pos, "duplicate-element", "<BasicAuth> given twice")
				continue
			}
			at["BasicAuth"] = c.pos
			ca := p.attrs(c, "username", "password")
			p.noText(c)
			b := &payment.BasicAuth{}
			checked("BasicAuth.username", func() { b.Username = ca.required("username") })
			checked("BasicAuth.password", func() {
				if x := ca.get("password"); x != nil {
					p.secretAttr(x, "password")
				}
				b.Password = ca.required("password")
			})
			s.BasicAuth = b
		default:
			p.sink.errorf(c.pos, "unknown-element", "unknown element <%s> in <Connector>%s", c.name, suggest.DidYouMean(c.name, []string{"ClientCredentials", "BasicAuth", "Merchant"}))
		}
	}
	if s.Type == "" {
		s.Type = payment.DefaultConnectorType
	}
	// What it takes to open the connector is decided in one place, which the gateway applies
	// when it opens it. A baseUrl that could not be read leaves it unknown whether the
	// connector is the sandbox, so nothing more can be said.
	var probs []payment.ConnectorProblem
	if !reported["baseUrl"] {
		_, probs = payment.CheckConnector(*s)
	}
	for _, pr := range probs {
		if reported[pr.Attr] {
			continue
		}
		pos, ok := at[pr.Attr]
		if !ok {
			pos = n.pos
		}
		p.sink.errorf(pos, connectorProblemCode(pr), "%s", pr.Message)
	}
	p.plan.Connectors = append(p.plan.Connectors, d)
}

// connectorProblemCode is the validation check code of a connector problem.
func connectorProblemCode(pr payment.ConnectorProblem) string {
	switch {
	case pr.Attr == "type":
		return "bad-connector-type"
	case pr.Attr == "capture":
		return "bad-capture"
	case pr.Attr == "baseUrl" || pr.Attr == "ClientCredentials.tokenUrl":
		return "connector-url"
	case pr.Kind == payment.ProblemConflict:
		return "connector-auth"
	case pr.Attr == "ClientCredentials" || pr.Attr == "BasicAuth":
		return "missing-element"
	}
	return "missing-attribute"
}

func (p *parser) parseClientCredentials(n *xnode, a *attrSet, baseURL string) *payment.ClientCredentials {
	p.noText(n)
	cc := &payment.ClientCredentials{}
	if v, ok := a.str("tokenUrl"); ok && strings.TrimSpace(v) != "" {
		cc.TokenURL = strings.TrimSpace(v) // checked by CheckConnector
	} else if baseURL != "" && baseURL != "sandbox" {
		// For the sandbox, TokenURL stays "": whoever opens the connector knows its address.
		cc.TokenURL = baseURL + defaultConnectorTokenPath
	}
	cc.ClientID = a.requiredNonEmpty("clientId")
	if x := a.get("clientSecret"); x != nil {
		p.secretAttr(x, "clientSecret")
	}
	cc.ClientSecret = a.requiredNonEmpty("clientSecret")
	cc.Scope, _ = a.str("scope")
	return cc
}

// secretAttr requires a secret-bearing attribute to come from the environment.
func (p *parser) secretAttr(x *xattr, name string) {
	if !isEnvOnly(x.value) && findSecret(x.value) == "" {
		p.sink.errorf(p.m.pos(x.valOff), "secret", "%s must come from the environment: write %s=\"#(env:NAME)\"", name, name)
	}
}

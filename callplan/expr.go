package callplan

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/paybridge/paybridge/payment"
)

// Expr is a parsed `test` expression of <If>/<ElseIf>.
//
// Grammar (keywords are lower case; whitespace separates tokens):
//
//	expr    = or
//	or      = and { "or" and }
//	and     = unary { "and" unary }
//	unary   = "not" unary | primary
//	primary = "(" expr ")" | "empty(" operand ")" | operand [ cmp operand ]
//	cmp     = "==" | "!=" | "<" | "<=" | ">" | ">="
//	operand = $(Name) | 'text' | "text" | number | word
//
// A comparison whose two sides both read as decimals ("200", "-1.50") compares numerically;
// otherwise it compares the strings byte by byte. An operand on its own is true when it is
// neither empty nor "false" nor "0". empty(x) is true when x is the empty string. A word is
// a bare string such as success or too-many-failed-attempts.
type Expr struct {
	Source string
	root   exprNode
}

// exprError is a syntax error in an expression. Col is the 1-based byte column in Source.
type exprError struct {
	Col int
	Msg string
}

func (e *exprError) Error() string { return fmt.Sprintf("column %d: %s", e.Col, e.Msg) }

// Unwrap lets errors.Is(err, errExpr) match.
func (e *exprError) Unwrap() error { return errExpr }

// parseExpr parses src. On error it returns an *exprError.
func parseExpr(src string) (*Expr, error) {
	p := &exprParser{src: src}
	if err := p.lex(); err != nil {
		return nil, err
	}
	if len(p.toks) == 1 { // only EOF
		return nil, &exprError{Col: 1, Msg: "empty expression"}
	}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, &exprError{Col: t.col, Msg: fmt.Sprintf("unexpected %s", t)}
	}
	return &Expr{Source: src, root: n}, nil
}

// mustParseExpr is parseExpr that panics on error, for tests and static tables.
func mustParseExpr(src string) *Expr {
	e, err := parseExpr(src)
	if err != nil {
		panic(err)
	}
	return e
}

// String returns the source text.
func (e *Expr) String() string { return e.Source }

// Eval evaluates the expression. lookup returns a variable's value and whether it is set;
// an unset variable is the empty string.
func (e *Expr) Eval(lookup func(string) (string, bool)) (bool, error) {
	if e == nil || e.root == nil {
		return false, fmt.Errorf("%w: nil expression", errExpr)
	}
	return e.root.eval(lookup), nil
}

// Vars returns the variable names the expression reads, in order of first appearance.
func (e *Expr) vars() []string {
	if e == nil || e.root == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	e.root.vars(func(n string) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	})
	return out
}

// varRefs returns each variable reference with its 1-based column in Source.
func (e *Expr) varRefs() []varRef {
	if e == nil || e.root == nil {
		return nil
	}
	var out []varRef
	e.root.refs(&out)
	return out
}

// varRef is one $(Name) in a template or expression: Offset is the 0-based byte offset of
// its "$" in the source text.
type varRef struct {
	Name   string
	Offset int
}

// --- evaluation tree ---

type exprNode interface {
	eval(lookup func(string) (string, bool)) bool
	vars(func(string))
	refs(*[]varRef)
}

type operand struct {
	lit    string
	varRef string // non-empty: a variable
	off    int
}

func (o *operand) value(lookup func(string) (string, bool)) string {
	if o.varRef == "" {
		return o.lit
	}
	v, _ := lookup(o.varRef)
	return v
}

type truthNode struct{ x *operand }

func (n *truthNode) eval(l func(string) (string, bool)) bool {
	v := n.x.value(l)
	return v != "" && v != "false" && v != "0"
}
func (n *truthNode) vars(f func(string)) { opVars(n.x, f) }
func (n *truthNode) refs(o *[]varRef)    { opRefs(n.x, o) }

type emptyNode struct{ x *operand }

func (n *emptyNode) eval(l func(string) (string, bool)) bool { return n.x.value(l) == "" }
func (n *emptyNode) vars(f func(string))                     { opVars(n.x, f) }
func (n *emptyNode) refs(o *[]varRef)                        { opRefs(n.x, o) }

type cmpNode struct {
	op   string
	a, b *operand
}

func (n *cmpNode) eval(l func(string) (string, bool)) bool {
	c := compareValues(n.a.value(l), n.b.value(l))
	switch n.op {
	case "==":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	default: // ">="
		return c >= 0
	}
}
func (n *cmpNode) vars(f func(string)) { opVars(n.a, f); opVars(n.b, f) }
func (n *cmpNode) refs(o *[]varRef)    { opRefs(n.a, o); opRefs(n.b, o) }

type notNode struct{ x exprNode }

func (n *notNode) eval(l func(string) (string, bool)) bool { return !n.x.eval(l) }
func (n *notNode) vars(f func(string))                     { n.x.vars(f) }
func (n *notNode) refs(o *[]varRef)                        { n.x.refs(o) }

type boolNode struct {
	and  bool
	a, b exprNode
}

func (n *boolNode) eval(l func(string) (string, bool)) bool {
	if n.and {
		return n.a.eval(l) && n.b.eval(l)
	}
	return n.a.eval(l) || n.b.eval(l)
}
func (n *boolNode) vars(f func(string)) { n.a.vars(f); n.b.vars(f) }
func (n *boolNode) refs(o *[]varRef)    { n.a.refs(o); n.b.refs(o) }

func opVars(o *operand, f func(string)) {
	if o.varRef != "" {
		f(o.varRef)
	}
}

func opRefs(o *operand, out *[]varRef) {
	if o.varRef != "" {
		*out = append(*out, varRef{Name: o.varRef, Offset: o.off})
	}
}

// compareValues compares numerically when both are decimals, else as strings.
func compareValues(a, b string) int {
	if isDecimal(a) && isDecimal(b) {
		return cmpDecimal(a, b)
	}
	return strings.Compare(a, b)
}

// cmpDecimal compares two strings that satisfy isDecimal, exactly and without allocating.
func cmpDecimal(a, b string) int {
	an, ai, af := splitDecimal(a)
	bn, bi, bf := splitDecimal(b)
	aZero, bZero := ai == "" && af == "", bi == "" && bf == ""
	switch {
	case aZero && bZero:
		return 0
	case an != bn || aZero || bZero:
		// Different signs, or one side zero: the sign of each side decides.
		if sa, sb := signOf(an, aZero), signOf(bn, bZero); sa < sb {
			return -1
		}
		return 1
	}
	c := cmpMagnitude(ai, af, bi, bf)
	if an {
		return -c
	}
	return c
}

func signOf(neg, zero bool) int {
	switch {
	case zero:
		return 0
	case neg:
		return -1
	}
	return 1
}

// splitDecimal returns the sign, the integer digits without leading zeros and the fraction
// digits without trailing zeros.
func splitDecimal(s string) (neg bool, intPart, frac string) {
	if s[0] == '+' || s[0] == '-' {
		neg = s[0] == '-'
		s = s[1:]
	}
	intPart, frac, _ = strings.Cut(s, ".")
	return neg, strings.TrimLeft(intPart, "0"), strings.TrimRight(frac, "0")
}

func cmpMagnitude(ai, af, bi, bf string) int {
	if len(ai) != len(bi) {
		if len(ai) < len(bi) {
			return -1
		}
		return 1
	}
	if c := strings.Compare(ai, bi); c != 0 {
		return c
	}
	return strings.Compare(af, bf)
}

// parseDecimalRat accepts [+-]digits[.digits] only (no exponents, no fractions).
func parseDecimalRat(s string) (*big.Rat, bool) {
	if !isDecimal(s) {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

// isDecimal is payment.IsDecimal: amounts and plan numbers share one syntax.
func isDecimal(s string) bool { return payment.IsDecimal(s) }

// --- lexer and parser ---

type tokKind int

const (
	tokEOF tokKind = iota
	tokLParen
	tokRParen
	tokOp
	tokAnd
	tokOr
	tokNot
	tokEmpty // "empty" followed by "("
	tokVar
	tokString
	tokWord
)

type token struct {
	kind tokKind
	text string // operator, literal value or variable name
	col  int    // 1-based
	off  int    // 0-based
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "end of expression"
	case tokVar:
		return "$(" + t.text + ")"
	case tokString:
		return fmt.Sprintf("string %q", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

type exprParser struct {
	src  string
	toks []token
	i    int
}

func (p *exprParser) lex() error {
	s := p.src
	i := 0
	for i < len(s) {
		c := s[i]
		start := i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == '(':
			p.toks = append(p.toks, token{kind: tokLParen, text: "(", col: i + 1, off: i})
			i++
		case c == ')':
			p.toks = append(p.toks, token{kind: tokRParen, text: ")", col: i + 1, off: i})
			i++
		case c == '=' || c == '!' || c == '<' || c == '>':
			op := string(c)
			if i+1 < len(s) && s[i+1] == '=' {
				op += "="
			}
			if op == "=" || op == "!" {
				return &exprError{Col: i + 1, Msg: fmt.Sprintf("unknown operator %q (use == or !=)", op)}
			}
			p.toks = append(p.toks, token{kind: tokOp, text: op, col: i + 1, off: i})
			i += len(op)
		case c == '$':
			name, n, err := scanVarRef(s[i:])
			if err != nil {
				return &exprError{Col: i + 1, Msg: err.Error()}
			}
			p.toks = append(p.toks, token{kind: tokVar, text: name, col: i + 1, off: i})
			i += n
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return &exprError{Col: i + 1, Msg: "unterminated string"}
			}
			p.toks = append(p.toks, token{kind: tokString, text: s[i+1 : i+1+j], col: i + 1, off: i})
			i += j + 2
		case isWordByte(c):
			for i < len(s) && isWordByte(s[i]) {
				i++
			}
			w := s[start:i]
			t := token{kind: tokWord, text: w, col: start + 1, off: start}
			switch w {
			case "and":
				t.kind = tokAnd
			case "or":
				t.kind = tokOr
			case "not":
				t.kind = tokNot
			case "empty":
				if j := skipSpace(s, i); j < len(s) && s[j] == '(' {
					t.kind = tokEmpty
				}
			}
			p.toks = append(p.toks, t)
		case c == '&' || c == '|':
			return &exprError{Col: i + 1, Msg: fmt.Sprintf("unknown operator %q (use and / or)", string(c))}
		default:
			return &exprError{Col: i + 1, Msg: fmt.Sprintf("unexpected character %q", c)}
		}
	}
	p.toks = append(p.toks, token{kind: tokEOF, col: len(s) + 1, off: len(s)})
	return nil
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == '.' || c == '+' || c == ':' || c == '@' || c == '/'
}

func (p *exprParser) peek() token { return p.toks[p.i] }

func (p *exprParser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

const maxExprDepth = 64

func (p *exprParser) parseOr() (exprNode, error) { return p.parseOrDepth(0) }

func (p *exprParser) parseOrDepth(depth int) (exprNode, error) {
	a, err := p.parseAnd(depth)
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tokOr {
		p.next()
		b, err := p.parseAnd(depth)
		if err != nil {
			return nil, err
		}
		a = &boolNode{and: false, a: a, b: b}
	}
	return a, nil
}

func (p *exprParser) parseAnd(depth int) (exprNode, error) {
	a, err := p.parseUnary(depth)
	if err != nil {
		return nil, err
	}
	for p.peek().kind == tokAnd {
		p.next()
		b, err := p.parseUnary(depth)
		if err != nil {
			return nil, err
		}
		a = &boolNode{and: true, a: a, b: b}
	}
	return a, nil
}

func (p *exprParser) parseUnary(depth int) (exprNode, error) {
	if depth > maxExprDepth {
		return nil, &exprError{Col: p.peek().col, Msg: "expression nested too deeply"}
	}
	if p.peek().kind == tokNot {
		p.next()
		x, err := p.parseUnary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &notNode{x: x}, nil
	}
	return p.parsePrimary(depth)
}

func (p *exprParser) parsePrimary(depth int) (exprNode, error) {
	t := p.peek()
	switch t.kind {
	case tokLParen:
		p.next()
		x, err := p.parseOrDepth(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokRParen {
			return nil, &exprError{Col: c.col, Msg: fmt.Sprintf("expected ) to close ( at column %d, found %s", t.col, c)}
		}
		return x, nil
	case tokEmpty:
		p.next()
		p.next() // "("
		x, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tokRParen {
			return nil, &exprError{Col: c.col, Msg: fmt.Sprintf("expected ) after empty(…, found %s", c)}
		}
		return &emptyNode{x: x}, nil
	}
	a, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tokOp {
		return &truthNode{x: a}, nil
	}
	op := p.next()
	b, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	if p.peek().kind == tokOp {
		t := p.peek()
		return nil, &exprError{Col: t.col, Msg: "comparisons do not chain: use and"}
	}
	return &cmpNode{op: op.text, a: a, b: b}, nil
}

func (p *exprParser) parseOperand() (*operand, error) {
	t := p.next()
	switch t.kind {
	case tokVar:
		return &operand{varRef: t.text, off: t.off}, nil
	case tokString, tokWord:
		return &operand{lit: t.text, off: t.off}, nil
	case tokEOF:
		return nil, &exprError{Col: t.col, Msg: "expression ends too early: expected a value"}
	}
	return nil, &exprError{Col: t.col, Msg: fmt.Sprintf("expected a value, found %s", t)}
}

// scanVarRef reads "$(Name)" at the start of s and returns the name and the bytes consumed.
// Names are letters, digits, '_', '.' and '|', starting with a letter or '_'.
func scanVarRef(s string) (string, int, error) {
	if len(s) < 2 || s[0] != '$' || s[1] != '(' {
		return "", 0, fmt.Errorf("%w: expected $( to start a variable", errVarSyntax)
	}
	end := strings.IndexByte(s, ')')
	if end < 0 {
		return "", 0, fmt.Errorf("%w: unterminated $( (missing ))", errVarSyntax)
	}
	name := s[2:end]
	if err := checkVarName(name); err != nil {
		return "", 0, err
	}
	return name, end + 1, nil
}

// checkVarName validates a variable name.
func checkVarName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty variable name $()", errVarSyntax)
	}
	if len(name) > 128 {
		return fmt.Errorf("%w: variable name longer than 128 characters", errVarSyntax)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		if i == 0 && !letter {
			return fmt.Errorf("%w: variable name %q must start with a letter or _", errVarSyntax, name)
		}
		if !letter && !(c >= '0' && c <= '9') && c != '.' && c != '|' {
			return fmt.Errorf("%w: variable name %q: character %q not allowed (letters, digits, _ . |)", errVarSyntax, name, c)
		}
	}
	return nil
}

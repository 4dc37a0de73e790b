package callplan

import (
	"slices"
	"strings"
	"time"

	"github.com/paybridge/paybridge/internal/suggest"
)

// DialStep is <Dial>: places a second call leg and bridges the caller to it (TwiML's Dial
// with Sip nouns). The targets are tried in order until one answers; the plan goes on after
// the bridged leg ends (the agent hung up), or ends with the call when the caller hangs up.
//
//	<Dial timeout="30s" callerId="$(Call.To)" record="record-from-answer-dual" var="Dial">
//	  <Sip agent="alice" username="pbx-user" password="#(env:PBX_PASSWORD)">sip:alice@pbx.example</Sip>
//	  <Sip>sip:queue@pbx.example</Sip>
//	  <Pay mode="agent" connector="provider" amount="$(Amount)" currency="GBP"/>
//	</Dial>
//
// The engine publishes dialOutputs under Var: $(Dial.Result) is one of DialResults.
type DialStep struct {
	stepBase
	Targets   []*SipTarget
	Timeout   time.Duration // how long each target may ring; default 30s
	TimeLimit time.Duration // longest bridge; default 4h
	CallerID  string        // template: the From user of the new leg; "" = the caller's number
	Record    string        // one of DialRecordModes; default do-not-record
	RingTone  string        // us | uk | eu: played while a target rings without early media; default us
	Var       string        // default "Dial"
	// Pay, when set, is a <Pay mode="agent"> child: the payment opened on the bridged call as
	// soon as a target answers, taken field by field by the agent (Payments API or console).
	Pay *PayStep
}

// SipTarget is <Sip>: one SIP URI to dial.
type SipTarget struct {
	Pos      Pos
	URI      string // template: sip: or sips: URI
	Username string // digest credentials towards the PBX (401/407); "" = none
	Password string // from #(env:…) only
	// Agent names who answers there: the id a per-agent API token is bound to. Default: the
	// URI's user part.
	Agent string
}

// The record modes of Dial (TwiML's names). The -dual modes write the caller and the agent on
// two channels; "from-ringing" starts while the target rings (its early media included).
const (
	DialRecordNone         = "do-not-record"
	DialRecordAnswer       = "record-from-answer"
	DialRecordAnswerDual   = "record-from-answer-dual"
	DialRecordRinging      = "record-from-ringing"
	DialRecordRingingDual  = "record-from-ringing-dual"
	defaultDialTimeout     = 30 * time.Second
	defaultDialTimeLimit   = 4 * time.Hour
	defaultDialVar         = "Dial"
	defaultDialRingTone    = "us"
	maxDialTargets         = 10
	minDialTimeout         = 5 * time.Second
	maxDialTimeout         = 10 * time.Minute
	maxDialTimeLimit       = 24 * time.Hour
	minDialTimeLimit       = time.Minute
	dialCallerIDMaxLength  = 64
	PayModeAgent           = "agent"
	dialTargetAgentPattern = "letters, digits, '.', '_', '-' and '@'"
)

// DialRecordModes are the values of Dial's record attribute.
var DialRecordModes = []string{DialRecordNone, DialRecordAnswer, DialRecordAnswerDual, DialRecordRinging, DialRecordRingingDual}

// dialRingTones are the ring-back styles (media.RingTones).
var dialRingTones = []string{"us", "uk", "eu"}

// Dial results ($(Dial.Result)).
const (
	DialAnswered     = "answered"
	DialBusy         = "busy"
	DialNoAnswer     = "no-answer"
	DialFailed       = "failed"
	DialCallerHungUp = "caller-hung-up"
)

// DialResults lists every $(Dial.Result).
var DialResults = []string{DialAnswered, DialBusy, DialNoAnswer, DialFailed, DialCallerHungUp}

// dialOutputs are the variables Dial publishes under its Var: Result, the SIP status of the
// last target tried, who answered (Agent, Target) and how long the bridge lasted in seconds.
var dialOutputs = []string{"Result", "SipStatus", "Agent", "Target", "Duration"}

// Outputs returns the variables the step publishes, as suffixes of its Var.
func (s *DialStep) Outputs() []string { return slices.Clone(dialOutputs) }

// RecordDual reports whether the recording has the two legs on two channels.
func (s *DialStep) RecordDual() bool { return strings.HasSuffix(s.Record, "-dual") }

// RecordFromRinging reports whether recording starts when the target rings.
func (s *DialStep) RecordFromRinging() bool {
	return strings.HasPrefix(s.Record, "record-from-ringing")
}

func (*DialStep) StepName() string { return "Dial" }

func (p *parser) parseDial(n *xnode) Step {
	a := p.attrs(n, "timeout", "timeLimit", "callerId", "record", "ringTone", "var")
	p.noText(n)
	s := &DialStep{stepBase: stepBase{Pos: n.pos}}
	s.Timeout = a.dur("timeout", defaultDialTimeout, minDialTimeout, maxDialTimeout)
	s.TimeLimit = a.dur("timeLimit", defaultDialTimeLimit, minDialTimeLimit, maxDialTimeLimit)
	if a.tmpl("callerId", &s.CallerID, false) {
		s.CallerID = strings.TrimSpace(s.CallerID)
		if strings.ContainsAny(stripRefs(s.CallerID), "\r\n\x00<>\"@: ;") || len(s.CallerID) > dialCallerIDMaxLength {
			p.sink.errorf(a.valPos(a.get("callerId")), "bad-caller-id", "callerId %q: a number or SIP user part (no spaces, quotes, <>, @, : or ;)", clipText(s.CallerID))
		}
	}
	s.Record = DialRecordNone
	if v, ok := a.str("record"); ok {
		s.Record = strings.TrimSpace(v)
		if !contains(DialRecordModes, s.Record) {
			p.sink.errorf(a.valPos(a.get("record")), "bad-value", "record %q: use %s%s", v, strings.Join(DialRecordModes, ", "), suggest.DidYouMean(s.Record, DialRecordModes))
			s.Record = DialRecordNone
		}
	}
	s.RingTone = defaultDialRingTone
	if v, ok := a.str("ringTone"); ok {
		s.RingTone = strings.TrimSpace(v)
		if !contains(dialRingTones, s.RingTone) {
			p.sink.errorf(a.valPos(a.get("ringTone")), "bad-value", "ringTone %q: use us, uk or eu%s", v, suggest.DidYouMean(s.RingTone, dialRingTones))
			s.RingTone = defaultDialRingTone
		}
	}
	s.Var = a.varName("var", false, defaultDialVar)
	for _, c := range n.children {
		switch c.name {
		case "Sip":
			if t := p.parseSip(c); t != nil {
				s.Targets = append(s.Targets, t)
			}
		case "Pay":
			if s.Pay != nil {
				p.sink.errorf(c.pos, "duplicate-element", "<Dial> holds one <Pay mode=\"agent\"> (the payment opened when the agent answers)")
				continue
			}
			p.inDial++
			st := p.parsePay(c)
			p.inDial--
			pay, _ := st.(*PayStep)
			if pay != nil && pay.Mode != PayModeAgent {
				p.sink.errorf(c.pos, "bad-pay-mode", "a <Pay> inside <Dial> is taken by the agent on the bridged call: write mode=\"agent\"")
			}
			s.Pay = pay
		default:
			p.sink.errorf(c.pos, "unknown-element", "<Dial> holds <Sip> and <Pay mode=\"agent\">, not <%s>%s", c.name, suggest.DidYouMean(c.name, []string{"Sip", "Pay"}))
		}
	}
	switch {
	case len(s.Targets) == 0:
		p.sink.errorf(n.pos, "missing-element", "<Dial> has no <Sip>: nothing to dial")
	case len(s.Targets) > maxDialTargets:
		p.sink.errorf(s.Targets[maxDialTargets].Pos, "too-many", "<Dial> tries at most %d <Sip> targets", maxDialTargets)
	}
	return s
}

func (p *parser) parseSip(n *xnode) *SipTarget {
	a := p.attrs(n, "username", "password", "agent")
	t := &SipTarget{Pos: n.pos}
	v, pos := p.textOf(n)
	t.URI = strings.TrimSpace(v)
	p.plan.setPos(&t.URI, pos)
	p.checkTemplate(t.URI, pos, "<Sip>")
	switch {
	case t.URI == "":
		p.sink.errorf(pos, "bad-sip-uri", "<Sip> is empty: give a SIP URI such as sip:agent@pbx.example")
	case strings.ContainsAny(stripRefs(t.URI), "\r\n\x00<>\" "):
		p.sink.errorf(pos, "bad-sip-uri", "<Sip> contains characters not allowed in a SIP URI")
	case isLiteral(t.URI) && !strings.HasPrefix(t.URI, "sip:") && !strings.HasPrefix(t.URI, "sips:"):
		p.sink.errorf(pos, "bad-sip-uri", "<Sip> %q: a sip: or sips: URI (sip:user@host[:port])", clipText(t.URI))
	case isLiteral(t.URI) && !strings.Contains(t.URI, "@") && strings.Count(t.URI, ":") < 1:
		p.sink.errorf(pos, "bad-sip-uri", "<Sip> %q: name a host", clipText(t.URI))
	}
	t.Username, _ = a.str("username")
	t.Username = strings.TrimSpace(t.Username)
	if x := a.get("password"); x != nil {
		p.secretAttr(x, "password")
		t.Password, _ = a.str("password")
		if t.Username == "" {
			p.sink.errorf(n.pos, "missing-attribute", "<Sip> has a password but no username")
		}
	}
	if strings.ContainsAny(t.Username, "\r\n\x00\"") {
		p.sink.errorf(n.pos, "bad-value", "<Sip> username holds characters not allowed in a SIP header")
	}
	if v, ok := a.str("agent"); ok {
		t.Agent = strings.TrimSpace(v)
		if !validAgentID(t.Agent) {
			p.sink.errorf(a.valPos(a.get("agent")), "bad-value", "agent %q: 1–64 of %s", clipText(v), dialTargetAgentPattern)
		}
	}
	return t
}

// validAgentID: the ids agent tokens are bound to.
func validAgentID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-@", c) >= 0) {
			return false
		}
	}
	return true
}

// ValidAgentID reports whether s can name an agent (Sip agent="…", agent tokens).
func ValidAgentID(s string) bool { return validAgentID(s) }

// checkDials: the payment a <Dial> opens is taken by paybridge from the caller's keypad while
// the agent is on the line, so its connector cannot be one whose provider takes the card on
// its own capture line; and it plays no prompts.
func (v *validator) checkDials() {
	walkSteps(v.plan.Flow, func(s Step) bool {
		d, ok := s.(*DialStep)
		if !ok || d.Pay == nil {
			return true
		}
		if c := v.plan.Connector(d.Pay.Connector); c != nil && c.Spec.CapturesOnProviderLine() {
			v.sink.errorf(v.plan.posOf(&d.Pay.Connector, d.Pay.Pos), "bad-pay-mode",
				"<Pay mode=\"agent\"> takes the card from the caller's keypad with the agent on the line; connector %q has capture=\"provider\" (the provider's own line takes it)", d.Pay.Connector)
		}
		for _, pp := range d.Pay.Prompts {
			v.sink.warnf(pp.Pos, "unused-prompt", "<Prompt> inside <Pay mode=\"agent\"> never plays: the agent guides the caller")
		}
		return true
	})
}

package callplan

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/paybridge/paybridge/internal/suggest"
	"github.com/paybridge/paybridge/payment"
)

// validatePlan checks a parsed plan's meaning: labels, reachability, connector references and
// variables. Parse runs it; it is exported for plans built in code. The checks:
//
//   - every Goto label and ApiInteraction onError names a top-level <Label>;
//   - no step follows a step that always ends the call or jumps (Hangup, Goto, or an
//     If/Switch whose every branch does) unless it is a Label;
//   - every connector a step names is declared;
//   - every $(Name) can be set: by a built-in, or by some step of the plan (error
//     otherwise), and by a step earlier in document order (warning otherwise);
//   - a step's published variables are only the ones it publishes (Pay.Result, … —
//     "Pay.CardNumber" is an error: card data is never a variable);
//   - nothing assigns a built-in or a step's published variable, and Gather does not
//     collect card data;
//   - no ApiInteraction URL takes its scheme, host or port from untrusted data (a response,
//     the caller) unless the step says untrustedHost="true" (validate_http.go).
func validatePlan(p *Plan) Diagnostics {
	v := &validator{plan: p, sink: &diagSink{}, labels: p.Labels}
	if v.labels == nil { // a plan built in code: index its top-level labels
		v.labels = map[string]int{}
		for i, s := range p.Flow {
			if l, ok := s.(*LabelStep); ok {
				v.labels[l.Name] = i
			}
		}
	}
	v.checkPlan()
	v.checkLabels(p.Flow)
	v.checkReachable(p.Flow, true)
	v.checkConnectors()
	v.checkDials()
	v.checkVariables()
	v.checkAPIOrigins()
	v.sink.ds.Sort()
	return v.sink.ds
}

type validator struct {
	plan   *Plan
	sink   *diagSink
	labels map[string]int
}

func (v *validator) checkPlan() {
	p := v.plan
	if len(p.Match) == 0 && !p.Fallback && p.Pos.IsValid() {
		v.sink.warnf(p.Pos, "no-match", "plan %q has no <Match>: no call will run it", p.Name)
	}
	if len(p.Flow) == 0 && p.Pos.IsValid() {
		v.sink.warnf(p.Pos, "empty-flow", "plan %q has an empty <Flow>: calls are answered and hung up", p.Name)
	}
}

func (v *validator) labelNames() []string {
	names := make([]string, 0, len(v.labels))
	for n := range v.labels {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (v *validator) checkLabels(flow []Step) {
	used := map[string]bool{}
	defer func() {
		for _, s := range flow {
			if l, ok := s.(*LabelStep); ok && l.Name != "" && !used[l.Name] {
				v.sink.warnf(l.Pos, "unused-label", "label %q is never jumped to (no Goto or onError names it)", l.Name)
			}
		}
	}()
	walkSteps(flow, func(s Step) bool {
		switch s := s.(type) {
		case *GotoStep:
			used[s.Label] = true
			if _, ok := v.labels[s.Label]; !ok && s.Label != "" {
				v.sink.errorf(v.plan.posOf(&s.Label, s.Pos), "missing-label", "Goto label %q: no <Label name=%q> at the top level of <Flow>%s", s.Label, s.Label, suggest.DidYouMean(s.Label, v.labelNames()))
			}
		case *APIInteractionStep:
			used[s.OnError] = true
			if _, ok := v.labels[s.OnError]; !ok && s.OnError != "" {
				v.sink.errorf(v.plan.posOf(&s.OnError, s.Pos), "missing-label", "onError label %q: no <Label name=%q> at the top level of <Flow>%s", s.OnError, s.OnError, suggest.DidYouMean(s.OnError, v.labelNames()))
			}
		}
		return true
	})
}

// terminates reports whether running s never falls through to the next step.
func terminates(s Step) bool {
	switch s := s.(type) {
	case *HangupStep, *GotoStep:
		return true
	case *IfStep:
		if s.Else == nil || !listTerminates(s.Else) {
			return false
		}
		for _, b := range s.Branches {
			if !listTerminates(b.Steps) {
				return false
			}
		}
		return true
	case *SwitchStep:
		if s.Default == nil || !listTerminates(s.Default) {
			return false
		}
		for _, c := range s.Cases {
			if !listTerminates(c.Steps) {
				return false
			}
		}
		return true
	}
	return false
}

func listTerminates(steps []Step) bool {
	for _, s := range steps {
		if terminates(s) {
			return true
		}
	}
	return false
}

func (v *validator) checkReachable(steps []Step, top bool) {
	var ender Step    // the step that ended the flow of this list, nil while reachable
	reported := false // one report per unreachable run
	for _, s := range steps {
		if _, isLabel := s.(*LabelStep); isLabel && top {
			ender, reported = nil, false
		} else if ender != nil && !reported {
			ep := ender.StepPos()
			why := "ends the call"
			switch ender.StepName() {
			case "Goto":
				why = "jumps away"
			case "If", "Switch":
				why = "never falls through: every branch ends the call or jumps"
			}
			v.sink.errorf(s.StepPos(), "unreachable", "unreachable <%s>: the <%s> at %d:%d %s", s.StepName(), ender.StepName(), ep.Line, ep.Col, why)
			reported = true
		}
		for _, c := range stepChildren(s) {
			v.checkReachable(c, false)
		}
		if ender == nil && terminates(s) {
			ender = s
		}
	}
}

func (v *validator) checkConnectors() {
	names := make([]string, 0, len(v.plan.Connectors))
	for _, c := range v.plan.Connectors {
		names = append(names, c.Spec.Name)
	}
	check := func(s Step, name *string) {
		if *name == "" {
			return
		}
		if v.plan.Connector(*name) == nil {
			v.sink.errorf(v.plan.posOf(name, s.StepPos()), "missing-connector", "<%s> uses connector %q, which is not declared%s", s.StepName(), *name, suggest.DidYouMean(*name, names))
		}
	}
	used := map[string]bool{}
	walkSteps(v.plan.Flow, func(s Step) bool {
		switch s := s.(type) {
		case *PayStep:
			if len(s.Route) == 0 {
				check(s, &s.Connector)
			}
			for i := range s.Route {
				name := &s.Route[i]
				check(s, name)
				used[*name] = true
				// What the step asks of a connector is the connector type's to offer: the same
				// rule the gateway applies when it pays.
				if d := v.plan.Connector(*name); d != nil {
					if err := payment.CheckPayMethod(d.Spec.Type, s.Method, s.PaymentMethod); err != nil {
						v.sink.errorf(v.plan.posOf(name, s.Pos), "connector-capability", "<Pay> with connector %q: %s",
							*name, strings.TrimPrefix(err.Error(), payment.ErrUnsupported.Error()+": "))
					}
				}
			}
		case *SendPaymentLinkStep:
			check(s, &s.Connector)
			used[s.Connector] = true
		case *AuthorizeStep:
			check(s, &s.Connector)
			used[s.Connector] = true
		case *PaymentOpStep:
			v.checkOpStep(s)
		}
		return true
	})
	for _, c := range v.plan.Connectors {
		if !used[c.Spec.Name] && c.Spec.Name != "" {
			v.sink.warnf(c.Pos, "unused-connector", "connector %q is declared but no Pay, SendPaymentLink or Authorize uses it", c.Spec.Name)
		}
	}
	v.checkLinkAmounts()
}

// checkOpStep: a <Capture> needs a payment that holds money, a <Void> one whose provider can
// release it; when the payment is a Pay step's of this plan ($(Pay.SessionId)), that step's
// connectors must offer the operation and the Pay must have authorised (for Capture and Void).
func (v *validator) checkOpStep(s *PaymentOpStep) {
	refs, err := templateVars(s.Payment)
	if err != nil || len(refs) != 1 || strings.TrimSpace(s.Payment) != "$("+refs[0].Name+")" {
		return
	}
	prefix, ok := strings.CutSuffix(refs[0].Name, ".SessionId")
	if !ok {
		return
	}
	// Several Pay steps may publish under one var (in the branches of a Switch): the operation
	// may be about the payment of any of them, so it is an error only when none can be right.
	var pays, holders []*PayStep
	walkSteps(v.plan.Flow, func(st Step) bool {
		if p, ok := st.(*PayStep); ok && (p.Var == prefix || p.Var == "" && prefix == defaultPayVar) {
			pays = append(pays, p)
			if p.Method == payment.MethodAuthorize {
				holders = append(holders, p)
			}
		}
		return true
	})
	if len(pays) == 0 {
		return
	}
	if s.Kind != payment.OpRefund {
		if len(holders) == 0 {
			v.sink.errorf(s.Pos, "payment-method", "<%s> of a payment that <Pay var=%q> charged at once: only an authorisation (method=\"authorize\") holds money to %s",
				s.StepName(), prefix, s.Kind)
			return
		}
		pays = holders
	}
	seen := map[string]bool{}
	for _, pay := range pays {
		for _, name := range pay.Route {
			d := v.plan.Connector(name)
			if d == nil || seen[name] {
				continue
			}
			seen[name] = true
			c := payment.CapabilitiesOf(d.Spec.Type)
			if s.Kind == payment.OpVoid && !c.Void || s.Kind == payment.OpRefund && !c.Refund {
				v.sink.errorf(s.Pos, "connector-capability", "<%s>: a %s connector (%q) cannot %s", s.StepName(), d.Spec.Type, name, s.Kind)
			}
		}
	}
}

// checkLinkAmounts: a SendPaymentLink without an amount pays its session's amount. A session
// connector's provider knows it; the generic and stripe APIs have no provider sessions, so the
// amount must come from a Pay step of the same call: session="$(Pay.SessionId)" of a Pay with
// an amount, on the same connector.
func (v *validator) checkLinkAmounts() {
	pays := map[string]*PayStep{} // Pay var → step
	walkSteps(v.plan.Flow, func(s Step) bool {
		if p, ok := s.(*PayStep); ok {
			name := p.Var
			if name == "" {
				name = defaultPayVar
			}
			pays[name] = p
		}
		return true
	})
	walkSteps(v.plan.Flow, func(s Step) bool {
		l, ok := s.(*SendPaymentLinkStep)
		if !ok || strings.TrimSpace(l.Amount) != "" || l.Session == "" {
			return true
		}
		decl := v.plan.Connector(l.Connector)
		if decl == nil || decl.Spec.Type == "session" || decl.Spec.Type == "" {
			return true
		}
		refs, err := templateVars(l.Session)
		var from *PayStep
		if err == nil && len(refs) == 1 && strings.TrimSpace(l.Session) == "$("+refs[0].Name+")" {
			if prefix, ok := strings.CutSuffix(refs[0].Name, ".SessionId"); ok {
				from = pays[prefix]
			}
		}
		if from == nil || from.Connector != l.Connector || strings.TrimSpace(from.Amount) == "" || from.Amount == "0" {
			v.sink.errorf(l.Pos, "missing-attribute", "<SendPaymentLink> without an amount pays its session's, but a %s connector has no provider sessions to ask: "+
				"give amount and currency, or session=\"$(Pay.SessionId)\" of a <Pay> with an amount on connector %q", decl.Spec.Type, l.Connector)
		}
		return true
	})
}

// --- variables ---

// varUse is one read of a variable.
type varUse struct {
	name string
	pos  Pos
}

// varSet is one write.
type varSet struct {
	name     string
	pos      Pos
	explicit bool // named by the author (Set var, Destination…), not a published output
}

// namespace is a step's published-variable prefix.
type namespace struct {
	prefix  string // "Pay"
	outputs []string
	step    Step
}

// templateUses returns the reads of a template field.
func (v *validator) templateUses(field *string, def Pos) []varUse {
	refs, err := templateVars(*field)
	if err != nil {
		return nil // reported by the parser
	}
	base := v.plan.posOf(field, def)
	out := make([]varUse, 0, len(refs))
	for _, r := range refs {
		pos := base
		if pos.IsValid() && pos != def {
			pos.Col += r.Offset
		}
		out = append(out, varUse{name: r.Name, pos: pos})
	}
	return out
}

// stepIO lists what one step reads and writes (not its nested steps).
func (v *validator) stepIO(s Step) (uses []varUse, sets []varSet) {
	at := s.StepPos()
	tmpl := func(f *string) { uses = append(uses, v.templateUses(f, at)...) }
	says := func(say *Say) {
		for i := range say.Parts {
			if say.Parts[i].Text != "" {
				uses = append(uses, v.templateUses(&say.Parts[i].Text, at)...)
			}
		}
	}
	items := func(list []PromptItem) {
		for i := range list {
			if list[i].Say != nil {
				says(list[i].Say)
			} else {
				tmpl(&list[i].Name)
			}
		}
	}
	set := func(name string, field *string) {
		if name != "" {
			pos := at
			if field != nil {
				pos = v.plan.posOf(field, at)
			}
			sets = append(sets, varSet{name: name, pos: pos, explicit: true})
		}
	}
	publish := func(prefix string, outs []string) {
		for _, o := range outs {
			sets = append(sets, varSet{name: prefix + "." + o, pos: at})
		}
	}
	switch s := s.(type) {
	case *PlayStep:
		items(s.Prompts)
	case *SayStep:
		says(s.Say)
	case *SayDigitsStep:
		tmpl(&s.Value)
	case *SayCharactersStep:
		tmpl(&s.Value)
	case *SayAmountStep:
		tmpl(&s.Value)
		tmpl(&s.Currency)
	case *GatherStep:
		items(s.Prompt)
		items(s.InvalidPrompt)
		items(s.TimeoutPrompt)
		set(s.Var, nil)
		if s.Var != "" {
			publish(s.Var, gatherOutputs)
		}
	case *MenuStep:
		items(s.Prompt)
		items(s.InvalidPrompt)
		items(s.TimeoutPrompt)
		set(s.Var, nil)
	case *APIInteractionStep:
		tmpl(&s.Request.URL)
		for i := range s.Request.Headers {
			tmpl(&s.Request.Headers[i].Value)
		}
		tmpl(&s.Request.Body)
		if s.Name != "" {
			publish(s.Name, apiOutputs)
		}
		set(s.Response.ResponseCodeDestination, &s.Response.ResponseCodeDestination)
		for i := range s.Response.Fields {
			f := &s.Response.Fields[i]
			set(f.Destination, &f.Destination)
		}
	case *AuthorizeStep:
		publish(s.Var, authorizeOutputs)
	case *PayStep:
		tmpl(&s.Amount)
		tmpl(&s.Currency)
		tmpl(&s.Reference)
		tmpl(&s.Description)
		tmpl(&s.Session)
		tmpl(&s.PostalCode)
		for _, pp := range s.Prompts {
			items(pp.Prompt)
		}
		invoiceUses(s.Invoice, tmpl)
		publish(s.Var, payOutputs)
	case *SendPaymentLinkStep:
		tmpl(&s.To)
		tmpl(&s.Amount)
		tmpl(&s.Currency)
		tmpl(&s.Reference)
		tmpl(&s.Session)
		invoiceUses(s.Invoice, tmpl)
		publish(s.Var, linkOutputs)
	case *PaymentOpStep:
		tmpl(&s.Payment)
		tmpl(&s.Amount)
		tmpl(&s.Reason)
		publish(s.Var, opOutputs)
	case *SetStep:
		tmpl(&s.Value)
		set(s.Var, &s.Var)
	case *IfStep:
		for _, b := range s.Branches {
			if b.Test == nil {
				continue
			}
			base := v.plan.posOf(&b.Test.Source, b.Pos)
			for _, r := range b.Test.varRefs() {
				pos := base
				if pos != b.Pos {
					pos.Col += r.Offset
				}
				uses = append(uses, varUse{name: r.Name, pos: pos})
			}
		}
	case *SwitchStep:
		tmpl(&s.Value)
	case *TransferStep:
		tmpl(&s.To)
		publish("Transfer", transferOutputs)
	case *DialStep:
		tmpl(&s.CallerID)
		for _, t := range s.Targets {
			tmpl(&t.URI)
		}
		publish(s.Var, dialOutputs)
	}
	return uses, sets
}

// invoiceUses reads an invoice's templates.
func invoiceUses(inv *InvoiceDecl, tmpl func(*string)) {
	if inv == nil {
		return
	}
	tmpl(&inv.ID)
	tmpl(&inv.Description)
	for i := range inv.Lines {
		tmpl(&inv.Lines[i].Description)
		tmpl(&inv.Lines[i].Amount)
	}
	for i := range inv.Metadata {
		tmpl(&inv.Metadata[i].Value)
	}
}

// cardVarName matches variable names that say they hold card data.
var cardVarName = regexp.MustCompile(`(?i)(card|pan$|^pan|cvv|cvc|cv2|securitycode|security_code|expiry|expiration)`)

func (v *validator) checkVariables() {
	// Namespaces of published variables, and every variable any step can set.
	var spaces []namespace
	spaces = append(spaces, namespace{prefix: defaultPayVar, outputs: payOutputs})
	all := map[string]Pos{}
	walkSteps(v.plan.Flow, func(s Step) bool {
		switch s := s.(type) {
		case *PayStep:
			spaces = append(spaces, namespace{prefix: s.Var, outputs: payOutputs, step: s})
		case *AuthorizeStep:
			spaces = append(spaces, namespace{prefix: s.Var, outputs: authorizeOutputs, step: s})
		case *SendPaymentLinkStep:
			spaces = append(spaces, namespace{prefix: s.Var, outputs: linkOutputs, step: s})
		case *DialStep:
			spaces = append(spaces, namespace{prefix: s.Var, outputs: dialOutputs, step: s})
		case *PaymentOpStep:
			spaces = append(spaces, namespace{prefix: s.Var, outputs: opOutputs, step: s})
		case *GatherStep:
			if s.Var != "" {
				spaces = append(spaces, namespace{prefix: s.Var, outputs: gatherOutputs, step: s})
			}
		}
		_, sets := v.stepIO(s)
		for _, st := range sets {
			if _, ok := all[st.name]; !ok {
				all[st.name] = st.pos
			}
		}
		return true
	})
	for _, b := range builtinVars {
		all[b] = Pos{}
	}
	for n := range v.plan.unparsedSets {
		if _, ok := all[n]; !ok {
			all[n] = Pos{}
		}
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)

	// Writes into reserved names.
	walkSteps(v.plan.Flow, func(s Step) bool {
		if g, ok := s.(*GatherStep); ok && g.Var != "" && cardVarName.MatchString(g.Var) {
			v.sink.errorf(g.Pos, "card-data", "<Gather var=%q> looks like card data: card data is never a variable; use <Pay> to collect a card", g.Var)
		}
		_, sets := v.stepIO(s)
		for _, st := range sets {
			if !st.explicit {
				continue
			}
			if contains(builtinVars, st.name) || strings.HasPrefix(st.name, "Call.") || strings.HasPrefix(st.name, "Sandbox.") {
				v.sink.errorf(st.pos, "reserved-variable", "%s is a built-in variable and cannot be assigned", st.name)
				continue
			}
			for _, ns := range spaces {
				if ns.prefix != "" && (st.name == ns.prefix || strings.HasPrefix(st.name, ns.prefix+".")) && ns.step != s {
					v.sink.errorf(st.pos, "reserved-variable", "%s is reserved for the variables <%s var=%q> publishes", st.name, stepNameOr(ns.step, "Pay"), ns.prefix)
					break
				}
			}
		}
		return true
	})

	// Reads, in document order.
	seen := map[string]bool{}
	for _, b := range builtinVars {
		seen[b] = true
	}
	for n := range v.plan.unparsedSets {
		seen[n] = true
	}
	var walk func([]Step)
	walk = func(steps []Step) {
		for _, s := range steps {
			uses, sets := v.stepIO(s)
			for _, u := range uses {
				v.checkUse(u, spaces, all, seen, names)
			}
			for _, c := range stepChildren(s) {
				walk(c)
			}
			for _, st := range sets {
				seen[st.name] = true
			}
		}
	}
	walk(v.plan.Flow)
}

func stepNameOr(s Step, def string) string {
	if s == nil {
		return def
	}
	return s.StepName()
}

func (v *validator) checkUse(u varUse, spaces []namespace, all map[string]Pos, seen map[string]bool, names []string) {
	for _, ns := range spaces {
		if ns.prefix == "" {
			continue
		}
		suffix, under := strings.CutPrefix(u.name, ns.prefix+".")
		if u.name == ns.prefix && ns.step != nil {
			if _, isGather := ns.step.(*GatherStep); isGather {
				continue // Gather's own $(Var) holds its digits
			}
		}
		if !under && u.name != ns.prefix {
			continue
		}
		if under && contains(ns.outputs, suffix) {
			break
		}
		if _, ok := all[u.name]; ok && ns.step == nil {
			break // a plain variable that happens to share the default "Pay" prefix and is set
		}
		kind := stepNameOr(ns.step, "Pay")
		outs := make([]string, len(ns.outputs))
		for i, o := range ns.outputs {
			outs[i] = ns.prefix + "." + o
		}
		msg := fmt.Sprintf("$(%s) is not published by <%s>: it publishes only %s", u.name, kind, strings.Join(outs, ", "))
		if kind == "Pay" {
			msg += " (card data is never a variable)"
		}
		if s := suggest.DidYouMean(suffix, ns.outputs); s != "" && under {
			msg += s
		}
		v.sink.errorf(u.pos, "unpublished-variable", "%s", msg)
		return
	}
	if seen[u.name] {
		return
	}
	first, ever := all[u.name]
	if !ever {
		v.sink.errorf(u.pos, "unset-variable", "$(%s) is never set: no step assigns it and it is not a built-in%s", u.name, suggest.DidYouMean(u.name, names))
		return
	}
	v.sink.warnf(u.pos, "used-before-set", "$(%s) is used before any step sets it (first set at %d:%d); until then it is empty", u.name, first.Line, first.Col)
}

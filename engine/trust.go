package engine

import "github.com/paybridge/paybridge/callplan"

// Where a variable's value came from decides whether it may choose where an ApiInteraction
// connects. A value is trusted when the plan's author or the operator wrote it:
//
//   - $(Sandbox.Url) and $(Call.StartedAt) (the engine's own), and RunOptions.Variables;
//   - a <Set> whose value is literal text, #(env:…) substitutions (done at load time) and
//     trusted variables only;
//   - a variable not set at all (it expands to "").
//
// Everything else is untrusted: ApiInteraction fields and status codes (response data), Gather
// and Menu input and $(Call.From|To|Id) (the caller), and whatever Pay, Authorize,
// SendPaymentLink and Transfer publish (provider answers). A <Set> from an untrusted variable is
// untrusted. An ApiInteraction whose URL takes its scheme, host or port from an untrusted
// variable is refused unless it says untrustedHost="true"; the validator applies the same
// rule before a call (validate_http.go), so a plan that validates is not refused at run time.

// initTrust marks the engine's own built-ins and the harness's variables trusted.
func (r *run) initTrust(preset map[string]string) {
	for name := range preset {
		r.trusted[name] = true
	}
	for _, name := range []string{"Call.From", "Call.To", "Call.Id"} {
		delete(r.trusted, name) // the caller's: presets cannot override them
	}
	r.trusted["Call.StartedAt"] = true
	r.trusted["Sandbox.Url"] = true
}

// isTrusted reports whether the current value of name is trusted (unset counts: it is "").
func (r *run) isTrusted(name string) bool {
	if _, set := r.vars[name]; !set {
		return true
	}
	return r.trusted[name]
}

// trustSet marks a <Set>'s variable trusted when every variable its value refers to is
// trusted now.
func (r *run) trustSet(s *callplan.SetStep) {
	sources, ok := s.Sources()
	if !ok {
		return
	}
	for _, name := range sources {
		if !r.isTrusted(name) {
			return
		}
	}
	r.trusted[s.Var] = true
}

// untrustedOrigin returns the first variable of a request's URL that decides where it goes
// and holds untrusted data, or "".
func (r *run) untrustedOrigin(req *callplan.APIRequest) string {
	for _, name := range req.OriginVars() {
		if !r.isTrusted(name) {
			return name
		}
	}
	return ""
}

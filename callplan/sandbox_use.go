package callplan

// UsesSandbox reports whether running p can reach the embedded sandbox provider: a
// connector with baseUrl="sandbox", or a $(Sandbox.Url) reference
// anywhere in the flow. serve mounts the sandbox on its listener only for such plans (or when
// told to).
func (p *Plan) UsesSandbox() bool {
	for _, c := range p.Connectors {
		if c.Spec.BaseURL == "sandbox" {
			return true
		}
	}
	v := &validator{plan: p, sink: &diagSink{}}
	found := false
	walkSteps(p.Flow, func(s Step) bool {
		uses, _ := v.stepIO(s)
		for _, u := range uses {
			found = found || u.name == "Sandbox.Url"
		}
		return !found
	})
	return found
}

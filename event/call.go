package event

// The events of a call's life and of the engine's steps other than payments.

// CallStarted: the engine began running the plan.
type CallStarted struct {
	Plan    string `json:"plan"`
	Version string `json:"version,omitempty"`
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
}

// CallAnswered: serve answered the call and is about to run its plan.
type CallAnswered struct {
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	Plan string `json:"plan,omitempty"`
	// How the call is protected: the SIP transport (UDP, TCP, TLS), the SRTP suite ("" for
	// plain RTP), and whether both are encrypted (TLS and SRTP).
	SIPTransport string `json:"sip_transport,omitempty"`
	SRTP         string `json:"srtp,omitempty"`
	Encrypted    bool   `json:"encrypted"`
}

// CallEnded: the plan finished; Result is the engine's (hangup, caller-hung-up, transferred, …).
type CallEnded struct {
	Result string `json:"result"`
	Reason string `json:"reason,omitempty"`
	Steps  int    `json:"steps"`
}

// StepEntered: the engine started a step (Event.Step names it); Pos is its file position.
type StepEntered struct {
	Pos string `json:"pos,omitempty"`
}

// StepEnded: a step finished (Event.Step names it). Outcome says how, in the step's own
// words (a Gather's result, the branch an If took, an HTTP status); DurationMS is how long it
// took on the call's clock, nested steps included; Set lists the variables the step itself
// set, in order, each value as outputs show it (secrets masked; card data never is one).
type StepEnded struct {
	Pos        string   `json:"pos,omitempty"`
	Outcome    string   `json:"outcome,omitempty"`
	DurationMS int64    `json:"durationMs"`
	Set        []VarSet `json:"set,omitempty"`
}

// VarSet is one variable a step set.
type VarSet struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Said: speech was rendered and started playing (a <Say> step, or speech in a prompt list).
// Text is what was said after $(…) expansion, clipped; Error, when set, says why nothing
// was said (the call went on).
type Said struct {
	Text       string `json:"text"`
	Language   string `json:"language,omitempty"`
	Voice      string `json:"voice,omitempty"`
	DurationMS int64  `json:"durationMs"` // how long the speech plays
	RenderMS   int64  `json:"renderMs"`   // how long rendering took (≈0 from the cache)
	Error      string `json:"error,omitempty"`
}

// Played: a prompt started playing.
type Played struct {
	Prompt string `json:"prompt"`
}

// BargedIn: a key stopped a prompt.
type BargedIn struct {
	Prompt string `json:"prompt"`
}

// PromptMissing: a prompt could not be played (no such file); the call went on.
type PromptMissing struct {
	Prompt string `json:"prompt"`
}

// Gathered: one attempt of a Gather ended. Digits is how many keys were entered (never
// which); EntryMS how long from the first key to the end of the entry.
type Gathered struct {
	Var     string `json:"var"`
	Result  string `json:"result"`
	Digits  int    `json:"digits"`
	Attempt int    `json:"attempt"`
	EntryMS int64  `json:"entryMs,omitempty"`
}

// GatherCardRefused: what was keyed at a Gather looks like a card number; it was zeroed.
type GatherCardRefused struct {
	Var     string `json:"var"`
	Digits  int    `json:"digits"`
	Attempt int    `json:"attempt"`
}

// MenuChosen: one attempt of a Menu ended, with a choice or a result (invalid, timeout).
type MenuChosen struct {
	Choice  string `json:"choice,omitempty"`
	Result  string `json:"result,omitempty"`
	Attempt int    `json:"attempt"`
}

// APICalled: an ApiInteraction ended. Method and Host say where it went (never the path,
// query, body or headers, which may carry data); Error never quotes them either.
type APICalled struct {
	Name       string `json:"name,omitempty"`
	Method     string `json:"method,omitempty"`
	Host       string `json:"host,omitempty"`
	Status     int    `json:"status"`
	DurationMS int64  `json:"durationMs"`
	Error      string `json:"error,omitempty"`
}

// Authorized: an Authorize step fetched (or failed to fetch) its connector's token.
type Authorized struct {
	Connector string `json:"connector"`
	Result    string `json:"result"`
}

// ConnectorRequest: one HTTP request to a payment provider (never its body). Error is the
// kind of failure ("error") when no answer was read.
type ConnectorRequest struct {
	Connector  string `json:"connector"`
	Op         string `json:"op"`
	Status     int    `json:"status"`
	DurationMS int64  `json:"durationMs"`
	Error      string `json:"error,omitempty"`
}

func (*CallStarted) Type() string       { return "call.started" }
func (*CallAnswered) Type() string      { return "call.answered" }
func (*CallEnded) Type() string         { return "call.ended" }
func (*StepEntered) Type() string       { return "step" }
func (*StepEnded) Type() string         { return "step.end" }
func (*Said) Type() string              { return "say" }
func (*Played) Type() string            { return "play" }
func (*BargedIn) Type() string          { return "barge-in" }
func (*PromptMissing) Type() string     { return "prompt.missing" }
func (*Gathered) Type() string          { return "gather" }
func (*GatherCardRefused) Type() string { return "gather.card-refused" }
func (*MenuChosen) Type() string        { return "menu" }
func (*APICalled) Type() string         { return "api" }
func (*Authorized) Type() string        { return "authorize" }
func (*ConnectorRequest) Type() string  { return "connector.request" }

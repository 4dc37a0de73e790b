package callplan

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
)

// This file is the call plan's syntax tree: what Parse produces and what the engine runs.
//
// Conventions shared by the parser and the engine:
//
//   - Every node carries the Pos of its start tag.
//   - Attribute values that may contain $(…) variables are kept as template strings and
//     expanded by the engine at run time with Expand; static values (durations, integers,
//     booleans, card types, currencies given literally) are parsed and checked at load time.
//   - #(env:NAME) references are substituted at load time; no node holds one.
//   - Every default is filled in by the parser (docs/callplan.md lists them), so the engine
//     never has to guess: a zero Duration or int in a parsed plan means exactly zero.
//   - Space-separated lists (prompt names, card types, Case values, Match numbers) are split
//     into slices.

// Pos is a position in a plan file: 1-based line and column (column counts bytes).
type Pos struct {
	File string
	Line int
	Col  int
}

// String returns "file:line:col" (or "line:col" when File is empty).
func (p Pos) String() string {
	if p.File == "" {
		return fmt.Sprintf("%d:%d", p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// IsValid reports whether p points somewhere.
func (p Pos) IsValid() bool { return p.Line > 0 }

// Defaults the parser fills in when an attribute is absent. docs/callplan.md lists them.
const (
	defaultPlayLoop           = 1
	defaultPauseLength        = 1 * time.Second
	defaultGatherMinDigits    = 1
	defaultGatherMaxDigits    = 20
	defaultFinishOnKey        = "#"
	defaultGatherTimeout      = 5 * time.Second // inter-digit, and first digit unless firstDigitTimeout
	defaultGatherAttempts     = 3
	defaultMenuTimeout        = 5 * time.Second
	defaultMenuAttempts       = 3
	defaultAPITimeout         = 10 * time.Second
	defaultAPIMethod          = "GET"
	defaultAPIResponseType    = ResponseJSON
	defaultPayVar             = "Pay"
	defaultPayMaxAttempts     = 3
	defaultPayTimeout         = 5 * time.Second
	defaultPayTokenType       = "reusable"
	defaultMinPostalCodeLen   = pan.MinPostalCodeLength
	defaultAuthorizeVar       = "Authorize"
	defaultLinkVar            = "Link"
	defaultHangupReason       = "normal"
	defaultConnectorTokenPath = "/auth/connect/token"
	maxDigitsLimit            = 64 // upper bound on Gather maxDigits
)

// defaultValidCardTypes is Pay's validCardTypes when the attribute is absent.
var defaultValidCardTypes = []string{pan.BrandVisa, pan.BrandMastercard, pan.BrandAmex}

// The values of <CallPlan srtp="…">.
const (
	SRTPOff      = "off"
	SRTPOptional = "optional"
	SRTPRequired = "required"
)

// Plan is one parsed call plan (one XML file).
type Plan struct {
	Pos     Pos    // the <CallPlan> element
	Name    string // name attribute (defaults to the file's base name without .xml)
	Version string // version attribute, free text
	File    string // path the plan was read from (as given to ParseFile / Parse)
	// SRTP is the plan's media encryption policy (srtp attribute: SRTPOff, SRTPOptional or
	// SRTPRequired; "" = the listener's). The stricter of the plan's and the listener's
	// applies to a call, so a plan can demand encryption but never lift it.
	SRTP string

	// Match holds the dialled numbers (E.164, "+…") this plan answers. "*" is not kept here:
	// it sets Fallback.
	Match    []string
	Fallback bool
	MatchPos Pos // the <Match> element, for duplicate-number diagnostics

	Prompts *PromptsDecl // nil = the bundled pack
	// Merchant is the plan's <Merchant>: who its payment pages and link texts name (nil:
	// serve's default). Each connector's Spec.Merchant is its own <Merchant>, else this one.
	Merchant   *payment.Merchant
	Connectors []*ConnectorDecl // in document order
	Flow       []Step

	// Labels maps each <Label name> to the index of its LabelStep in Flow. Labels live only
	// at the top level of <Flow> (the parser refuses them elsewhere), so a Goto — which may
	// sit at any depth — leaves every enclosing block and resumes Flow at that index.
	Labels map[string]int

	Hash string // hex sha256 of the source bytes, to tell versions of a plan apart

	// valuePos records where each template-bearing field's value starts in the source
	// (keyed by the field's address), so the validator can point at a $(…) inside it.
	valuePos map[*string]Pos

	// unparsedSets are the variables that elements the parser refused as misspellings of a
	// step would have set; the validator does not report their uses as never set (the
	// misspelling is the one error).
	unparsedSets map[string]bool
}

// posOf returns where the value stored at field starts, or def when unknown.
func (p *Plan) posOf(field *string, def Pos) Pos {
	if pos, ok := p.valuePos[field]; ok {
		return pos
	}
	return def
}

func (p *Plan) setPos(field *string, pos Pos) {
	if p.valuePos == nil {
		p.valuePos = map[*string]Pos{}
	}
	p.valuePos[field] = pos
}

// Connector returns the declaration named name, or nil.
func (p *Plan) Connector(name string) *ConnectorDecl {
	for _, c := range p.Connectors {
		if c.Spec.Name == name {
			return c
		}
	}
	return nil
}

// PromptsDecl is <Prompts lang dir>.
type PromptsDecl struct {
	Pos  Pos
	Lang string // BCP 47 tag, informative ("en-GB")
	Dir  string // absolute: resolved against the plan file's directory; "" = bundled pack only
}

// ConnectorDecl is a <Connector> element after #(env:…) substitution.
type ConnectorDecl struct {
	Pos  Pos
	Spec payment.ConnectorSpec
}

// Step is one element of a flow. Each concrete type below is one element; StepName returns
// its element name ("Play", "Gather", …).
type Step interface {
	StepPos() Pos
	StepName() string
}

// stepBase is embedded in every step to carry its position.
type stepBase struct {
	Pos Pos
}

// StepPos returns the position of the step's start tag.
func (b *stepBase) StepPos() Pos { return b.Pos }

// PlayStep is <Play prompt="a b $(Var)" bargeIn loop>.
type PlayStep struct {
	stepBase
	Prompts []PromptItem // prompt names (each may be a $(…) template expanding to names) or speech
	// BargeIn: nil = the default (a keypress interrupts the prompt only when the next step
	// takes input: Gather, Menu, Pay); otherwise what the plan said.
	BargeIn *bool
	Loop    int // times to play; default 1; 0 = until a key or the end of the call (TwiML)
}

// SayDigitsStep is <SayDigits value>: speaks each digit of value with the digit prompts.
type SayDigitsStep struct {
	stepBase
	Value string // template
}

// SayCharactersStep is <SayCharacters value>: speaks value character by character — digits,
// letters, and the separators of confirmation codes ("ch_6dyt…": "c h underscore 6 d y t").
type SayCharactersStep struct {
	stepBase
	Value string // template
}

// SayAmountStep is <SayAmount value currency>: speaks a decimal amount in words.
type SayAmountStep struct {
	stepBase
	Value    string // template; a decimal such as "12.50"
	Currency string // template or ISO 4217 code; "" = no currency word
}

// PauseStep is <Pause length>.
type PauseStep struct {
	stepBase
	Length time.Duration // default 1s
}

// GatherStep is <Gather>: collects non-card digits into Var.
//
// The engine sets $(Var) to the digits entered (without the finish key) and $(Var.Result) to
// "success", "timeout", "invalid" or "caller-hung-up"; on failure $(Var) is "".
type GatherStep struct {
	stepBase
	Var               string
	Min, Max          int           // default 1 and 20 (at most 64)
	FinishOnKey       string        // one key of 0-9*#, or "" for none; default "#"
	Timeout           time.Duration // inter-digit; default 5s
	FirstDigitTimeout time.Duration // defaults to Timeout
	Attempts          int           // default 3
	Prompt            []PromptItem  // played (barge-in) before each attempt
	InvalidPrompt     []PromptItem  // played after a too-short or pattern-failing entry
	TimeoutPrompt     []PromptItem  // played after an attempt with no digit at all
	Pattern           *regexp.Regexp
	PatternSource     string // pattern as written; Pattern matches the whole entry (^(?:…)$)
}

// MenuStep is <Menu>: one key chooses a Choice.
//
// The engine sets $(Var) (when Var is set) to the key chosen, "" when no valid key came.
// After the last failed attempt the flow continues after the Menu.
type MenuStep struct {
	stepBase
	Var           string // optional
	Prompt        []PromptItem
	InvalidPrompt []PromptItem
	TimeoutPrompt []PromptItem
	Timeout       time.Duration // default 5s
	Attempts      int           // default 3
	Choices       []*Choice
}

// Choice is <Choice key="1">…</Choice> inside a Menu.
type Choice struct {
	Pos   Pos
	Key   string // one key: 0-9 * # A-D
	Steps []Step
}

// ResponseType is an ApiInteraction response body format.
type ResponseType string

const (
	ResponseJSON ResponseType = "JSON"
	ResponseXML  ResponseType = "XML"
)

// DataType is a Field's conversion.
type DataType string

const (
	DataString  DataType = "String"
	DataDecimal DataType = "Decimal"
	DataInteger DataType = "Integer"
	DataBoolean DataType = "Boolean"
)

// APIInteractionStep is <ApiInteraction> in the Vonage VCC shape.
//
// The engine sets $(ResponseCodeDestination) to the HTTP status ("" when no response came)
// and each Field's Destination. When no response arrives (network error, timeout) and
// OnError names a label, the flow jumps there; otherwise it continues.
type APIInteractionStep struct {
	stepBase
	Name     string        // optional, for events and logs
	Timeout  time.Duration // default 10s
	OnError  string        // a top-level Label, or ""
	Request  APIRequest
	Response APIResponse

	// Redirects says which HTTP redirects the step follows (redirects attribute); the zero
	// value is RedirectSameOrigin.
	Redirects RedirectPolicy
	// UntrustedHost (untrustedHost="true") lets the URL's scheme, host or port come from
	// untrusted data: a response, the caller, a step's result. Without it such a URL is
	// refused before anything is sent (and validate reports it). See docs/callplan.md.
	UntrustedHost bool
}

// RedirectPolicy is an ApiInteraction's redirects attribute.
type RedirectPolicy int

// The redirect policies. Whatever the policy, at most 5 redirects are followed and every
// connection, redirected or not, is checked against the operator's destination allow-list.
const (
	// RedirectSameOrigin follows redirects to the same scheme, host and port only; a redirect
	// elsewhere is not followed and its 3xx response is the step's response (default).
	RedirectSameOrigin RedirectPolicy = iota
	// RedirectNone follows no redirect.
	RedirectNone
	// RedirectAny follows redirects to any origin.
	RedirectAny
)

// redirectPolicies are the values of the redirects attribute, in RedirectPolicy order.
var redirectPolicies = []string{"same-origin", "none", "any"}

func (p RedirectPolicy) String() string {
	if int(p) >= 0 && int(p) < len(redirectPolicies) {
		return redirectPolicies[p]
	}
	return fmt.Sprintf("RedirectPolicy(%d)", int(p))
}

// APIRequest is <Request>. URL, header values and Body are templates; the engine expands
// them with the escaper for their context (URL path/query, header value, body by
// Content-Type).
type APIRequest struct {
	Pos     Pos
	URL     string
	Method  string // upper case; default GET
	Headers []Header
	Body    string
}

// Header is <Header><Key/><Value/></Header>.
type Header struct {
	Pos   Pos
	Key   string
	Value string // template
}

// APIResponse is <Response>.
type APIResponse struct {
	Pos                     Pos
	Type                    ResponseType // default JSON
	ResponseCodeDestination string       // variable name, or ""
	Fields                  []Field
}

// Field is <Field><Locator/><Destination/><DataType/></Field>.
type Field struct {
	Pos         Pos
	Locator     string   // JSON "a.b[0].c" / "a.b.0.c"; XML "a/b/c", "a/b[2]", "a/@attr"
	Destination string   // variable name
	DataType    DataType // DataString when absent
	// Secret: the value is a credential (secret="true", or a locator such as access_token; see
	// secretLocator). Outputs — replay's variables, events, the console, logs — show it masked.
	Secret bool
}

// AuthorizeStep is <Authorize connector var>: fetches or refreshes the connector's token.
// The engine sets $(Var.Result) to "success" or "failed" and $(Var.Error) to a short reason.
type AuthorizeStep struct {
	stepBase
	Connector string
	Var       string // default "Authorize"
}

// PayStep is <Pay>: the secure card (or bank account) capture (docs/callplan.md "Pay",
// docs/pay.md).
type PayStep struct {
	stepBase
	// Connector is the first connector of the route; Route lists every connector in order
	// (connector="primary backup", or <Route connector="…"/> children): a payment the first
	// provably did not take goes on to the next (payment.FailOver).
	Connector   string
	Route       []string
	Amount      string // template or decimal; "" or "0" = tokenize
	Currency    string // template or ISO 4217 code (upper case)
	Reference   string // template
	Description string // template
	Session     string // template; attach to this provider session, "" = the connector starts one

	ValidCardTypes []string // default visa mastercard amex; pan's brand names
	SecurityCode   bool     // default true
	// PostalCode is "true" (ask for it), "false" (default; do not ask) or a literal/template
	// postal code sent without asking. See AsksPostalCode and PostalCodeValue.
	PostalCode          string
	MinPostalCodeLength int           // default pan.MinPostalCodeLength
	MaxAttempts         int           // per field; default 3
	Timeout             time.Duration // inter-digit; default 5s
	TokenType           string        // "one-time" | "reusable"; default "reusable"
	Var                 string        // prefix of the published variables; default "Pay"
	// Mode is "" (the caller keys the card to paybridge's prompts) or PayModeAgent: a child of
	// <Dial>, opened when the agent answers and taken field by field by the agent, without
	// prompts (the agent guides the caller; the agent hears beeps, never a key).
	Mode string

	// Method is charge (take the money now; the default with an amount) or authorize (hold it
	// now, capture later: docs/pay.md "The life of a payment").
	Method string
	// PaymentMethod is credit-card (the default) or ach-debit (a bank account: routing and
	// account number instead of the card fields); BankAccountType the account's type
	// (consumer-checking by default).
	PaymentMethod   string
	BankAccountType string
	Invoice         *InvoiceDecl // <Invoice> child: the merchant's invoice the payment settles

	Prompts []*PayPrompt // <Prompt> children, document order
}

// IsBank reports whether the step takes a bank account (paymentMethod="ach-debit").
func (p *PayStep) IsBank() bool { return p.PaymentMethod == payment.PaymentMethodACH }

// Fields returns the fields the step asks for, in order.
func (p *PayStep) Fields() []string {
	if p.IsBank() {
		return []string{FieldBankRoutingNumber, FieldBankAccountNumber}
	}
	out := []string{FieldCardNumber, FieldExpirationDate}
	if p.SecurityCode {
		out = append(out, FieldSecurityCode)
	}
	if p.AsksPostalCode() {
		out = append(out, FieldPostalCode)
	}
	return out
}

// RequiresMatching reports whether field must be keyed twice: a <Prompt for="field"
// requireMatchingInputs="true"> asks for the second entry.
func (p *PayStep) RequiresMatching(field string) bool {
	for _, pp := range p.Prompts {
		if pp.For == field && pp.RequireMatching {
			return true
		}
	}
	return false
}

// InvoiceDecl is <Invoice id description> with <Line description quantity amount/> and
// <Metadata name value/> children. Values are templates; a line's amount is a decimal in the
// payment's currency.
type InvoiceDecl struct {
	Pos         Pos
	ID          string
	Description string
	Lines       []InvoiceLineDecl
	Metadata    []InvoiceMeta
}

// InvoiceLineDecl is one <Line>.
type InvoiceLineDecl struct {
	Description string // template
	Quantity    int    // default 1
	Amount      string // template or decimal, each
}

// InvoiceMeta is one <Metadata name value>.
type InvoiceMeta struct {
	Name  string
	Value string // template
}

// AsksPostalCode reports whether the caller is asked for a postal code.
func (p *PayStep) AsksPostalCode() bool { return p.PostalCode == "true" }

// PostalCodeValue returns the literal (template) postal code to send, or "".
func (p *PayStep) PostalCodeValue() string {
	if p.PostalCode == "true" || p.PostalCode == "false" {
		return ""
	}
	return p.PostalCode
}

// Outputs returns the variables the step publishes, as suffixes of its Var ("Result" is
// $(Pay.Result)); nothing else under Var is ever set.
func (p *PayStep) Outputs() []string { return slices.Clone(payOutputs) }

// PayPrompt is <Prompt for errorType cardType attempt prompt> inside Pay. Empty lists match
// anything; the engine picks the most specific matching PayPrompt.
type PayPrompt struct {
	Pos       Pos
	For       string   // a PayField
	ErrorType []string // payErrorTypes; empty = the first ask (no error)
	CardType  []string
	Attempt   []int
	Prompt    []PromptItem // prompt names (templates) or speech
	// RequireMatching (requireMatchingInputs="true"): this prompt asks for the field a second
	// time, and the two entries must match (bank numbers).
	RequireMatching bool
}

// The Pay fields, in capture order (TwiML names).
const (
	FieldCardNumber     = "payment-card-number"
	FieldExpirationDate = "expiration-date"
	FieldSecurityCode   = "security-code"
	FieldPostalCode     = "postal-code"
	// Bank account fields (paymentMethod="ach-debit").
	FieldBankRoutingNumber = "bank-routing-number"
	FieldBankAccountNumber = "bank-account-number"
)

// payFields lists the fields in the order Pay asks for them.
var payFields = []string{FieldCardNumber, FieldExpirationDate, FieldSecurityCode, FieldPostalCode,
	FieldBankRoutingNumber, FieldBankAccountNumber}

// bankFields are the fields of an ach-debit Pay, which may be keyed twice.
var bankFields = []string{FieldBankRoutingNumber, FieldBankAccountNumber}

// Pay error types (TwiML names).
const (
	ErrTypeInputTimeout        = "input-timeout"
	ErrTypeInvalidCardNumber   = "invalid-card-number"
	ErrTypeInvalidCardType     = "invalid-card-type"
	ErrTypeInvalidDate         = "invalid-date"
	ErrTypeInvalidSecurityCode = "invalid-security-code"
	ErrTypeInvalidPostalCode   = "invalid-postal-code"
	ErrTypeInvalidRouting      = "invalid-bank-routing-number"
	ErrTypeInvalidAccount      = "invalid-bank-account-number"
	ErrTypeInputMismatch       = "input-matching-failed" // the two entries of requireMatchingInputs differ
)

// payErrorTypes lists every error type.
var payErrorTypes = []string{ErrTypeInputTimeout, ErrTypeInvalidCardNumber, ErrTypeInvalidCardType,
	ErrTypeInvalidDate, ErrTypeInvalidSecurityCode, ErrTypeInvalidPostalCode, ErrTypeInvalidRouting,
	ErrTypeInvalidAccount, ErrTypeInputMismatch}

// fieldErrorTypes are the error types each Pay field can produce: what <Prompt errorType> may
// name for it, and the combinations the bundled default prompts cover (input-timeout applies
// to every field).
var fieldErrorTypes = map[string][]string{
	FieldCardNumber:        {ErrTypeInputTimeout, ErrTypeInvalidCardNumber, ErrTypeInvalidCardType},
	FieldExpirationDate:    {ErrTypeInputTimeout, ErrTypeInvalidDate},
	FieldSecurityCode:      {ErrTypeInputTimeout, ErrTypeInvalidSecurityCode},
	FieldPostalCode:        {ErrTypeInputTimeout, ErrTypeInvalidPostalCode},
	FieldBankRoutingNumber: {ErrTypeInputTimeout, ErrTypeInvalidRouting, ErrTypeInputMismatch},
	FieldBankAccountNumber: {ErrTypeInputTimeout, ErrTypeInvalidAccount, ErrTypeInputMismatch},
}

// Pay results ($(Pay.Result), TwiML names).
const (
	PayResultSuccess         = "success"
	PayResultTooManyFailed   = "too-many-failed-attempts"
	PayResultConnectorError  = "payment-connector-error"
	PayResultInterruptedStar = "caller-interrupted-with-star"
	PayResultHungUp          = "caller-hung-up"
	PayResultValidationError = "validation-error"
	PayResultInternalError   = "internal-error"
	// A payment taken by an agent on a bridged call (<Pay mode="agent">, the Payments API)
	// may also end these ways.
	PayResultAgentCancelled = "agent-cancelled" // the agent cancelled it (Status=cancel)
	PayResultAgentHungUp    = "agent-hung-up"   // the agent's leg ended with the payment open
)

// payResults lists every Pay result value.
var payResults = []string{PayResultSuccess, PayResultTooManyFailed, PayResultConnectorError,
	PayResultInterruptedStar, PayResultHungUp, PayResultValidationError, PayResultInternalError,
	PayResultAgentCancelled, PayResultAgentHungUp}

// payOutputs are the only variables Pay publishes, as suffixes of its Var ("Pay.Result").
// Referring to any other "<Var>.…" is a validation error: card data is never a variable.
var payOutputs = []string{"Result", "ErrorType", "Attempts", "CardType", "MaskedCard",
	"ExpirationDate", "Token", "ConfirmationCode", "SessionId", "ConnectorError",
	// The lifecycle, bank accounts and routing (issue 15): Method (charge, authorize,
	// tokenize), AuthorizedUntil (RFC 3339, an authorisation's expiry), PaymentMethod,
	// BankAccountType, BankAccountNumber and BankRoutingNumber (masks), Connector (the one
	// that took the payment), Route (the connectors tried, with outcomes).
	"Method", "AuthorizedUntil", "PaymentMethod", "BankAccountType", "BankAccountNumber", "BankRoutingNumber",
	"Connector", "Route"}

// opOutputs are the variables Capture, Void and Refund publish under their Var: Result
// (success, pending, failed), OperationId, Amount (decimal), PaymentState (the payment's
// lifecycle state after it), Error.
var opOutputs = []string{"Result", "OperationId", "Amount", "PaymentState", "Error"}

// authorizeOutputs are the variables Authorize publishes under its Var.
var authorizeOutputs = []string{"Result", "Error"}

// linkOutputs are the variables SendPaymentLink publishes under its Var.
// Result is "success" or "failed".
var linkOutputs = []string{"Result", "Id", "SessionId", "ExpiresAt", "MessageId", "Error"}

// gatherOutputs are the variables Gather publishes besides $(Var) itself.
// Result is "success", "timeout", "invalid" or "caller-hung-up".
var gatherOutputs = []string{"Result"}

// apiOutputs are the variables an ApiInteraction with a name publishes under that name:
// $(Name.Error) says why no usable response came ("" on success).
var apiOutputs = []string{"Error"}

// transferOutputs are published under "Transfer" after a <Transfer>: $(Transfer.Result) is
// "success" or "failed" (the flow continues only when it failed).
var transferOutputs = []string{"Result"}

// cardTypes lists the card brands validCardTypes and cardType accept (pan's brands).
var cardTypes = pan.Brands()

// builtinVars are set by the engine before the first step.
var builtinVars = []string{"Call.From", "Call.To", "Call.Id", "Call.StartedAt", "Sandbox.Url"}

// SendPaymentLinkStep is <SendPaymentLink>. The engine publishes linkOutputs under Var.
type SendPaymentLinkStep struct {
	stepBase
	Connector string
	To        string        // template; E.164 mobile
	Amount    string        // template or decimal
	Currency  string        // template or ISO 4217
	Reference string        // template
	TTL       time.Duration // default payment.DefaultLinkTTL, at most payment.MaxLinkTTL
	Session   string        // template; attach to an existing session, "" = start a digital one
	Var       string        // default "Link"
	Invoice   *InvoiceDecl  // <Invoice> child: shown on the payment page, carried with the payment
}

// Outputs returns the variables the step publishes, as suffixes of its Var.
func (s *SendPaymentLinkStep) Outputs() []string { return slices.Clone(linkOutputs) }

// PaymentOpStep is <Capture>, <Void> or <Refund>: an operation on a payment this call (or
// another) made (docs/pay.md "The life of a payment"). The engine publishes opOutputs under
// Var.
type PaymentOpStep struct {
	stepBase
	Kind    string // payment.OpCapture | OpVoid | OpRefund
	Payment string // template: the payment's id, e.g. $(Pay.SessionId)
	Amount  string // template or decimal ("" = all that is left); not for Void
	Final   bool   // Capture: release the rest of the hold
	Reason  string // template; Refund only
	Var     string // default the element name ("Capture")
}

// Outputs returns the variables the step publishes, as suffixes of its Var.
func (s *PaymentOpStep) Outputs() []string { return slices.Clone(opOutputs) }

// SetStep is <Set var value>.
type SetStep struct {
	stepBase
	Var   string
	Value string // template
}

// IfStep is <If test>…<ElseIf test>…<Else>…</If>. Branches[0] is the If itself.
//
// ElseIf and Else are written as children of <If>, after its own steps:
//
//	<If test="…"> steps <ElseIf test="…"> steps </ElseIf> <Else> steps </Else> </If>
type IfStep struct {
	stepBase
	Branches []*Branch
	Else     []Step // nil when there is no <Else>
}

// Branch is one test and its steps.
type Branch struct {
	Pos   Pos
	Test  *Expr
	Steps []Step
}

// SwitchStep is <Switch value><Case is="a b">…</Case><Default>…</Default></Switch>.
type SwitchStep struct {
	stepBase
	Value   string // template
	Cases   []*Case
	Default []Step
}

// Case is one <Case is="a b c">: matches when the expanded value equals any of Is.
type Case struct {
	Pos   Pos
	Is    []string
	Steps []Step
}

// GotoStep is <Goto label>: resume Flow at the top-level Label (see Plan.Labels).
type GotoStep struct {
	stepBase
	Label string
}

// LabelStep is <Label name>: a jump target; does nothing when run.
type LabelStep struct {
	stepBase
	Name string
}

// TransferStep is <Transfer to>.
type TransferStep struct {
	stepBase
	To string // template: a SIP URI or a number
}

// HangupStep is <Hangup reason>.
type HangupStep struct {
	stepBase
	Reason string // default "normal"
}

func (*PlayStep) StepName() string            { return "Play" }
func (*SayDigitsStep) StepName() string       { return "SayDigits" }
func (*SayCharactersStep) StepName() string   { return "SayCharacters" }
func (*SayAmountStep) StepName() string       { return "SayAmount" }
func (*PauseStep) StepName() string           { return "Pause" }
func (*GatherStep) StepName() string          { return "Gather" }
func (*MenuStep) StepName() string            { return "Menu" }
func (*APIInteractionStep) StepName() string  { return "ApiInteraction" }
func (*AuthorizeStep) StepName() string       { return "Authorize" }
func (*PayStep) StepName() string             { return "Pay" }
func (*SendPaymentLinkStep) StepName() string { return "SendPaymentLink" }
func (s *PaymentOpStep) StepName() string     { return opElement(s.Kind) }
func (*SetStep) StepName() string             { return "Set" }
func (*IfStep) StepName() string              { return "If" }
func (*SwitchStep) StepName() string          { return "Switch" }
func (*GotoStep) StepName() string            { return "Goto" }
func (*LabelStep) StepName() string           { return "Label" }
func (*TransferStep) StepName() string        { return "Transfer" }
func (*HangupStep) StepName() string          { return "Hangup" }

// stepChildren returns the nested step lists of s (branches, cases, choices, else/default) in
// document order, or nil for a leaf step.
func stepChildren(s Step) [][]Step {
	switch s := s.(type) {
	case *IfStep:
		out := make([][]Step, 0, len(s.Branches)+1)
		for _, b := range s.Branches {
			out = append(out, b.Steps)
		}
		if s.Else != nil {
			out = append(out, s.Else)
		}
		return out
	case *SwitchStep:
		out := make([][]Step, 0, len(s.Cases)+1)
		for _, c := range s.Cases {
			out = append(out, c.Steps)
		}
		if s.Default != nil {
			out = append(out, s.Default)
		}
		return out
	case *DialStep:
		if s.Pay != nil {
			return [][]Step{{s.Pay}}
		}
		return nil
	case *MenuStep:
		out := make([][]Step, 0, len(s.Choices))
		for _, c := range s.Choices {
			out = append(out, c.Steps)
		}
		return out
	}
	return nil
}

// walkSteps calls fn for every step of steps, depth first in document order. When fn returns
// false, walkSteps does not descend into that step's children.
func walkSteps(steps []Step, fn func(Step) bool) {
	for _, s := range steps {
		if fn(s) {
			for _, c := range stepChildren(s) {
				walkSteps(c, fn)
			}
		}
	}
}

package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paybridge/paybridge/event"
)

// The Payments API: secure capture on a call bridged to an agent, with the names of Twilio's
// Payments subresource so that its documentation applies.
//
//	POST /api/calls/{id}/payments         open a payment on the bridged call
//	POST /api/calls/{id}/payments/{pid}   Capture=<field> takes a field; Status=complete|cancel
//	GET  /api/calls/{id}/payments         the call's agent payments (this node remembers)
//	GET  /api/calls/{id}/payments/{pid}   one of them
//	GET  /api/agent/calls                 the calls bridged now, each with its payments (the
//	                                      console's agent desk)
//
// Requests are form-encoded (application/x-www-form-urlencoded) like Twilio's. Every answer is
// the payment's masked state (AgentPaymentView); no request or answer ever holds a digit of
// the card: the digits come only from the caller's keypad.

// Agents is what the Payments API drives: the calls bridged to agents on this node (serve
// adapts engine.Desk).
type Agents interface {
	// Do carries out req on the bridged call and returns the payment's state after it. Its
	// errors wrap ErrAgentNotBridged, ErrAgentNoPayment, ErrAgentState, ErrAgentRequest or
	// ErrAgentIdempotency.
	Do(ctx context.Context, callID string, req AgentRequest) (AgentPayment, error)
	// Payment is the last state of an agent payment.
	Payment(id string) (AgentPayment, bool)
	// Payments are a call's agent payments, oldest first.
	Payments(callID string) []AgentPayment
	// Bridged lists the calls bridged now, by id, with who each is bridged to.
	Bridged() map[string]string
}

// AgentRequest is one Payments API request.
type AgentRequest struct {
	Op             string // AgentOpStart, AgentOpCapture, AgentOpComplete, AgentOpCancel
	PaymentID      string
	IdempotencyKey string
	Field          string // AgentOpCapture: payment-card-number, expiration-date, security-code, postal-code
	Start          AgentStart
}

// The operations of AgentRequest.
const (
	AgentOpStart    = "start"
	AgentOpCapture  = "capture"
	AgentOpComplete = "complete"
	AgentOpCancel   = "cancel"
)

// AgentStart are the parameters that open a payment (Twilio's names in the form).
type AgentStart struct {
	PaymentConnector string // one connector, or several separated by spaces (a route)
	Method           string // charge | authorize (the project's name, as <Pay method>)
	PaymentMethod    string // credit-card | ach-debit
	BankAccountType  string
	ChargeAmount     string
	Currency         string
	TokenType        string
	ValidCardTypes   []string
	PostalCode       bool
	SecurityCode     *bool
	Timeout          time.Duration
	Description      string
	StatusCallback   string
	PauseRecording   bool
}

// AgentPayment is a payment's masked state as the Desk keeps it.
type AgentPayment struct {
	event.AgentPayment
	CallID  string
	Created time.Time
	Updated time.Time
}

// AgentPaymentView is the JSON of every Payments API answer and of each StatusCallback (as
// form fields): Twilio's names, masked values only.
type AgentPaymentView struct {
	Sid                     string       `json:"Sid"`
	CallSid                 string       `json:"CallSid"`
	Status                  string       `json:"Status"`
	Capture                 string       `json:"Capture,omitempty"`
	PaymentConnector        string       `json:"PaymentConnector"`
	ChargeAmount            string       `json:"ChargeAmount"`
	Currency                string       `json:"Currency,omitempty"`
	PaymentCardNumber       string       `json:"PaymentCardNumber,omitempty"`
	PaymentCardType         string       `json:"PaymentCardType,omitempty"`
	SecurityCode            string       `json:"SecurityCode,omitempty"`
	ExpirationDate          string       `json:"ExpirationDate,omitempty"`
	PartialResult           bool         `json:"PartialResult"`
	Required                string       `json:"Required"`
	ErrorType               string       `json:"ErrorType,omitempty"`
	Method                  string       `json:"Method,omitempty"`
	PaymentMethod           string       `json:"PaymentMethod,omitempty"`
	BankAccountType         string       `json:"BankAccountType,omitempty"`
	BankAccountNumber       string       `json:"BankAccountNumber,omitempty"`
	BankRoutingNumber       string       `json:"BankRoutingNumber,omitempty"`
	AuthorizedUntil         string       `json:"AuthorizedUntil,omitempty"`
	Route                   string       `json:"Route,omitempty"`
	Result                  string       `json:"Result,omitempty"`
	PaymentConfirmationCode string       `json:"PaymentConfirmationCode,omitempty"`
	PaymentToken            string       `json:"PaymentToken,omitempty"`
	ErrorCode               string       `json:"ErrorCode,omitempty"`
	Agent                   string       `json:"Agent,omitempty"`
	Fields                  []AgentField `json:"Fields"`
	DateCreated             string       `json:"DateCreated"`
	DateUpdated             string       `json:"DateUpdated"`
}

// AgentField is one field's masked progress, for the console's agent view.
type AgentField = event.AgentField

// View turns a payment's state into its API form.
func (p AgentPayment) View() AgentPaymentView {
	v := AgentPaymentView{Sid: p.PaymentID, CallSid: p.CallID, Status: p.Status, Capture: p.Capture,
		PaymentConnector: p.Connector, ChargeAmount: minorToDecimal(p.AmountMinor, p.Currency), Currency: p.Currency,
		PaymentCardNumber: p.MaskedCard, PaymentCardType: p.CardType, SecurityCode: p.SecurityCode,
		ExpirationDate: p.Expiration, PartialResult: p.PartialResult, Required: strings.Join(p.Required, ","),
		ErrorType: p.ErrorType, Result: p.Result, PaymentConfirmationCode: p.Confirmation, PaymentToken: p.Token,
		ErrorCode: p.ErrorCode, Agent: p.AgentPayment.Agent, Fields: p.Fields,
		DateCreated: p.Created.UTC().Format(time.RFC3339), DateUpdated: p.Updated.UTC().Format(time.RFC3339),
		Method: p.Method, PaymentMethod: p.PaymentMethod, BankAccountType: p.BankAccountType,
		BankAccountNumber: p.BankAccountNumber, BankRoutingNumber: p.BankRoutingNumber, Route: strings.Join(p.Route, " ")}
	if !p.AuthorizedUntil.IsZero() {
		v.AuthorizedUntil = p.AuthorizedUntil.UTC().Format(time.RFC3339)
	}
	if v.Fields == nil {
		v.Fields = []AgentField{}
	}
	return v
}

// Form is the view as StatusCallback form fields (the Fields list is left out: Twilio's
// callbacks carry the flat names only).
func (v AgentPaymentView) Form() url.Values {
	f := url.Values{}
	set := func(k, val string) {
		if val != "" {
			f.Set(k, val)
		}
	}
	set("Sid", v.Sid)
	set("CallSid", v.CallSid)
	set("Status", v.Status)
	set("Capture", v.Capture)
	set("PaymentConnector", v.PaymentConnector)
	set("ChargeAmount", v.ChargeAmount)
	set("Currency", v.Currency)
	set("PaymentCardNumber", v.PaymentCardNumber)
	set("PaymentCardType", v.PaymentCardType)
	set("SecurityCode", v.SecurityCode)
	set("ExpirationDate", v.ExpirationDate)
	f.Set("PartialResult", strconv.FormatBool(v.PartialResult))
	f.Set("Required", v.Required)
	set("ErrorType", v.ErrorType)
	set("Method", v.Method)
	set("PaymentMethod", v.PaymentMethod)
	set("BankAccountType", v.BankAccountType)
	set("BankAccountNumber", v.BankAccountNumber)
	set("BankRoutingNumber", v.BankRoutingNumber)
	set("AuthorizedUntil", v.AuthorizedUntil)
	set("Route", v.Route)
	set("Result", v.Result)
	set("PaymentConfirmationCode", v.PaymentConfirmationCode)
	set("PaymentToken", v.PaymentToken)
	set("ErrorCode", v.ErrorCode)
	set("DateCreated", v.DateCreated)
	set("DateUpdated", v.DateUpdated)
	return f
}

func minorToDecimal(minor int64, currency string) string {
	if minor == 0 {
		return "0"
	}
	switch strings.ToUpper(currency) {
	case "JPY", "KRW", "VND", "CLP", "ISK", "UGX":
		return strconv.FormatInt(minor, 10)
	}
	return fmt.Sprintf("%d.%02d", minor/100, minor%100)
}

// The fields a payment takes (Capture=…), Twilio's names.
var agentFields = []string{"payment-card-number", "expiration-date", "security-code", "postal-code", "bank-routing-number", "bank-account-number"}

// maxAgentForm bounds a Payments API request body.
const maxAgentForm = 16 << 10

func (s *Server) agentForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxAgentForm)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		writeError(w, http.StatusUnsupportedMediaType, "the Payments API takes application/x-www-form-urlencoded bodies (Twilio's form parameters)")
		return nil, false
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "unreadable form body: "+err.Error())
		return nil, false
	}
	return r.PostForm, true
}

// startAgentPayment is POST /api/calls/{id}/payments.
func (s *Server) startAgentPayment(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Agents == nil {
		writeError(w, http.StatusServiceUnavailable, "agent payments are not served by this node")
		return
	}
	f, ok := s.agentForm(w, r)
	if !ok {
		return
	}
	st, err := parseAgentStart(f)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	req := AgentRequest{Op: AgentOpStart, IdempotencyKey: strings.TrimSpace(f.Get("IdempotencyKey")), Start: st}
	if req.IdempotencyKey == "" {
		writeError(w, http.StatusBadRequest, "IdempotencyKey is required")
		return
	}
	s.agentDo(w, r, req, http.StatusCreated)
}

// updateAgentPayment is POST /api/calls/{id}/payments/{pid}: Capture or Status.
func (s *Server) updateAgentPayment(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Agents == nil {
		writeError(w, http.StatusServiceUnavailable, "agent payments are not served by this node")
		return
	}
	f, ok := s.agentForm(w, r)
	if !ok {
		return
	}
	req := AgentRequest{PaymentID: r.PathValue("pid"), IdempotencyKey: strings.TrimSpace(f.Get("IdempotencyKey"))}
	if req.IdempotencyKey == "" {
		writeError(w, http.StatusBadRequest, "IdempotencyKey is required")
		return
	}
	capture, status := strings.TrimSpace(f.Get("Capture")), strings.TrimSpace(f.Get("Status"))
	switch {
	case capture != "" && status != "":
		writeError(w, http.StatusBadRequest, "give Capture or Status, not both")
		return
	case capture != "":
		if !slices.Contains(agentFields, capture) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Capture %q: one of %s", capture, strings.Join(agentFields, ", ")))
			return
		}
		req.Op, req.Field = AgentOpCapture, capture
	case status == "complete":
		req.Op = AgentOpComplete
	case status == "cancel":
		req.Op = AgentOpCancel
	default:
		writeError(w, http.StatusBadRequest, "give Capture=<field> or Status=complete|cancel")
		return
	}
	s.agentDo(w, r, req, http.StatusOK)
}

// agentDo sends req to the call and answers with the payment's state. A payment sent to its
// provider may take a while: the request waits up to agentWait.
func (s *Server) agentDo(w http.ResponseWriter, r *http.Request, req AgentRequest, okStatus int) {
	ctx, cancel := context.WithTimeout(r.Context(), agentWait)
	defer cancel()
	callID := r.PathValue("id")
	p, err := s.cfg.Agents.Do(ctx, callID, req)
	if err != nil {
		code := agentStatus(err)
		if code >= 500 {
			s.log.Error("console: agent payment", "call", callID, "op", req.Op, "err", err)
			writeError(w, code, http.StatusText(code))
			return
		}
		writeError(w, code, err.Error())
		return
	}
	s.log.Info("console: agent payment", "call", callID, "op", req.Op, "payment", p.PaymentID, "status", p.Status)
	writeJSON(w, okStatus, p.View())
}

// agentWait bounds a Payments API request (a complete waits for the provider).
const agentWait = 90 * time.Second

func agentStatus(err error) int {
	switch {
	case errors.Is(err, ErrAgentNotBridged), errors.Is(err, ErrAgentState):
		return http.StatusConflict
	case errors.Is(err, ErrAgentNoPayment):
		return http.StatusNotFound
	case errors.Is(err, ErrAgentRequest):
		return http.StatusBadRequest
	case errors.Is(err, ErrAgentIdempotency):
		return http.StatusUnprocessableEntity
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, context.Canceled):
		return 499
	}
	return http.StatusInternalServerError
}

func (s *Server) listAgentPayments(w http.ResponseWriter, r *http.Request) {
	items := []AgentPaymentView{}
	if s.cfg.Agents != nil {
		for _, p := range s.cfg.Agents.Payments(r.PathValue("id")) {
			items = append(items, p.View())
		}
	}
	writeJSON(w, http.StatusOK, page[AgentPaymentView]{Items: items})
}

func (s *Server) getAgentPayment(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Agents != nil {
		if p, ok := s.cfg.Agents.Payment(r.PathValue("pid")); ok && p.CallID == r.PathValue("id") {
			writeJSON(w, http.StatusOK, p.View())
			return
		}
	}
	writeError(w, http.StatusNotFound, "no such payment on this call")
}

// parseAgentStart reads the create parameters.
func parseAgentStart(f url.Values) (AgentStart, error) {
	st := AgentStart{PaymentConnector: strings.Join(strings.Fields(f.Get("PaymentConnector")), " "),
		Method: strings.TrimSpace(f.Get("Method")), PaymentMethod: strings.TrimSpace(f.Get("PaymentMethod")),
		BankAccountType: strings.TrimSpace(f.Get("BankAccountType")),
		ChargeAmount:    strings.TrimSpace(f.Get("ChargeAmount")), Currency: strings.TrimSpace(f.Get("Currency")),
		TokenType: strings.TrimSpace(f.Get("TokenType")), Description: f.Get("Description"),
		StatusCallback: strings.TrimSpace(f.Get("StatusCallback"))}
	if v := f.Get("ValidCardTypes"); v != "" {
		st.ValidCardTypes = strings.Fields(v)
	}
	var err error
	if st.PostalCode, err = formBool(f, "PostalCode", false); err != nil {
		return st, err
	}
	if st.PauseRecording, err = formBool(f, "PauseRecording", false); err != nil {
		return st, err
	}
	if f.Has("SecurityCode") {
		b, err := formBool(f, "SecurityCode", true)
		if err != nil {
			return st, err
		}
		st.SecurityCode = &b
	}
	if v := strings.TrimSpace(f.Get("Timeout")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return st, fmt.Errorf("Timeout %q: whole seconds between keys", v)
		}
		st.Timeout = time.Duration(n) * time.Second
	}
	if st.StatusCallback != "" {
		u, err := url.Parse(st.StatusCallback)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return st, fmt.Errorf("StatusCallback %q: an absolute http(s) URL without credentials", st.StatusCallback)
		}
	}
	if len(st.Description) > 255 {
		return st, errors.New("Description: at most 255 characters")
	}
	return st, nil
}

func formBool(f url.Values, name string, def bool) (bool, error) {
	v := strings.TrimSpace(f.Get(name))
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def, fmt.Errorf("%s %q: true or false", name, v)
	}
	return b, nil
}

// bridgedCall is one row of GET /api/agent/calls.
type bridgedCall struct {
	CallID   string             `json:"call_id"`
	Agent    string             `json:"agent"`
	Payments []AgentPaymentView `json:"payments"`
}

func (s *Server) bridgedCalls(w http.ResponseWriter, r *http.Request) {
	items := []bridgedCall{}
	if s.cfg.Agents != nil {
		only := agentOf(r)
		for id, agent := range s.cfg.Agents.Bridged() {
			if only != "" && agent != only {
				continue
			}
			b := bridgedCall{CallID: id, Agent: agent, Payments: []AgentPaymentView{}}
			for _, p := range s.cfg.Agents.Payments(id) {
				b.Payments = append(b.Payments, p.View())
			}
			items = append(items, b)
		}
	}
	slices.SortFunc(items, func(a, b bridgedCall) int { return strings.Compare(a.CallID, b.CallID) })
	writeJSON(w, http.StatusOK, page[bridgedCall]{Items: items})
}

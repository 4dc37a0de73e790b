package engine

import (
	"context"
	"sync"
	"time"

	"github.com/paybridge/paybridge/event"
)

// Desk connects the agents' side of paybridge — the Payments API, the console — to the runs
// of bridged calls. A run opens a line on the desk while its call is bridged; a command for
// the call goes down that line to the run, which carries it out in its own goroutine (the
// only one that ever touches the card buffers), between two keys, and answers with the
// payment's masked state. Nothing but masked state ever comes back up the line.
//
// One Desk serves a node; it is safe for concurrent use.
type Desk struct {
	mu     sync.Mutex
	lines  map[string]*deskLine         // call id → the bridged run
	recent map[string]AgentPaymentState // payment id → its last state (also after the bridge)
	order  []string                     // payment ids, oldest first (bounds recent)
	idem   map[string]idemEntry         // call id | idempotency key → the answer given
	idemQ  []string                     // keys, oldest first (bounds idem)
	notify func(AgentPaymentState)
}

// maxRecentPayments bounds what the desk remembers of payments and request keys.
const maxRecentPayments = 10000

type idemEntry struct {
	fingerprint string
	state       AgentPaymentState
}

// NewDesk returns a desk. notify, when not nil, is called with every new state of every agent
// payment (the StatusCallback sender); it is called from the call's run and must not block.
func NewDesk(notify func(AgentPaymentState)) *Desk {
	return &Desk{lines: map[string]*deskLine{}, recent: map[string]AgentPaymentState{},
		idem: map[string]idemEntry{}, notify: notify}
}

// AgentCommand is one request of the Payments API (or the console) on a bridged call.
type AgentCommand struct {
	Op             string // AgentStart, AgentCapture, AgentComplete, AgentCancel
	PaymentID      string // all but AgentStart
	IdempotencyKey string // the same key gets the same answer, and changes nothing the second time
	Field          string // AgentCapture: callplan.FieldCardNumber, …
	Start          AgentPaymentParams
}

// The agent commands.
const (
	AgentStart    = "start"
	AgentCapture  = "capture"
	AgentComplete = "complete"
	AgentCancel   = "cancel"
)

// AgentPaymentParams open an agent payment (the Payments API's create, Twilio's names).
type AgentPaymentParams struct {
	// Connector is PaymentConnector: a connector of the call's plan ("" = its only one), or
	// several separated by spaces, a route ("primary backup"), as <Pay connector>.
	Connector string
	// Method is charge (the default with an amount) or authorize (a hold, captured later):
	// the project's name, as <Pay method>; Twilio's API has none.
	Method string
	// PaymentMethod is credit-card (default) or ach-debit, BankAccountType the account's type
	// (consumer-checking by default): Twilio's names.
	PaymentMethod   string
	BankAccountType string
	ChargeAmount    string        // decimal; "" or "0" tokenizes
	Currency        string        // ISO 4217
	TokenType       string        // one-time | reusable (default reusable)
	ValidCardTypes  []string      // default visa mastercard amex
	PostalCode      bool          // ask for a postal code
	SecurityCode    *bool         // ask for the security code (default true)
	Timeout         time.Duration // between keys, once the first key of a field is in (default 5s)
	Description     string
	Reference       string
	StatusCallback  string // where the payment's states are posted (the desk's notify sends them)
	// PauseRecording leaves the bridge's recording paused while the payment is open (instead
	// of recording the masked fill).
	PauseRecording bool
}

// AgentPaymentState is an agent payment as the API and the console see it: masked.
type AgentPaymentState struct {
	event.AgentPayment
	CallID         string    `json:"callId"`
	StatusCallback string    `json:"-"`
	Created        time.Time `json:"created"`
	Updated        time.Time `json:"updated"`
}

// The states of an agent payment (AgentPaymentState.Status).
const (
	AgentOpen       = "open"       // created; no field is being taken
	AgentCapturing  = "capturing"  // a field is being taken (Capture names it)
	AgentProcessing = "processing" // sent to the provider
	AgentDone       = "complete"   // the provider answered (Result says how)
	AgentCancelled  = "cancelled"  // cancelled by the agent, or ended with the call or the bridge
)

// deskLine is one bridged call's way to its run.
type deskLine struct {
	callID string
	agent  string
	cmds   chan *deskRequest
	done   chan struct{}
}

type deskRequest struct {
	ctx   context.Context
	cmd   AgentCommand
	reply chan deskReply
}

type deskReply struct {
	state AgentPaymentState
	err   error
}

// open registers a run's bridged call; close it when the bridge ends.
func (d *Desk) open(callID, agent string) *deskLine {
	l := &deskLine{callID: callID, agent: agent, cmds: make(chan *deskRequest), done: make(chan struct{})}
	d.mu.Lock()
	d.lines[callID] = l
	d.mu.Unlock()
	return l
}

func (d *Desk) close(l *deskLine) {
	d.mu.Lock()
	if d.lines[l.callID] == l {
		delete(d.lines, l.callID)
	}
	d.mu.Unlock()
	close(l.done)
}

// AgentOf reports who the call is bridged to ("" when the target named nobody), and false
// when it is not bridged.
func (d *Desk) AgentOf(callID string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	l, ok := d.lines[callID]
	if !ok {
		return "", false
	}
	return l.agent, true
}

// Bridged lists the calls bridged now, by id, with who each is bridged to.
func (d *Desk) Bridged() map[string]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]string, len(d.lines))
	for id, l := range d.lines {
		out[id] = l.agent
	}
	return out
}

// Do carries out cmd on the bridged call callID and returns the payment's state after it.
// The errors are ErrNotBridged, ErrNoPayment, ErrPaymentState, ErrPaymentRequest and
// ErrIdempotencyKey; ctx bounds the wait (a payment sent to its provider can take a while).
func (d *Desk) Do(ctx context.Context, callID string, cmd AgentCommand) (AgentPaymentState, error) {
	key := callID + "|" + cmd.IdempotencyKey
	fp := cmd.Op + "|" + cmd.PaymentID + "|" + cmd.Field
	d.mu.Lock()
	if e, ok := d.idem[key]; ok && cmd.IdempotencyKey != "" {
		d.mu.Unlock()
		if e.fingerprint != fp {
			return AgentPaymentState{}, ErrIdempotencyKey
		}
		if cur, ok := d.Payment(e.state.PaymentID); ok && cmd.Op != AgentStart {
			return cur, nil
		}
		return e.state, nil
	}
	l := d.lines[callID]
	d.mu.Unlock()
	if l == nil {
		if _, ok := d.Payment(cmd.PaymentID); ok && cmd.PaymentID != "" {
			return AgentPaymentState{}, ErrPaymentState
		}
		return AgentPaymentState{}, ErrNotBridged
	}
	req := &deskRequest{ctx: ctx, cmd: cmd, reply: make(chan deskReply, 1)}
	select {
	case l.cmds <- req:
	case <-l.done:
		return AgentPaymentState{}, ErrNotBridged
	case <-ctx.Done():
		return AgentPaymentState{}, ctx.Err()
	}
	var rep deskReply
	select {
	case rep = <-req.reply:
	case <-ctx.Done():
		return AgentPaymentState{}, ctx.Err()
	}
	if rep.err == nil && cmd.IdempotencyKey != "" {
		d.mu.Lock()
		if _, ok := d.idem[key]; !ok {
			d.idemQ = append(d.idemQ, key)
			if len(d.idemQ) > maxRecentPayments {
				delete(d.idem, d.idemQ[0])
				d.idemQ = d.idemQ[1:]
			}
		}
		d.idem[key] = idemEntry{fingerprint: fp, state: rep.state}
		d.mu.Unlock()
	}
	return rep.state, rep.err
}

// Payment returns the last state of an agent payment, also after its call.
func (d *Desk) Payment(id string) (AgentPaymentState, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.recent[id]
	return s, ok
}

// Payments returns the agent payments of a call that the desk remembers, oldest first.
func (d *Desk) Payments(callID string) []AgentPaymentState {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []AgentPaymentState
	for _, id := range d.order {
		if s := d.recent[id]; s.CallID == callID {
			out = append(out, s)
		}
	}
	return out
}

// update records a payment's new state and hands it to notify (the run calls it).
func (d *Desk) update(s AgentPaymentState) {
	d.mu.Lock()
	if _, ok := d.recent[s.PaymentID]; !ok {
		d.order = append(d.order, s.PaymentID)
		if len(d.order) > maxRecentPayments {
			delete(d.recent, d.order[0])
			d.order = d.order[1:]
		}
	}
	d.recent[s.PaymentID] = s
	d.mu.Unlock()
	if d.notify != nil {
		d.notify(s)
	}
}

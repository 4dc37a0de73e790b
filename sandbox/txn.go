package sandbox

import (
	"net/http"
	"time"
)

// The life of a payment at the sandbox, the same for its three APIs: a charge captures its
// amount at once; an authorisation (method authorize, Stripe's capture=false) holds it until
// it is captured — in several parts up to the authorised amount (one part on the Stripe API,
// which releases the rest), voided, or until it expires; what was captured can be refunded in
// several refunds up to the captured amount. Every operation is kept on its charge with its
// idempotency key, and each API's endpoints only translate their request and answer shapes.

// Charge statuses besides succeeded (a captured charge) and declined.
const (
	statusAuthorized        = "authorized"
	statusPartiallyCaptured = "partially_captured"
	statusCaptured          = "captured" // an authorisation captured, nothing held any more
	statusVoided            = "voided"
	statusExpired           = "expired"
)

// Operation is one capture, void or refund of a charge.
type Operation struct {
	ID             string    `json:"id"`
	Kind           string    `json:"kind"` // capture | void | refund
	IdempotencyKey string    `json:"idempotency_key"`
	Status         string    `json:"status"` // pending | succeeded | failed
	Amount         int64     `json:"amount"`
	Reason         string    `json:"reason,omitempty"`
	ErrorCode      string    `json:"error_code,omitempty"`
	Created        time.Time `json:"created"`
	Completed      time.Time `json:"completed,omitzero"`
}

// Operation statuses.
const (
	opPending   = "pending"
	opSucceeded = "succeeded"
	opFailed    = "failed"
)

// opRequest is an operation as an API endpoint read it.
type opRequest struct {
	kind     string // capture | void | refund
	amount   int64  // minor units; 0 = all that is left
	currency string // "" = the charge's
	final    bool   // capture: release the rest of the hold
	reason   string
	single   bool // capture: the API allows one capture only (Stripe), which releases the rest
}

// opError is an operation refused as a request (it changes nothing and is not kept).
type opError struct {
	status int
	code   string
	msg    string
}

// holding reports whether the charge holds money that can still be captured.
func holding(c *Charge) bool {
	return c.Status == statusAuthorized || c.Status == statusPartiallyCaptured
}

// afterPlacedLocked schedules what the charge's test card makes happen later: the expiry of
// its authorisation, a chargeback once captured. The caller holds s.mu.
func (s *Provider) afterPlacedLocked(c *Charge) {
	if c.Status == "succeeded" && c.behaviour == behaveChargeback {
		s.scheduleChargebackLocked(c)
	}
	if !holding(c) || c.AuthorizedUntil.IsZero() {
		return
	}
	id := c.ID
	s.after(c.AuthorizedUntil.Sub(s.now()), func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if ch := s.byID[id]; ch != nil {
			s.expireLocked(ch)
		}
	})
}

// authorizeLocked makes an approved charge an authorisation: the amount is held, not captured,
// until the sandbox's authorisation lifetime (a short one for the expiring test card).
func (s *Provider) authorizeLocked(c *Charge) {
	c.Method = "authorize"
	if c.Status != "succeeded" {
		return
	}
	c.Status, c.Authorized, c.Captured = statusAuthorized, c.Amount, 0
	ttl := s.cfg.AuthorizationTTL
	if c.behaviour == behaveExpireFast {
		ttl = s.cfg.ShortAuthorizationTTL
	}
	c.AuthorizedUntil = s.now().Add(ttl)
}

// expireLocked ends a hold whose time has come: nothing captured → expired; partly captured →
// captured (the rest is released). It reports the expiry as an event.
func (s *Provider) expireLocked(c *Charge) {
	if !holding(c) || c.AuthorizedUntil.IsZero() || s.now().Before(c.AuthorizedUntil) {
		return
	}
	if c.Captured == 0 {
		c.Status = statusExpired
	} else {
		c.Status = statusCaptured
	}
	s.emitLocked(EventAuthorizationExpired, c, nil)
}

// operateLocked runs one operation on a charge (the caller holds s.mu and has checked the
// idempotency key). A refused request changes nothing; an operation the provider declines is
// kept, failed.
func (s *Provider) operateLocked(c *Charge, req opRequest, key string) (*Operation, *opError) {
	s.expireLocked(c)
	if req.currency != "" && req.currency != c.Currency {
		return nil, &opError{http.StatusBadRequest, "currency_mismatch", "the charge is in " + c.Currency}
	}
	op := &Operation{ID: newID(opPrefix(req.kind)), Kind: req.kind, IdempotencyKey: key, Reason: req.reason, Created: s.now()}
	switch req.kind {
	case "capture":
		switch {
		case c.Status == statusExpired:
			op.Status, op.ErrorCode = opFailed, CodeAuthorizationExpired
			op.Amount = req.amount
		case !holding(c):
			return nil, &opError{http.StatusConflict, CodeNotCapturable, "the charge holds nothing to capture (it is " + c.Status + ")"}
		default:
			rest := c.Authorized - c.Captured
			if req.amount == 0 {
				req.amount = rest
			}
			if req.amount <= 0 || req.amount > rest {
				return nil, &opError{http.StatusBadRequest, CodeAmountTooLarge, "more than the authorisation has left to capture"}
			}
			op.Amount = req.amount
			if c.behaviour == behaveRefuseCapture {
				op.Status, op.ErrorCode = opFailed, CodeCaptureDeclined
				break
			}
			op.Status = opSucceeded
			c.Captured += req.amount
			c.Status = statusPartiallyCaptured
			if req.final || req.single || c.Captured == c.Authorized {
				c.Status = statusCaptured
			}
			if c.behaviour == behaveChargeback && c.Status == statusCaptured {
				s.scheduleChargebackLocked(c)
			}
		}
	case "void":
		if !holding(c) {
			return nil, &opError{http.StatusConflict, CodeNotCapturable, "the charge holds nothing to release (it is " + c.Status + ")"}
		}
		op.Status, op.Amount = opSucceeded, c.Authorized-c.Captured
		c.Status = statusVoided
		if c.Captured > 0 {
			c.Status = statusCaptured
		}
	case "refund":
		if c.Captured == 0 {
			return nil, &opError{http.StatusConflict, CodeNotRefundable, "nothing was captured (the charge is " + c.Status + ")"}
		}
		rest := c.Captured - c.Refunded - pendingRefunds(c)
		if req.amount == 0 {
			req.amount = rest
		}
		if req.amount <= 0 || req.amount > rest {
			return nil, &opError{http.StatusBadRequest, CodeAmountTooLarge, "more than is left to refund"}
		}
		op.Amount = req.amount
		switch {
		case c.behaviour == behaveRefundFails, c.PaymentMethod == "ach-debit":
			// Pending: a bank refund settles later, and the failing card's refund fails later.
			op.Status = opPending
			s.scheduleRefundLocked(c, op.ID)
		default:
			op.Status = opSucceeded
			c.Refunded += req.amount
		}
	default:
		return nil, &opError{http.StatusBadRequest, "invalid_operation", "operation must be capture, void or refund"}
	}
	if op.Status != opPending {
		op.Completed = s.now()
	}
	c.Operations = append(c.Operations, *op)
	switch {
	case op.Kind == "capture" && op.Status == opSucceeded:
		s.emitLaterLocked(EventCaptureSettled, c, op)
	case op.Kind == "refund" && op.Status == opSucceeded:
		s.emitLaterLocked(EventRefundSucceeded, c, op)
	}
	return op, nil
}

func opPrefix(kind string) string {
	switch kind {
	case "capture":
		return "cp_"
	case "void":
		return "vd_"
	}
	return "re_"
}

// pendingRefunds sums the charge's refunds still pending: they count against what is left.
func pendingRefunds(c *Charge) int64 {
	var n int64
	for _, o := range c.Operations {
		if o.Kind == "refund" && o.Status == opPending {
			n += o.Amount
		}
	}
	return n
}

// scheduleRefundLocked settles a pending refund after Config.SettleAfter: it succeeds, or fails
// for the failing card and account, and the result goes out as an event.
func (s *Provider) scheduleRefundLocked(c *Charge, opID string) {
	id := c.ID
	s.after(s.cfg.SettleAfter, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		ch := s.byID[id]
		if ch == nil {
			return
		}
		for i := range ch.Operations {
			op := &ch.Operations[i]
			if op.ID != opID || op.Status != opPending {
				continue
			}
			op.Completed = s.now()
			if ch.behaviour == behaveRefundFails {
				op.Status, op.ErrorCode = opFailed, CodeRefundFailed
				s.emitLocked(EventRefundFailed, ch, op)
				return
			}
			op.Status = opSucceeded
			ch.Refunded += op.Amount
			s.emitLocked(EventRefundSucceeded, ch, op)
		}
	})
}

// scheduleChargebackLocked makes the cardholder's bank take a captured charge back after
// Config.SettleAfter (the chargeback test card).
func (s *Provider) scheduleChargebackLocked(c *Charge) {
	id := c.ID
	s.after(s.cfg.SettleAfter, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if ch := s.byID[id]; ch != nil && !ch.Disputed {
			ch.Disputed = true
			s.emitLocked(EventChargeback, ch, nil)
		}
	})
}

// chargeLocked returns the charge with id, nil when unknown (the caller holds s.mu).
func (s *Provider) chargeLocked(id string) *Charge {
	c := s.byID[id]
	if c != nil {
		s.expireLocked(c)
	}
	return c
}

// findOp returns the operation of c made with key.
func findOp(c *Charge, key string) *Operation {
	for i := range c.Operations {
		if c.Operations[i].IdempotencyKey == key {
			return &c.Operations[i]
		}
	}
	return nil
}

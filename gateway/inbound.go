package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
)

// Results posted from outside: a provider tells paybridge that a capture settled, a refund
// completed or failed, a hold expired or a chargeback arrived, by POSTing a signed event to
// /webhooks/provider/{name} (docs/gateway.md). Each event is verified — the signature with the
// provider's webhook secret, its timestamp within the tolerance — and applied to the ledger
// once: an event id already applied is answered 200 "duplicate" and changes nothing (a
// replay is refused), and applying is itself idempotent (a refund that is already final, a
// chargeback already recorded), so a retry after a lost answer cannot apply twice.

// ProviderHooksConfig configures the inbound endpoint.
type ProviderHooksConfig struct {
	// Secrets maps a provider endpoint name (the last path element) to its webhook secret.
	Secrets   map[string]string
	Lifecycle *Lifecycle    // applies the events
	Tolerance time.Duration // how far a signature's timestamp may be from now (default 5m)
	Logger    *slog.Logger
	Now       func() time.Time
}

// ProviderHooks is the handler of POST /webhooks/provider/{name}.
type ProviderHooks struct {
	cfg ProviderHooksConfig
}

// maxProviderEvent bounds an inbound event body.
const maxProviderEvent = 64 << 10

// NewProviderHooks returns the inbound endpoint's handler.
func NewProviderHooks(cfg ProviderHooksConfig) *ProviderHooks {
	if cfg.Tolerance == 0 {
		cfg.Tolerance = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &ProviderHooks{cfg: cfg}
}

func hookAnswer(w http.ResponseWriter, status int, state, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"status": state, "message": msg})
	_, _ = w.Write(b)
}

// ServeHTTP implements http.Handler.
func (h *ProviderHooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		hookAnswer(w, http.StatusMethodNotAllowed, "refused", "POST only")
		return
	}
	name := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	secret, ok := h.cfg.Secrets[name]
	if !ok || secret == "" {
		hookAnswer(w, http.StatusNotFound, "refused", "no such provider endpoint")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxProviderEvent))
	if err != nil {
		hookAnswer(w, http.StatusRequestEntityTooLarge, "refused", "body too large")
		return
	}
	if err := verifySignatureAt(r.Header.Get(SignatureHeader), body, secret, h.cfg.Tolerance, h.cfg.Now()); err != nil {
		msg := "signature does not verify"
		if errors.Is(err, ErrSignatureExpired) {
			msg = "signature timestamp outside the tolerance"
		}
		h.cfg.Logger.Warn("provider webhook refused", "provider", name, "reason", msg)
		hookAnswer(w, http.StatusUnauthorized, "refused", msg)
		return
	}
	var ev ProviderEvent
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" || ev.Type == "" {
		hookAnswer(w, http.StatusBadRequest, "refused", "not a provider event")
		return
	}
	ctx := r.Context()
	ledger := h.cfg.Lifecycle.cfg.Ledger
	if seen, err := ledger.ProviderEventSeen(ctx, name, ev.ID); err != nil {
		hookAnswer(w, http.StatusServiceUnavailable, "retry", "the ledger is not available")
		return
	} else if seen {
		hookAnswer(w, http.StatusOK, "duplicate", "event already applied")
		return
	}
	state, status, msg := h.apply(context.WithoutCancel(ctx), name, &ev)
	if status >= 500 {
		hookAnswer(w, status, state, msg)
		return
	}
	if _, err := ledger.RecordProviderEvent(context.WithoutCancel(ctx), name, ev.ID, ev.Type, h.cfg.Now()); err != nil {
		h.cfg.Logger.Error("recording a provider event", "provider", name, "event", ev.ID, "err", err)
	}
	h.cfg.Logger.Info("provider webhook", "provider", name, "event", ev.ID, "type", ev.Type, "result", state)
	hookAnswer(w, status, state, msg)
}

// apply changes the ledger as the event says.
func (h *ProviderHooks) apply(ctx context.Context, name string, ev *ProviderEvent) (state string, status int, msg string) {
	l := h.cfg.Lifecycle
	ledger := l.cfg.Ledger
	actor := payment.Actor{Kind: payment.ActorProvider, ID: name}
	d := &ev.Data
	internal := func(err error) (string, int, string) {
		h.cfg.Logger.Error("applying a provider event", "provider", name, "event", ev.ID, "err", err)
		return "retry", http.StatusServiceUnavailable, "could not apply the event now"
	}
	switch ev.Type {
	case "capture.settled", "refund.succeeded", "refund.failed":
		op, err := ledger.OpByKey(ctx, d.IdempotencyKey)
		switch {
		case errors.Is(err, ErrNotFound):
			return "ignored", http.StatusAccepted, "no operation of paybridge's has that key"
		case err != nil:
			return internal(err)
		}
		if want := FormatAmount(payment.Amount{Minor: op.AmountMinor, Currency: op.Currency}); d.Amount != want || !strings.EqualFold(d.Currency, op.Currency) {
			return "refused", http.StatusUnprocessableEntity, "amount " + pan.Redact(d.Amount) + " does not match the operation's " + want
		}
		if ev.Type == "capture.settled" {
			if op.Kind != payment.OpCapture || op.State != payment.OpSucceeded {
				return "ignored", http.StatusAccepted, "not a completed capture"
			}
			if !op.SettledAt.IsZero() {
				return "applied", http.StatusOK, "already settled"
			}
			if err := ledger.NoteOpSettled(ctx, op.ID, actor, l.cfg.Now()); err != nil {
				return internal(err)
			}
			facts, err := ledger.PaymentFacts(ctx, op.PaymentID)
			if err != nil {
				return internal(err)
			}
			l.emit(callOf(op, facts), &event.CaptureSettled{Operation: opEvent(op, facts, actor)})
			return "applied", http.StatusOK, "capture settled"
		}
		if op.Kind != payment.OpRefund {
			return "ignored", http.StatusAccepted, "not a refund"
		}
		if op.State != payment.OpPending {
			return "applied", http.StatusOK, "the refund is already " + op.State
		}
		out := OpOutcome{State: payment.OpSucceeded, ProviderID: pan.Redact(d.OperationID), Actor: actor, At: l.cfg.Now()}
		if ev.Type == "refund.failed" {
			out.State, out.ErrorCode = payment.OpFailed, pan.Redact(d.ErrorCode)
		}
		if _, err := l.finish(ctx, op, out); err != nil {
			return internal(err)
		}
		return "applied", http.StatusOK, "refund " + out.State
	case "authorization.expired", "chargeback.created":
		f, err := ledger.PaymentByProviderID(ctx, d.TransactionID)
		switch {
		case errors.Is(err, ErrNotFound):
			return "ignored", http.StatusAccepted, "no payment of paybridge's has that id"
		case err != nil:
			return internal(err)
		}
		mark, amount, detail := MarkExpired, f.AuthorizedMinor-f.CapturedMinor, "the provider reported the hold expired"
		if ev.Type == "chargeback.created" {
			a, perr := ParseAmount(d.Amount, f.Currency)
			if perr != nil {
				return "refused", http.StatusUnprocessableEntity, "amount is not a decimal amount in " + f.Currency
			}
			mark, amount, detail = MarkChargedBack, a.Minor, "chargeback: "+d.Reason
		}
		if _, err := l.mark(ctx, f, mark, actor, amount, detail); err != nil {
			if errors.Is(err, ErrPaymentState) {
				return "applied", http.StatusOK, "nothing to change: the payment is " + f.State
			}
			return internal(err)
		}
		return "applied", http.StatusOK, mark
	}
	return "ignored", http.StatusAccepted, "event type not handled"
}

// ParseSecrets reads provider webhook secrets written as "name:secret,name:secret" (commas or
// white space between pairs), as `serve --provider-webhook-secrets` takes them. Names are
// letters, digits, '-' and '_' (the last element of /webhooks/provider/{name}); the secrets are
// not echoed in errors.
func ParseSecrets(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		name, secret, ok := strings.Cut(p, ":")
		if !ok || name == "" || secret == "" {
			return nil, fmt.Errorf("provider webhook secrets: an entry is not name:secret (name %q)", name)
		}
		for _, r := range name {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return nil, fmt.Errorf("provider webhook secrets: name %q: letters, digits, - and _ only", name)
			}
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("provider webhook secrets: %q is given twice", name)
		}
		out[name] = secret
	}
	return out, nil
}

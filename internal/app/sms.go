package app

import (
	"context"
	"log/slog"
	"regexp"
	"time"

	"github.com/paybridge/paybridge/gateway"
	"github.com/paybridge/paybridge/store"
)

// recordedSender texts through a real SMS provider (--sms-url) and keeps a record of every
// text in the outbox for the console, with the link's secret token cut out: the token is
// stored nowhere in clear (the link table keeps its hash), so a copy of the database cannot
// pay a link. In the default outbox mode the outbox is the delivery channel itself and keeps
// the whole text.
type recordedSender struct {
	next  gateway.SMSSender
	store *store.Store
	log   *slog.Logger
}

// linkToken matches the secret part of a payment link in a text.
var linkToken = regexp.MustCompile(`(/pay/)[A-Za-z0-9_~.-]+`)

func redactLinkTokens(body string) string { return linkToken.ReplaceAllString(body, "${1}…") }

func (r recordedSender) SendSMS(ctx context.Context, m *gateway.SMS) (string, error) {
	id, err := r.next.SendSMS(ctx, m)
	now := time.Now()
	rec := store.SMS{To: m.To, From: m.From, Body: redactLinkTokens(m.Body), CallID: m.CallID, LinkID: m.LinkID,
		CreatedAt: now}
	if err != nil {
		rec.Status, rec.Error = store.SMSFailed, err.Error()
	} else {
		rec.Status, rec.ProviderID, rec.SentAt = store.SMSSent, id, now
	}
	if _, serr := r.store.EnqueueSMS(context.WithoutCancel(ctx), rec); serr != nil {
		r.log.Warn("recording a sent SMS", "link", m.LinkID, "err", serr)
	}
	return id, err
}

package gateway

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/internal/cardsafe"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
)

// pageData is what the payment page template shows. It never holds card data.
type pageData struct {
	Nonce string
	// The merchant (brand): name, support line, logo as a data: URL.
	Merchant, Support string
	Logo              template.URL
	Title             string
	Message           string
	ShowForm          bool
	Amount            string // with its currency, written for the merchant's locale: £12.34
	Reference         string
	Error             string      // a message about the whole submission (a decline)
	Errors            []pageError // every field in error, in the page's order
	Paid              bool
	Confirmation      string
	Invoice           *invoicePage // the merchant's invoice, when the link has one
	// The link's terms: a hold instead of a charge (Authorize, with the hold's expiry once
	// placed), a bank account instead of a card (Bank, with the account types to choose from
	// and, once paid, the account's mask).
	Authorize     bool
	HoldUntil     string
	Bank          bool
	AccountTypes  []accountTypeOption
	MaskedAccount string
}

// accountTypeOption is one bank account type of the page's choice.
type accountTypeOption struct {
	Value, Label string
	Selected     bool
}

// accountTypeLabels name the bank account types on the page.
var accountTypeLabels = map[string]string{payment.BankConsumerChecking: "Personal checking",
	payment.BankConsumerSavings: "Personal savings", payment.BankCommercialChecking: "Business checking"}

func accountTypeOptions(selected string) []accountTypeOption {
	out := make([]accountTypeOption, len(payment.BankAccountTypes))
	for i, t := range payment.BankAccountTypes {
		out[i] = accountTypeOption{Value: t, Label: accountTypeLabels[t], Selected: t == selected}
	}
	return out
}

// pageError is one field's error as the page shows it: in the summary (a link to the field)
// and under the field.
type pageError struct {
	Field, Label, Message string
}

// FieldError is the message of field's error, "" when it has none (for the template).
func (d pageData) FieldError(field string) string {
	for _, e := range d.Errors {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

// fieldLabels name the page's fields in its error summary.
var fieldLabels = map[string]string{"cc-number": "Card number", "cc-exp": "Expiry date", "cc-csc": "Security code", "postal-code": "Postcode",
	"bank-routing-number": "Routing number", "bank-account-number": "Account number",
	"bank-account-number-confirm": "Account number again", "bank-account-type": "Account type"}

// withBrand puts the merchant on the page.
func (d pageData) withBrand(b brand) pageData {
	d.Merchant, d.Support, d.Logo = b.Name, b.Support, b.Logo
	return d
}

// invoicePage is an invoice as the payment page shows it.
type invoicePage struct {
	ID          string
	Description string
	Lines       []invoicePageLine
}

type invoicePageLine struct {
	Description string
	Quantity    int
	Amount      string // each, with its currency
}

// invoiceOnPage is what the page shows of a link's invoice (nil: none); price writes an
// amount in minor units as the page writes the total.
func invoiceOnPage(inv *payment.Invoice, price func(minor int64) string) *invoicePage {
	if inv == nil {
		return nil
	}
	out := &invoicePage{ID: pan.Redact(inv.ID), Description: pan.Redact(inv.Description)}
	for _, l := range inv.Lines {
		out.Lines = append(out.Lines, invoicePageLine{Description: pan.Redact(l.Description), Quantity: l.Quantity,
			Amount: price(l.AmountMinor)})
	}
	return out
}

// eventInvoice is an invoice as events carry it.
func eventInvoice(inv *payment.Invoice) *event.Invoice {
	if inv == nil {
		return nil
	}
	w := toInvoiceWire(inv, "")
	out := &event.Invoice{ID: w.ID, Description: w.Description, Metadata: w.Metadata}
	for _, l := range inv.Lines {
		out.Lines = append(out.Lines, event.InvoiceLine{Description: pan.Redact(l.Description), Quantity: l.Quantity, AmountMinor: l.AmountMinor})
	}
	return out
}

// setPageHeaders sets the strict headers of every payment page and returns the style nonce.
// No script runs on the page at all; the only style is the nonce'd block; the only image is
// the merchant's logo, inline as a data: URL; nothing loads from anywhere else; the token in
// the URL is never sent on as a referrer.
func setPageHeaders(w http.ResponseWriter) string {
	nonce := randomHex(16)
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+nonce+"'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Robots-Tag", "noindex, nofollow")
	return nonce
}

// render writes a page; one without a merchant names the default one.
func (l *Links) render(w http.ResponseWriter, status int, d pageData) {
	d.Nonce = setPageHeaders(w)
	if d.Merchant == "" {
		d = d.withBrand(l.brandOf(nil))
	}
	var buf bytes.Buffer
	if err := l.tmpl.Execute(&buf, d); err != nil {
		l.log.Error("payment page template", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// The pages for links that cannot be paid. They say nothing about any other link.
var (
	pageInvalid    = pageData{Title: "Payment link not valid", Message: "This payment link is not valid. Check that you opened the whole link from the text message, or ask us to send a new one."}
	pageExpired    = pageData{Title: "Payment link expired", Message: "This payment link has expired. Please call us or ask for a new link."}
	pageUsed       = pageData{Title: "Payment link already used", Message: "This payment link has already been used. If you think this is wrong, please call us."}
	pageFailed     = pageData{Title: "Payment link closed", Message: "This payment link can no longer be used because the card was declined too many times. Please call us."}
	pageFailedBank = pageData{Title: "Payment link closed", Message: "This payment link can no longer be used because the bank account was declined too many times. Please call us."}
	pageEnded      = pageData{Title: "Payment link closed", Message: "This payment link can no longer be used: the payment it was sent for has ended. Please call us."}
	pageBusy       = pageData{Title: "Payment in progress", Message: "A payment with this link is being processed. Wait a moment, then reload this page."}
	pageLimited    = pageData{Title: "Too many requests", Message: "Too many attempts from your connection. Please wait a minute and try again."}
	pageForeign    = pageData{Title: "Payment not accepted", Message: "This payment form can only be sent from its own page. Open the link from the text message again."}
	pageTrouble    = pageData{Title: "Payment not confirmed", Message: "We could not confirm your payment with the bank. Please try again in a few minutes: you will not be charged twice."}
	pageBroken     = pageData{Title: "Something went wrong", Message: "Something went wrong on our side. Please try again later."}
)

// failedPage is the page of a link its failed tries closed, in the words of what was tried: a
// card, or a bank account.
func failedPage(link *Link) pageData {
	if link.Terms.IsBank() {
		return pageFailedBank
	}
	return pageFailed
}

func (l *Links) limited(w http.ResponseWriter, r *http.Request, keys ...*rateKey) bool {
	for _, k := range keys {
		if ok, retry := k.lim.allow(k.key); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds())+1))
			l.render(w, http.StatusTooManyRequests, pageLimited)
			return true
		}
	}
	return false
}

type rateKey struct {
	lim *rateLimiter
	key string
}

// lookup resolves the token of r to its link, rendering the page itself when there is none.
func (l *Links) lookup(w http.ResponseWriter, r *http.Request) (string, *Link, bool) {
	hash, err := ParseLinkToken(r.PathValue("token"))
	if err != nil {
		l.unknownToken(w, r)
		return "", nil, false
	}
	link, err := l.cfg.Store.LinkByHash(r.Context(), hash)
	if errors.Is(err, ErrNotFound) {
		l.unknownToken(w, r)
		return "", nil, false
	}
	if err != nil {
		l.log.Error("link lookup failed", "error", err)
		l.render(w, http.StatusInternalServerError, pageBroken)
		return "", nil, false
	}
	b := l.brandOf(link)
	switch {
	case link.State == LinkUsed:
		l.render(w, http.StatusGone, pageUsed.withBrand(b))
	case link.State == LinkFailed:
		l.render(w, http.StatusGone, failedPage(link).withBrand(b))
	case !l.cfg.Now().Before(link.ExpiresAt):
		l.render(w, http.StatusGone, pageExpired.withBrand(b))
	case link.State == LinkClaimed:
		l.render(w, http.StatusConflict, pageBusy.withBrand(b))
	default:
		return hash, link, true
	}
	return "", nil, false
}

func (l *Links) formPage(link *Link) pageData {
	b := l.brandOf(link)
	d := pageData{Title: "Pay " + b.Name, ShowForm: true, Amount: b.price(link.AmountMinor, link.Currency),
		Reference: link.Reference, Invoice: invoiceOnPage(link.Invoice, func(minor int64) string { return b.price(minor, link.Currency) }),
		Authorize: link.Terms.MethodOf() == payment.MethodAuthorize, Bank: link.Terms.IsBank()}.withBrand(b)
	if d.Bank {
		d.AccountTypes = accountTypeOptions(link.Terms.AccountType())
	}
	return d
}

// handleGet shows the payment form. It never changes the link: SMS apps and mail scanners
// fetch links to preview them.
func (l *Links) handleGet(w http.ResponseWriter, r *http.Request) {
	hash, link, ok := l.lookup(w, r)
	if !ok {
		return
	}
	if l.limited(w, r, &rateKey{l.perView, hash}) {
		return
	}
	// A session the caller has since paid by phone makes the link moot. Looking costs one
	// provider GET; if the provider does not answer, the form is shown and POST decides.
	if c, err := l.cfg.Connectors.Resolve(link.ConnectorKey, link.Connector); err == nil && c.Type() == "session" {
		if s, err := c.StartSession(r.Context(), &payment.SessionRequest{CallID: link.CallID, SessionID: link.SessionID}); err == nil {
			switch s.State {
			case SessionCompleted:
				l.render(w, http.StatusGone, pageUsed.withBrand(l.brandOf(link)))
				return
			case SessionFailed, SessionExpired:
				// Ended at the provider (by phone, or its own expiry): nothing was declined here.
				l.render(w, http.StatusGone, pageEnded.withBrand(l.brandOf(link)))
				return
			}
		}
	}
	l.emit(link.CallID, &event.LinkOpened{LinkID: link.ID})
	l.render(w, http.StatusOK, l.formPage(link))
}

// handlePost takes the card, claims the link (exactly one concurrent submission wins), and
// completes the link's session through its connector.
func (l *Links) handlePost(w http.ResponseWriter, r *http.Request) {
	if err := l.xorigin.Check(r); err != nil {
		l.log.Warn("payment link: cross-site submission refused", "origin", clip(r.Header.Get("Origin"), 100),
			"sec_fetch_site", clip(r.Header.Get("Sec-Fetch-Site"), 20), "client", l.cfg.ClientIP(r))
		l.render(w, http.StatusForbidden, pageForeign)
		return
	}
	hash, link, ok := l.lookup(w, r)
	if !ok {
		return
	}
	if l.limited(w, r, &rateKey{l.perLink, hash}) {
		return
	}
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		d := l.formPage(link)
		d.Error = "Please submit the form on this page."
		l.render(w, http.StatusUnsupportedMediaType, d)
		return
	}
	body, err := readFormBody(r.Body)
	cardsafe.BodyRead(w, r)
	if err != nil {
		pan.Zero(body)
		d := l.formPage(link)
		d.Error = "The form could not be read. Please try again."
		l.render(w, http.StatusBadRequest, d)
		return
	}
	// The link's terms decide the form: a bank account or a card. Either way the digits go
	// from the body bytes straight into secure buffers.
	var form *cardForm
	var bank *bankForm
	if link.Terms.IsBank() {
		bank, err = parseBankForm(body, link.Terms.AccountType())
	} else {
		form, err = parseCardForm(body, l.cfg.Now())
	}
	pan.Zero(body)
	if err != nil {
		d := l.formPage(link)
		var fes formErrors
		var fe *formFieldError
		switch {
		case errors.As(err, &fes):
			for _, e := range fes {
				d.Errors = append(d.Errors, pageError{Field: e.Field, Label: fieldLabels[e.Field], Message: e.Message})
			}
		case errors.As(err, &fe):
			d.Error = "The form could not be read (" + fe.Message + "). Please try again."
		}
		l.render(w, http.StatusUnprocessableEntity, d)
		return
	}
	wipe := func() {
		if form != nil {
			form.Wipe()
		}
		if bank != nil {
			bank.Wipe()
		}
	}
	defer wipe()

	claimed, err := l.cfg.Store.ClaimLink(r.Context(), hash, l.cfg.Now())
	switch {
	case errors.Is(err, ErrLinkBusy):
		l.render(w, http.StatusConflict, pageBusy.withBrand(l.brandOf(link)))
		return
	case errors.Is(err, ErrLinkUsed):
		l.render(w, http.StatusGone, pageUsed.withBrand(l.brandOf(link)))
		return
	case errors.Is(err, ErrLinkExpired):
		l.render(w, http.StatusGone, pageExpired.withBrand(l.brandOf(link)))
		return
	case err != nil:
		l.render(w, http.StatusNotFound, pageInvalid)
		return
	}
	ctx := r.Context()
	finish := func(o LinkOutcome) {
		o.At = l.cfg.Now()
		if err := l.cfg.Store.FinishLink(context.WithoutCancel(ctx), hash, o); err != nil {
			l.log.Error("finishing a link claim failed", "link", claimed.ID, "error", err)
		}
	}
	hops, err := l.route(claimed)
	if err != nil {
		finish(LinkOutcome{Retry: true})
		l.log.Error("payment link connector is not open", "link", claimed.ID, "connector", claimed.Connector, "error", err)
		l.render(w, http.StatusServiceUnavailable, pageTrouble.withBrand(l.brandOf(link)))
		return
	}
	terms := claimed.Terms
	req := &payment.Request{CallID: claimed.CallID, Channel: event.ChannelLink, SessionID: claimed.SessionID,
		Amount: payment.Amount{Minor: claimed.AmountMinor, Currency: claimed.Currency}, Method: terms.MethodOf(),
		Reference: claimed.Reference, Description: "Payment link " + claimed.ID, Invoice: claimed.Invoice,
		PaymentMethod: payment.PaymentMethodCard}
	brand, masked, maskedAccount, accountType := "", "", "", ""
	if bank != nil {
		req.PaymentMethod = payment.PaymentMethodACH
		req.Bank = &payment.BankAccount{RoutingNumber: bank.Routing, AccountNumber: bank.Account, Type: bank.Type}
		maskedAccount, accountType = bank.Account.MaskAccount(), bank.Type
	} else {
		form.Number.Use(func(d []byte) { brand = cardBrand(d) })
		masked = form.Number.Mask()
		req.Card = payment.Card{Number: form.Number, SecurityCode: form.CSC, ExpMonth: form.ExpMonth,
			ExpYear: form.ExpYear, PostalCode: form.PostalCode, Brand: brand}
	}
	// The key changes only after a definite decline, so a retry after "not confirmed" reuses
	// it and the provider cannot charge twice; each connector of the route has its own.
	key := claimed.ID + "-" + strconv.Itoa(claimed.Attempts+1)
	res, took, routes, err := l.offer(ctx, claimed, hops, req, key)
	wipe() // the connectors have sent (or failed to send) the digits: they are gone now
	// The facts of this submission, for the payment record (event.Payment).
	paymentRecord := func(result, code, confirmation, session string) event.Payment {
		if session == "" {
			session = claimed.SessionID
		}
		p := event.Payment{SessionID: session, Channel: event.ChannelLink, Connector: took.name, ConnectorKey: took.conn.Key(),
			Method: req.Method, AmountMinor: claimed.AmountMinor, Currency: claimed.Currency,
			Reference: claimed.Reference, Result: result, ErrorCode: code, MaskedCard: masked, CardType: brand,
			Confirmation: confirmation, AttemptKey: took.key, Attempts: claimed.Attempts + 1,
			PaymentMethod: req.PaymentMethod, Invoice: eventInvoice(claimed.Invoice)}
		if bank != nil {
			p.BankAccountType, p.MaskedAccount = accountType, maskedAccount
		}
		if res != nil && result == event.ResultSuccess && req.Method == payment.MethodAuthorize {
			p.AuthorizedUntil = res.AuthorizedUntil
		}
		if len(routes) > 1 { // a single connector's route says nothing the record does not
			p.Routes = routes
		}
		return p
	}
	if errors.Is(err, ErrProviderRejected) {
		// The provider refused the request itself: nothing was charged under this key (a
		// pending earlier try was looked up first), so the next submission gets a new key.
		failed := claimed.Attempts+1 >= l.cfg.MaxAttempts
		finish(LinkOutcome{Failed: failed})
		l.log.Warn("payment link: provider rejected the payment", "link", claimed.ID, "error", ConnectorError(err))
		if failed {
			l.render(w, http.StatusPaymentRequired, failedPage(link).withBrand(l.brandOf(link)))
			return
		}
		d := l.formPage(claimed)
		d.Error = "The payment could not be processed. Please check the details and try again."
		l.render(w, http.StatusUnprocessableEntity, d)
		return
	}
	if err != nil {
		// No answer: the outcome is unknown, so the next submission reuses this key.
		finish(LinkOutcome{Retry: true})
		l.log.Warn("payment link: provider did not confirm", "link", claimed.ID, "error", ConnectorError(err))
		l.render(w, http.StatusServiceUnavailable, pageTrouble.withBrand(l.brandOf(link)))
		return
	}
	switch {
	case res.Status == payment.Approved:
		finish(LinkOutcome{Paid: true, Confirmation: res.ConfirmationCode})
		l.emit(claimed.CallID, &event.LinkPaid{LinkID: claimed.ID,
			Payment: paymentRecord(event.ResultSuccess, "", res.ConfirmationCode, res.SessionID)})
		b := l.brandOf(claimed)
		l.render(w, http.StatusOK, paidPage(b, claimed, res, maskedAccount))
	case res.ErrorCode == "session_completed":
		// The caller finished paying by phone after the link was sent.
		finish(LinkOutcome{Paid: true})
		l.render(w, http.StatusGone, pageUsed.withBrand(l.brandOf(link)))
	default:
		failed := claimed.Attempts+1 >= l.cfg.MaxAttempts || strings.HasPrefix(res.ErrorCode, "session_")
		finish(LinkOutcome{Failed: failed})
		l.emit(claimed.CallID, &event.LinkDeclined{LinkID: claimed.ID, Final: failed,
			Payment: paymentRecord(event.ResultDeclined, res.ErrorCode, "", res.SessionID)})
		if failed {
			l.render(w, http.StatusPaymentRequired, failedPage(link).withBrand(l.brandOf(link)))
			return
		}
		d := l.formPage(claimed)
		d.Error = declineText(res.ErrorCode) + " You can try another card."
		if bank != nil {
			d.Error = declineText(res.ErrorCode) + " You can try another account."
		}
		l.render(w, http.StatusPaymentRequired, d)
	}
}

// readFormBody reads a submission into one buffer allocated up front, so that no partial copy of
// the card number is left behind by a growing buffer; the caller zeroes the result.
func readFormBody(r io.Reader) ([]byte, error) {
	buf := make([]byte, maxFormBody+1)
	n, err := io.ReadFull(r, buf)
	switch {
	case err == nil:
		pan.Zero(buf)
		return nil, errors.New("form too large")
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return buf[:n], nil
	}
	pan.Zero(buf)
	return nil, err
}

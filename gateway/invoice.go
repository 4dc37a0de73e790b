package gateway

import (
	"strconv"
	"strings"

	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
)

// invoiceWire is an invoice as the session and generic APIs carry it: line amounts are
// decimals in the payment's currency. Texts pass through the redactor on the way out.
type invoiceWire struct {
	ID          string            `json:"id"`
	Description string            `json:"description,omitempty"`
	Lines       []invoiceLineWire `json:"lines,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

type invoiceLineWire struct {
	Description string `json:"description"`
	Quantity    int    `json:"quantity"`
	Amount      string `json:"amount"`
}

// toInvoiceWire converts inv for currency (nil stays nil).
func toInvoiceWire(inv *payment.Invoice, currency string) *invoiceWire {
	if inv == nil {
		return nil
	}
	w := &invoiceWire{ID: pan.Redact(inv.ID), Description: pan.Redact(inv.Description)}
	for _, l := range inv.Lines {
		w.Lines = append(w.Lines, invoiceLineWire{Description: pan.Redact(l.Description), Quantity: l.Quantity,
			Amount: FormatAmount(payment.Amount{Minor: l.AmountMinor, Currency: currency})})
	}
	if len(inv.Metadata) > 0 {
		w.Metadata = map[string]string{}
		for k, v := range inv.Metadata {
			w.Metadata[k] = pan.RedactValue(k, v)
		}
	}
	return w
}

// stripeInvoiceMetadata puts an invoice into a Stripe charge's metadata: invoice_id, the lines
// as "description|quantity|amount;…" and the invoice's own metadata as invoice_meta_KEY.
func stripeInvoiceMetadata(inv *payment.Invoice, currency string, set func(k, v string)) {
	if inv == nil {
		return
	}
	w := toInvoiceWire(inv, currency)
	set("metadata[invoice_id]", w.ID)
	var lines []string
	for _, l := range w.Lines {
		d := strings.NewReplacer("|", "/", ";", ",").Replace(l.Description)
		lines = append(lines, d+"|"+strconv.Itoa(l.Quantity)+"|"+l.Amount)
	}
	if len(lines) > 0 {
		set("metadata[invoice_lines]", strings.Join(lines, ";"))
	}
	for k, v := range w.Metadata {
		set("metadata[invoice_meta_"+k+"]", v)
	}
}

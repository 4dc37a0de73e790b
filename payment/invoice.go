package payment

// Invoice is the merchant's invoice a payment settles (the ProcessOut model: an order with its
// lines). It travels with the payment to the provider, into the payment record and its
// webhooks, and onto the payment page. It never holds card data; its texts pass through the
// redactor on the way to any output.
type Invoice struct {
	ID          string            `json:"id"`
	Description string            `json:"description,omitempty"`
	Lines       []InvoiceLine     `json:"lines,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

// InvoiceLine is one line of an invoice: Quantity items at AmountMinor each (in the payment's
// currency).
type InvoiceLine struct {
	Description string `json:"description"`
	Quantity    int    `json:"quantity"`
	AmountMinor int64  `json:"amountMinor"`
}

// Total is the sum of the lines (0 without lines).
func (inv *Invoice) Total() int64 {
	if inv == nil {
		return 0
	}
	var t int64
	for _, l := range inv.Lines {
		t += int64(l.Quantity) * l.AmountMinor
	}
	return t
}

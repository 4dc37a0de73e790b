package sandbox

import "net/http"

// Account is a billing account of the demo billing API (GET /billing/accounts/{id}/balance),
// which the example plans look up before they take a payment.
type Account struct {
	ID       string
	Amount   string // decimal balance
	Currency string
	Mobile   string
	Name     string
}

// DemoAccounts returns the billing accounts the example plans and the documentation use
// (docs/gateway.md): a new slice on every call, for Config.Accounts.
func DemoAccounts() []Account {
	return []Account{
		{ID: "12345678", Amount: "12.34", Currency: "GBP", Mobile: "+447700900123", Name: "A. Customer"},
		{ID: "87654321", Amount: "250.00", Currency: "GBP", Mobile: "+447700900456", Name: "B. Customer"},
		{ID: "11112222", Amount: "0.00", Currency: "GBP", Mobile: "+447700900789", Name: "C. Customer"},
		{ID: "55556666", Amount: "99.99", Currency: "USD", Mobile: "+15555550100", Name: "D. Customer"},
	}
}

func (s *Provider) handleBalance(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	for _, a := range s.cfg.Accounts {
		if a.ID == id {
			writeJSON(w, http.StatusOK, map[string]any{
				"account":  map[string]string{"id": a.ID, "name": a.Name},
				"balance":  map[string]string{"amount": a.Amount, "currency": a.Currency},
				"customer": map[string]string{"mobile": a.Mobile},
			})
			return
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]string{"error": "account not found"})
}

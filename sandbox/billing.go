package gateway

import "net/http"

// SandboxAccount is a demo billing account the example plans look up.
type SandboxAccount struct {
	ID       string
	Amount   string // decimal balance
	Currency string
	Mobile   string
	Name     string
}

// SandboxAccounts are the seeded billing accounts of GET /billing/accounts/{id}/balance.
var SandboxAccounts = []SandboxAccount{
	{ID: "12345678", Amount: "12.34", Currency: "GBP", Mobile: "+447700900123", Name: "A. Customer"},
	{ID: "87654321", Amount: "250.00", Currency: "GBP", Mobile: "+447700900456", Name: "B. Customer"},
	{ID: "11112222", Amount: "0.00", Currency: "GBP", Mobile: "+447700900789", Name: "C. Customer"},
	{ID: "55556666", Amount: "99.99", Currency: "USD", Mobile: "+15555550100", Name: "D. Customer"},
}

func (s *Sandbox) handleBalance(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	for _, a := range SandboxAccounts {
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

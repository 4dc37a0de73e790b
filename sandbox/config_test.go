package sandbox

import (
	"maps"
	"net/http"
	"strings"
	"testing"
)

func TestParsePaymentKeys(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]string
		err  string
	}{
		{"", nil, ""},
		{" , ", nil, ""},
		{"acct-1:pk_a", map[string]string{"acct-1": "pk_a"}, ""},
		{"acct-1:pk_a, acct-2:pk:b\nacct-3:c", map[string]string{"acct-1": "pk_a", "acct-2": "pk:b", "acct-3": "c"}, ""},
		{"acct-1", nil, "not account:key"},
		{"acct-1:", nil, "not account:key"},
		{":pk_secret", nil, "not account:key"},
		{"a:pk_one,a:pk_two", nil, "given twice"},
	} {
		got, err := ParsePaymentKeys(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || !maps.Equal(got, tc.want)):
			t.Errorf("%q: %v %v, want %v", tc.in, got, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "pk_") {
			t.Errorf("%q: the error echoes a key: %v", tc.in, err)
		}
	}
}

// The billing accounts are configuration: the demo accounts by default, the given ones, or
// none; a provider's accounts are its own (changing the slice given does not change them).
func TestBillingAccountsAreConfiguration(t *testing.T) {
	balance := func(e *env, id string) (int, map[string]any) {
		return doJSON(t, "GET", e.srv.URL+"/billing/accounts/"+id+"/balance", "", nil)
	}
	if st, m := balance(newEnv(t, Config{}), "87654321"); st != http.StatusOK || m["balance"].(map[string]any)["amount"] != "250.00" {
		t.Errorf("a demo account: %d %v", st, m)
	}
	mine := []Account{{ID: "42", Amount: "1.50", Currency: "EUR", Mobile: "+33612345678", Name: "E. Client"}}
	e := newEnv(t, Config{Accounts: mine})
	mine[0].Amount = "999.00"
	st, m := balance(e, "42")
	if st != http.StatusOK || m["balance"].(map[string]any)["amount"] != "1.50" || m["customer"].(map[string]any)["mobile"] != "+33612345678" {
		t.Errorf("a configured account: %d %v", st, m)
	}
	if st, _ := balance(e, "12345678"); st != http.StatusNotFound {
		t.Errorf("a demo account beside configured ones: %d", st)
	}
	if st, _ := balance(newEnv(t, Config{Accounts: []Account{}}), "12345678"); st != http.StatusNotFound {
		t.Errorf("a demo account with no accounts configured: %d", st)
	}
	d := DemoAccounts()
	d[0].Amount = "0.01"
	if DemoAccounts()[0].Amount != "12.34" {
		t.Error("DemoAccounts returned a shared slice")
	}
}

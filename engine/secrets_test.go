package engine

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestSecretsMaskedInEveryOutput: a token an ApiInteraction fetched (access_token, recognised
// by its name) and a value the plan marks secret="true" are used for real in the next
// request, but the outcome's variables, every event and every log line show them masked —
// even copied into another variable, into a prompt name, or into a log message.
func TestSecretsMaskedInEveryOutput(t *testing.T) {
	const token = "tok_7Hx2pQ9vLmN4bR8s"
	const apiKey = "key-Zq81-lkJH-0000"
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization")+" "+r.Header.Get("X-Api-Key"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"` + token + `","token_type":"Bearer","expires_in":300,
			"merchant":{"key":"` + apiKey + `","name":"Demo"}}`))
	}))
	defer srv.Close()
	h := newHarness(t)
	h.opts.HTTPClient = loopbackClient(t) // the operator allows loopback: the test servers are there
	out := h.run(flowPlan(`
<ApiInteraction name="Auth"><Request><Url>` + srv.URL + `/token</Url><Method>POST</Method></Request>
  <Response><Fields>
    <Field><Locator>access_token</Locator><Destination>AccessToken</Destination></Field>
    <Field><Locator>token_type</Locator><Destination>TokenType</Destination></Field>
    <Field secret="true"><Locator>merchant.key</Locator><Destination>MerchantKey</Destination></Field>
    <Field><Locator>merchant.name</Locator><Destination>MerchantName</Destination></Field>
  </Fields></Response></ApiInteraction>
<Set var="Header" value="Bearer $(AccessToken)"/>
<ApiInteraction name="Use"><Request><Url>` + srv.URL + `/use</Url>
  <Headers><Header><Key>Authorization</Key><Value>$(Header)</Value></Header>
           <Header><Key>X-Api-Key</Key><Value>$(MerchantKey)</Value></Header></Headers></Request></ApiInteraction>
<Play prompt="$(AccessToken)"/>
<Hangup/>`))

	// The control: the secrets were fetched and used, so a scan for them can find them.
	mu.Lock()
	used := strings.Join(seen, "|")
	mu.Unlock()
	if !strings.Contains(used, "Bearer "+token) || !strings.Contains(used, apiKey) {
		t.Fatalf("the plan did not send the secrets it fetched: %q", used)
	}
	v := out.Variables
	if v["AccessToken"] != secretMask || v["MerchantKey"] != secretMask || v["Header"] != "Bearer "+secretMask ||
		v["TokenType"] != "Bearer" || v["MerchantName"] != "Demo" {
		t.Fatalf("variables: %v", v)
	}
	outJSON, _ := json.Marshal(out)
	events, _ := json.Marshal(h.sink)
	for name, text := range map[string]string{"outcome": string(outJSON), "events": string(events), "logs": h.logs.String()} {
		if strings.Contains(text, token) || strings.Contains(text, apiKey) {
			t.Errorf("a secret is in the %s:\n%s", name, text)
		}
	}
	// The prompt named by the token was reported missing: with the token masked.
	if !strings.Contains(string(events), `"prompt":"`+secretMask+`"`) {
		t.Errorf("prompt.missing event not masked: %s", events)
	}
}

package sandbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goldenRequest is one request of a golden wire file of testdata/gateway/wire: the exact bytes
// the gateway's connectors send (gateway's TestWireFormats keeps the files exact).
type goldenRequest struct {
	method, path, contentType, idemKey string
	body                               string
}

func readGolden(t *testing.T, name string) []goldenRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "gateway", "wire", name))
	if err != nil {
		t.Fatal(err)
	}
	var out []goldenRequest
	for _, part := range strings.Split(string(b), "----\n") {
		head, body, ok := strings.Cut(part, "\n\n")
		lines := strings.Split(head, "\n")
		if !ok || len(lines) != 3 {
			t.Fatalf("%s: malformed request %q", name, part)
		}
		method, path, _ := strings.Cut(lines[0], " ")
		out = append(out, goldenRequest{method: method, path: path,
			contentType: strings.TrimPrefix(lines[1], "Content-Type: "),
			idemKey:     strings.TrimPrefix(lines[2], "Idempotency-Key: "),
			body:        strings.TrimSuffix(body, "\n")})
	}
	return out
}

// The request half of the contract (the answer half is gateway's
// TestSandboxHonoursTheContract): the exact requests the gateway's connectors send are accepted
// by the sandbox, which reads from them the amount, currency, card, reference and key that
// they carry, and the sandbox's copy of each JSON request names every field the client sends.
func TestClientRequestsAreUnderstood(t *testing.T) {
	e := newEnv(t, Config{})
	tok := e.token(t)
	send := func(g goldenRequest, auth string) (int, map[string]any) {
		t.Helper()
		return doJSON(t, g.method, e.srv.URL+g.path, g.body,
			map[string]string{"Content-Type": g.contentType, "Idempotency-Key": g.idemKey, "Authorization": auth})
	}
	strictly := func(body string, v any) {
		t.Helper()
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Errorf("the sandbox's %T does not name every field the client sends: %v", v, err)
		}
	}

	// The session capture, into a session started for the same amount and reference.
	g := readGolden(t, "session_charge.txt")[0]
	sid := e.session(t, tok, "12.34")
	g.path = strings.Replace(g.path, "SESSION-ID", sid, 1)
	if st, m := send(g, "Bearer "+tok); st != http.StatusOK || m["outcome"] != "approved" || m["maskedCard"] != "************1117" {
		t.Errorf("session capture: %d %v", st, m)
	}
	var capReq captureRequest
	strictly(g.body, &capReq)

	// The generic charge and tokenization.
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("merchant:pw"))
	g = readGolden(t, "generic_charge.txt")[0]
	if st, m := send(g, basic); st != http.StatusOK || m["charge_id"] == nil {
		t.Errorf("generic charge: %d %v", st, m)
	}
	var genReq genericRequest
	strictly(g.body, &genReq)
	g = readGolden(t, "generic_tokenize.txt")[0]
	g.body = strings.Replace(g.body, `"transaction_id":"call-1-pay-1"`, `"transaction_id":"call-1-tokenize-1"`, 1)
	if st, m := send(g, basic); st != http.StatusOK || m["token_id"] == nil {
		t.Errorf("generic tokenize: %d %v", st, m)
	}
	genReq = genericRequest{}
	strictly(g.body, &genReq)

	// The Stripe-shaped token and charge, the charge naming the token the first answer gave.
	gs := readGolden(t, "stripe_charge.txt")
	st, tm := send(gs[0], "Bearer sk_test_x")
	id, _ := tm["id"].(string)
	if st != http.StatusOK || id == "" {
		t.Fatalf("stripe token: %d %v", st, tm)
	}
	gs[1].body = strings.Replace(gs[1].body, "source=tok_ID", "source="+id, 1)
	if st, m := send(gs[1], "Bearer sk_test_x"); st != http.StatusOK || m["status"] != "succeeded" {
		t.Errorf("stripe charge: %d %v", st, m)
	}

	// What the sandbox read: one charge per API, of 12.34 GBP, card …1117, reference
	// 12345678, under the client's key.
	apis := map[string]bool{}
	for _, c := range e.p.Ledger() {
		apis[c.API] = true
		if c.Status != "succeeded" || c.Amount != 1234 || c.Currency != "GBP" || c.Last4 != "1117" ||
			c.Brand != "discover" || c.Reference != "12345678" || c.IdempotencyKey != "call-1-pay-1" {
			t.Errorf("%s charge as the sandbox read it: %+v", c.API, c)
		}
	}
	if len(apis) != 3 {
		t.Errorf("charges by API: %v, want session, generic and stripe", apis)
	}
	b, _ := json.Marshal(e.p.Ledger())
	if bytes.Contains(b, []byte("6011111111111117")) {
		t.Error("the ledger holds the card number")
	}
}

// TestLifecycleRequestsAreUnderstood replays the client's lifecycle requests (authorize with an
// invoice, capture, refund with a reason, void; bank-account debits) against the sandbox: each
// is accepted, the sandbox's copy of each JSON request names every field the client sends,
// and the ledger holds what they carried.
func TestLifecycleRequestsAreUnderstood(t *testing.T) {
	e := newEnv(t, Config{})
	t.Cleanup(e.p.Close)
	tok := e.token(t)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("merchant:pw"))
	strictly := func(body string, v any) {
		t.Helper()
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Errorf("the sandbox's %T does not name every field the client sends: %v\n%s", v, err, body)
		}
	}
	var last map[string]any // the previous answer, for the ids a next request names
	replay := func(name, auth string, prepare func(i int, g *goldenRequest)) []map[string]any {
		t.Helper()
		var out []map[string]any
		for i, g := range readGolden(t, name) {
			prepare(i, &g)
			st, m := doJSON(t, g.method, e.srv.URL+g.path, g.body,
				map[string]string{"Content-Type": g.contentType, "Idempotency-Key": g.idemKey, "Authorization": auth})
			if st != http.StatusOK {
				t.Fatalf("%s request %d (%s %s): %d %v", name, i, g.method, g.path, st, m)
			}
			switch {
			case strings.HasSuffix(g.path, "/capture") && strings.Contains(g.path, "/session/"):
				strictly(g.body, &captureRequest{})
			case strings.Contains(g.path, "/transaction/"):
				strictly(g.body, &opBody{})
			case g.path == "/generic":
				strictly(g.body, &genericRequest{})
			}
			out = append(out, m)
			last = m
		}
		return out
	}
	chargeOf := func(id string) Charge {
		t.Helper()
		for _, c := range e.p.Ledger() {
			if c.ID == id {
				return c
			}
		}
		t.Fatalf("no charge %s", id)
		return Charge{}
	}
	checkAuthorized := func(api, id string, single bool) {
		t.Helper()
		c := chargeOf(id)
		refundedWant, capturedWant := int64(200), int64(1000)
		if c.Method != "authorize" || c.Authorized != 3000 || c.Captured != capturedWant || c.Refunded != refundedWant ||
			c.Status != statusCaptured || c.Invoice == nil || c.Invoice.ID != "INV-2030-0042" {
			t.Errorf("%s: ledger %+v", api, c)
		}
		if !single && (len(c.Operations) != 3 || c.Operations[2].Kind != "void") {
			t.Errorf("%s: operations %+v", api, c.Operations)
		}
	}

	var sid, txn string
	replay("session_authorize.txt", "Bearer "+tok, func(i int, g *goldenRequest) {
		if i == 0 {
			sid = e.session(t, tok, "30.00")
			g.path = strings.Replace(g.path, "SESSION-ID", sid, 1)
			return
		}
		if txn == "" {
			for _, c := range e.p.Ledger() {
				if c.SessionID == sid {
					txn = c.ID
				}
			}
		}
		g.path = strings.Replace(g.path, "ch_ID", txn, 1)
	})
	checkAuthorized("session", txn, false)
	if inv := chargeOf(txn).Invoice; len(inv.Lines) != 2 || inv.Lines[1].Amount != "5.00" || inv.Metadata["customer"] != "C-981" {
		t.Errorf("invoice as the sandbox read it: %+v", inv)
	}

	var gid string
	replay("generic_authorize.txt", basic, func(i int, g *goldenRequest) {
		g.body = strings.Replace(g.body, `"charge_id":"ch_ID"`, `"charge_id":"`+gid+`"`, 1)
		if i == 1 {
			for _, c := range e.p.Ledger() {
				if c.API == "generic" {
					gid = c.ID
				}
			}
			g.body = strings.Replace(g.body, `"charge_id":""`, `"charge_id":"`+gid+`"`, 1)
			g.body = strings.Replace(g.body, `"charge_id":"ch_ID"`, `"charge_id":"`+gid+`"`, 1)
		}
	})
	checkAuthorized("generic", gid, false)

	var sch string
	replay("stripe_authorize.txt", "Bearer sk_test_x", func(i int, g *goldenRequest) {
		switch i {
		case 1:
			g.body = strings.Replace(g.body, "source=tok_ID", "source="+last["id"].(string), 1)
		case 2:
			sch = last["id"].(string)
		}
		g.body = strings.Replace(g.body, "charge=ch_ID", "charge="+sch, 1)
		g.path = strings.Replace(g.path, "ch_ID", sch, 1)
	})
	checkAuthorized("stripe", sch, true)

	replay("session_ach.txt", "Bearer "+tok, func(i int, g *goldenRequest) {
		g.path = strings.Replace(g.path, "SESSION-ID", e.session(t, tok, "12.34"), 1)
		g.idemKey += "-ach" // the golden files share their key; the sandbox remembers it
	})
	replay("generic_ach.txt", basic, func(_ int, g *goldenRequest) {
		g.body = strings.Replace(g.body, `"transaction_id":"call-1-pay-1"`, `"transaction_id":"call-1-ach-1"`, 1)
	})
	n := 0
	for _, c := range e.p.Ledger() {
		if c.PaymentMethod == "ach-debit" {
			n++
			if c.Last4 != "6789" || c.AccountType != "consumer-checking" || c.Amount != 1234 || c.Status != "succeeded" {
				t.Errorf("bank debit as the sandbox read it: %+v", c)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d bank debits, want 2", n)
	}
	b, _ := json.Marshal(e.p.Ledger())
	if bytes.Contains(b, []byte("000123456789")) || bytes.Contains(b, []byte("6011111111111117")) {
		t.Error("the ledger holds an account or card number")
	}
}

package console

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/store"
)

// seedSearch writes two calls (one whose caller ID is a spreadsheet formula), their payments,
// a link with its text, a webhook delivery and a timeline.
func seedSearch(t *testing.T, f *fixture) time.Time {
	t.Helper()
	ctx := context.Background()
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.st.CreateCall(ctx, store.Call{ID: "c1", From: "+447700900123", To: "+441632960000", Plan: "pay", Node: "node-a", StartedAt: t0}))
	must(f.st.CreateCall(ctx, store.Call{ID: "c2", From: `=HYPERLINK("http://evil.example/","x")`, To: "+441632960000", Plan: "pay", Node: "node-b", StartedAt: t0.Add(time.Minute)}))
	must(f.st.MarkAnswered(ctx, "c1", t0.Add(time.Second)))
	must(f.st.UpsertPaymentSession(ctx, store.PaymentSession{ID: "p1", CallID: "c1", Connector: "provider", Channel: "voice",
		AmountMinor: 1234, Currency: "GBP", Reference: "-ACC1", State: "completed", Result: "success",
		MaskedCard: "************4242", CardType: "visa", Confirmation: "ch_1", ProviderSessionID: "sess-9", CreatedAt: t0.Add(30 * time.Second)}))
	must(f.st.UpsertPaymentSession(ctx, store.PaymentSession{ID: "p2", CallID: "c2", Connector: "provider", Channel: "voice",
		AmountMinor: 500, Currency: "GBP", Reference: "ACC2", State: "failed", Result: "too-many-failed-attempts",
		ErrorType: "invalid-card-number", CreatedAt: t0.Add(90 * time.Second)}))
	must(f.st.CreateLink(ctx, store.Link{ID: "l1", TokenHash: "h1", SessionID: "p1", CallID: "c1", To: "+447700900123",
		AmountMinor: 1234, Currency: "GBP", Reference: "-ACC1", CreatedAt: t0.Add(20 * time.Second), ExpiresAt: t0.Add(48 * time.Hour)}))
	_, err := f.st.EnqueueSMS(ctx, store.SMS{ID: "s1", To: "+447700900123", Body: "Acme Water: pay £12.34 for -ACC1 at http://x/pay/…",
		CallID: "c1", LinkID: "l1", Status: store.SMSNotSent, Error: "no SMS provider configured", CreatedAt: t0.Add(20 * time.Second)})
	must(err)
	_, err = f.st.EnqueueWebhook(ctx, store.Webhook{ID: "w1", Event: "pay.completed", URL: "https://hooks.example/pay", Payload: []byte(`{"id":"evt_1"}`),
		Subject: "p1", Endpoint: "default", EventID: "evt_1", CreatedAt: t0.Add(31 * time.Second)})
	must(err)
	must(f.st.MarkWebhookFailed(ctx, "w1", t0.Add(time.Hour), `HTTP 500: {"error":"database down"}`))
	must(f.st.RecordWebhookStatus(ctx, "w1", 500))
	for i, e := range []store.EventRecord{
		{Type: "call.started", Fields: json.RawMessage(`{"plan":"pay","from":"+447700900123"}`)},
		{Type: "step", Step: "Gather", Fields: json.RawMessage(`{"pos":"/srv/plans/pay.xml:5:5"}`)},
		{Type: "gather", Step: "Gather", Fields: json.RawMessage(`{"var":"Account","result":"success","digits":8,"attempt":1,"entryMs":3100}`)},
		{Type: "step.end", Step: "Gather", Fields: json.RawMessage(`{"pos":"/srv/plans/pay.xml:5:5","outcome":"success","durationMs":4000,"set":[{"name":"Account","value":"12345678"}]}`)},
		{Type: "step", Step: "ApiInteraction", Fields: json.RawMessage(`{"pos":"/srv/plans/pay.xml:6:5"}`)},
		{Type: "api", Step: "ApiInteraction", Fields: json.RawMessage(`{"name":"Lookup","method":"GET","host":"billing.example.com","status":200,"durationMs":84}`)},
		{Type: "step.end", Step: "ApiInteraction", Fields: json.RawMessage(`{"outcome":"HTTP 200","durationMs":90,"set":[{"name":"Token","value":"********"}]}`)},
	} {
		e.Time = t0.Add(time.Duration(i) * time.Second)
		must(f.st.AppendEvent(ctx, "c1", e))
	}
	f.plans.sources = map[string]string{"pay": "<CallPlan name=\"pay\">\n  <Flow>\n  </Flow>\n</CallPlan>\n"}
	return t0
}

func TestConsoleFilters(t *testing.T) {
	f := newFixture(t)
	seedSearch(t, f)
	type list struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	ids := func(path string) string {
		t.Helper()
		var l list
		f.getJSON(t, path, &l)
		var out []string
		for _, it := range l.Items {
			out = append(out, it.ID)
		}
		return strings.Join(out, " ")
	}
	for path, want := range map[string]string{
		"/api/calls?number=07700900123":             "c1",
		"/api/calls?node=node-b":                    "c2",
		"/api/calls?last4=4242":                     "c1",
		"/api/calls?error_type=invalid-card-number": "c2",
		"/api/payments?reference=acc2":              "p2",
		"/api/payments?card_type=visa&node=node-a":  "p1",
		"/api/payments?number=900123":               "p1",
		"/api/payments?result=success":              "p1",
		"/api/links?number=900123&state=active":     "l1",
		"/api/links?state=used":                     "",
		"/api/sms?status=not-sent":                  "s1",
		"/api/sms?text=acme":                        "s1",
	} {
		if got := ids(path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	for path, want := range map[string]string{
		"/api/payments?last4=4242424242424242": "last4: want exactly the last 4 digits",
		"/api/links?state=gone":                `state: \"gone\" is not one of`,
		"/api/payments?channel=fax":            `channel: \"fax\" is not one of`,
	} {
		code, _, b := f.do(t, "GET", path, testToken)
		if code != 400 || !strings.Contains(string(b), want) || strings.Contains(string(b), "4242424242424242") {
			t.Errorf("%s = %d %s", path, code, b)
		}
	}
}

func TestConsoleExportCSV(t *testing.T) {
	f := newFixture(t)
	seedSearch(t, f)
	code, h, b := f.do(t, "GET", "/api/export/calls.csv?plan=pay", testToken)
	if code != 200 || h.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.HasPrefix(h.Get("Content-Disposition"), `attachment; filename="paybridge-calls-`) {
		t.Fatalf("export = %d %v", code, h)
	}
	recs, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || strings.Join(recs[0], ",") != "id,started_at,answered_at,ended_at,from,to,plan,node,state,hangup_cause,rtp_foreign" {
		t.Fatalf("rows = %q", recs)
	}
	// Newest first; the formula caller ID is text, the + of a number is kept as text too.
	if recs[1][0] != "c2" || recs[1][4] != `'=HYPERLINK("http://evil.example/","x")` || recs[2][4] != "'+447700900123" {
		t.Errorf("rows = %q", recs[1:])
	}
	code, _, b = f.do(t, "GET", "/api/export/payments.csv?result=success", testToken)
	recs, _ = csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if code != 200 || len(recs) != 2 || recs[1][0] != "p1" || recs[1][6] != "12.34" || recs[1][8] != "'-ACC1" || recs[1][14] != "************4242" {
		t.Errorf("payments export = %d %q", code, recs)
	}
	code, _, b = f.do(t, "GET", "/api/export/sms.csv", testToken)
	if code != 200 || !strings.Contains(string(b), "not sent (no SMS provider configured)") {
		t.Errorf("sms export = %d %s", code, b)
	}
	for path, want := range map[string]int{"/api/export/calls.csv?limit=5": 400, "/api/export/users.csv": 404, "/api/export/calls": 404,
		"/api/export/links.csv?state=nope": 400} {
		if code, _, b := f.do(t, "GET", path, testToken); code != want {
			t.Errorf("%s = %d %s", path, code, b)
		}
	}
}

// TestExportPages: an export holds every matching row, across the store's pages.
func TestExportPages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	t0 := time.Now().Add(-time.Hour)
	n := store.MaxLimit + 7
	for i := 0; i < n; i++ {
		if err := f.st.CreateCall(ctx, store.Call{ID: fmt.Sprintf("c%04d", i), From: "+447700900123", Plan: "pay", StartedAt: t0.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	_, _, b := f.do(t, "GET", "/api/export/calls.csv", testToken)
	recs, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil || len(recs) != n+1 {
		t.Fatalf("%d rows, %v", len(recs), err)
	}
	seen := map[string]bool{}
	for _, r := range recs[1:] {
		seen[r[0]] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct calls of %d", len(seen), n)
	}
}

func TestConsolePaymentPage(t *testing.T) {
	f := newFixture(t)
	seedSearch(t, f)
	var d struct {
		Payment struct {
			ProviderSessionID string `json:"provider_session_id"`
		} `json:"payment"`
		Call *struct {
			ID string `json:"id"`
		} `json:"call"`
		Links []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"links"`
		Texts []struct {
			Status string `json:"status"`
			Body   string `json:"body"`
		} `json:"texts"`
		Webhooks []struct {
			Endpoint   string `json:"endpoint"`
			LastStatus int    `json:"last_status"`
			LastError  string `json:"last_error"`
			Status     string `json:"status"`
		} `json:"webhooks"`
	}
	f.getJSON(t, "/api/payments/p1", &d)
	if d.Payment.ProviderSessionID != "sess-9" || d.Call == nil || d.Call.ID != "c1" || len(d.Links) != 1 || d.Links[0].State != "active" ||
		len(d.Texts) != 1 || d.Texts[0].Status != store.SMSNotSent || len(d.Webhooks) != 1 || d.Webhooks[0].LastStatus != 500 ||
		!strings.Contains(d.Webhooks[0].LastError, "database down") || d.Webhooks[0].Status != "pending" {
		t.Errorf("payment page = %+v", d)
	}
}

func TestConsoleCallStepsAndPlanSource(t *testing.T) {
	f := newFixture(t)
	seedSearch(t, f)
	var d struct {
		Steps []struct {
			Step    string   `json:"step"`
			Line    int      `json:"line"`
			Outcome string   `json:"outcome"`
			Details []string `json:"details"`
			Dur     int64    `json:"duration_ms"`
		} `json:"steps"`
	}
	f.getJSON(t, "/api/calls/c1", &d)
	if len(d.Steps) != 3 || d.Steps[1].Step != "Gather" || d.Steps[1].Line != 5 || d.Steps[1].Dur != 4000 ||
		d.Steps[1].Details[0] != "Account: 8 digits in 3.1 s (attempt 1, success)" || d.Steps[2].Details[0] != "GET billing.example.com → 200 in 84 ms" {
		t.Errorf("steps = %+v", d.Steps)
	}
	var pt PlanText
	f.getJSON(t, "/api/plans/pay/source?hash="+url.QueryEscape("abc"), &pt)
	if pt.Name != "pay" || !strings.Contains(pt.Source, "<Flow>") {
		t.Errorf("plan source = %+v", pt)
	}
	if code, _, _ := f.do(t, "GET", "/api/plans/nope/source", testToken); code != 404 {
		t.Errorf("unknown plan = %d", code)
	}
}

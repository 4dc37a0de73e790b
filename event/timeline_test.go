package event

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestTimelineFoldsAStep(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	evs := []Event{
		{Time: at(0), Data: &CallStarted{Plan: "pay-bill", From: "+447700900123"}},
		{Time: at(0), Step: "Gather", Data: &StepEntered{Pos: "/srv/plans/pay-bill.xml:15:5"}},
		{Time: at(10), Data: &Played{Prompt: "enter-account"}},
		{Time: at(900), Data: &BargedIn{Prompt: "enter-account"}},
		{Time: at(2500), Step: "Gather", Data: &Gathered{Var: "Account", Result: "success", Digits: 8, Attempt: 1, EntryMS: 1600}},
		{Time: at(2500), Step: "Gather", Data: &StepEnded{Pos: "x:15:5", Outcome: "success", DurationMS: 2500,
			Set: []VarSet{{Name: "Account", Value: "12345678"}, {Name: "Account.Result", Value: "success"}}}},
		{Time: at(2500), Step: "ApiInteraction", Data: &StepEntered{Pos: "C:\\plans\\pay-bill.xml:20:5"}},
		{Time: at(2590), Step: "ApiInteraction", Data: &APICalled{Name: "Lookup", Method: "GET", Host: "billing.example.com", Status: 200, DurationMS: 84}},
		{Time: at(2590), Step: "ApiInteraction", Data: &StepEnded{Outcome: "HTTP 200", DurationMS: 90, Set: []VarSet{{Name: "AccessToken", Value: "********"}}}},
		{Time: at(2600), Step: "Pay", Data: &StepEntered{Pos: "x:30:5"}},
		{Time: at(2600), Step: "Pay", Data: &PayProgress{Phase: "ask", For: "payment-card-number", Attempt: 1}},
		{Time: at(5000), Step: "Pay", Data: &PayProgress{Phase: "key", For: "payment-card-number", Attempt: 1, Digits: 1}},
		{Time: at(9200), Step: "Pay", Data: &PayProgress{Phase: "key", For: "payment-card-number", Attempt: 1, Digits: 16}},
		{Time: at(9200), Step: "Pay", Data: &PayProgress{Phase: "entered", For: "payment-card-number", Attempt: 1, Digits: 16}},
		{Time: at(9300), Step: "Pay", Data: &PayProgress{Phase: "ask", For: "expiration-date", Attempt: 1}},
		{Time: at(9400), Step: "Pay", Data: &PayProgress{Phase: "key", For: "expiration-date", Attempt: 1, Digits: 1}},
		{Time: at(10400), Step: "Pay", Data: &PayProgress{Phase: "entered", For: "expiration-date", Attempt: 1, Digits: 4, ErrorType: "invalid-date"}},
		{Time: at(12000), Step: "Pay", Data: &PayCompleted{Payment{Result: "success", MaskedCard: "************4242", CardType: "visa", Confirmation: "ch_1"}}},
		{Time: at(12000), Step: "Pay", Data: &StepEnded{Outcome: "success", DurationMS: 9400}},
		{Time: at(12000), Step: "Say", Data: &StepEntered{Pos: "x:40:5"}},
		{Time: at(12010), Data: &Said{Text: "Thank you", DurationMS: 1200}},
		{Time: at(13000), Data: &CallEnded{Result: "caller-hung-up", Steps: 4}},
	}
	lines := Timeline(evs)
	if len(lines) != 6 {
		t.Fatalf("%d lines:\n%v", len(lines), lines)
	}
	g := lines[1]
	if g.Step != "Gather" || g.Line != 15 || g.Col != 5 || g.Outcome != "success" || g.Duration != 2500*time.Millisecond ||
		g.At != 0 || len(g.Set) != 2 {
		t.Errorf("gather line = %+v", g)
	}
	if want := []string{"played enter-account", "barged in", "Account: 8 digits in 1.6 s (attempt 1, success)"}; strings.Join(g.Details, "|") != strings.Join(want, "|") {
		t.Errorf("gather details = %q", g.Details)
	}
	if api := lines[2]; api.Line != 20 || api.Details[0] != "GET billing.example.com → 200 in 84 ms" {
		t.Errorf("api line = %+v", api)
	}
	pay := lines[3]
	if want := "card number: 16 digits in 4.2 s|expiry date: 4 digits in 1.0 s — invalid-date|payment success ************4242 visa confirmation ch_1"; strings.Join(pay.Details, "|") != want {
		t.Errorf("pay details = %q", pay.Details)
	}
	if say := lines[4]; !say.InProgress || say.Details[0] != `said "Thank you" (1.2 s)` {
		t.Errorf("say line = %+v", say)
	}
	if end := lines[5]; end.Outcome != "call ended: caller-hung-up" || end.At != 13*time.Second {
		t.Errorf("end line = %+v", end)
	}
	s := pay.String()
	if !strings.Contains(s, "   2.60s  L30   Pay") || !strings.Contains(s, "success") || !strings.Contains(s, "9.4 s") {
		t.Errorf("String = %q", s)
	}
	if s := lines[1].String(); !strings.Contains(s, `set Account="12345678", Account.Result="success"`) {
		t.Errorf("String = %q", s)
	}
	b, err := json.Marshal(lines[1])
	if err != nil || !strings.Contains(string(b), `"at_ms":0`) || !strings.Contains(string(b), `"duration_ms":2500`) || !strings.Contains(string(b), `"line":15`) {
		t.Errorf("JSON = %s, %v", b, err)
	}
}

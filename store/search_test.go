package store

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"
)

// searchFixture writes three calls on two plans and nodes, their payments (voice and link),
// links and texts, and pay.progress events with entry errors.
func searchFixture(t *testing.T) (*Store, time.Time) {
	t.Helper()
	s, _ := openTest(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	calls := []Call{
		{ID: "c1", From: "+447700900123", To: "+441632960000", Plan: "pay-bill", Node: "node-a", StartedAt: t0},
		{ID: "c2", From: "+447700900456", To: "+441632960000", Plan: "pay-bill", Node: "node-b", StartedAt: t0.Add(time.Minute)},
		{ID: "c3", From: "+12025550100", To: "+441632960208", Plan: "pay", Node: "node-a", StartedAt: t0.Add(2 * time.Minute)},
	}
	for _, c := range calls {
		must(s.CreateCall(ctx, c))
		must(s.MarkAnswered(ctx, c.ID, c.StartedAt.Add(time.Second)))
	}
	must(s.EndCall(ctx, "c1", "hangup: paid", t0.Add(40*time.Second)))
	must(s.EndCall(ctx, "c2", "caller-hung-up", t0.Add(2*time.Minute)))
	must(s.EndCall(ctx, "c3", "transferred: sip:agent@example.com", t0.Add(3*time.Minute)))
	pays := []PaymentSession{
		{ID: "p1", CallID: "c1", Connector: "provider", Channel: "voice", AmountMinor: 1234, Currency: "GBP", Reference: "ACC-12345678",
			State: PaymentCompleted, Result: ResultSuccess, MaskedCard: "************4242", CardType: "visa", CreatedAt: t0.Add(31 * time.Second),
			CompletedAt: t0.Add(31 * time.Second)},
		{ID: "p2", CallID: "c2", Connector: "provider", Channel: "voice", AmountMinor: 500, Currency: "GBP", Reference: "ACC_9",
			State: PaymentFailed, Result: "too-many-failed-attempts", ErrorType: "invalid-card-number", CreatedAt: t0.Add(90 * time.Second)},
		{ID: "p3", CallID: "c3", Connector: "stripe", Channel: "link", AmountMinor: 9999, Currency: "USD", Reference: "ACCX9",
			State: PaymentCompleted, Result: ResultSuccess, MaskedCard: "***********0005", CardType: "amex", CreatedAt: t0.Add(4 * time.Minute),
			CompletedAt: t0.Add(4 * time.Minute)},
	}
	for _, p := range pays {
		must(s.UpsertPaymentSession(ctx, p))
	}
	must(s.CreateLink(ctx, Link{ID: "l1", TokenHash: "h1", SessionID: "p3", CallID: "c3", To: "+12025550199", AmountMinor: 9999,
		Currency: "USD", Reference: "ACCX9", CreatedAt: t0.Add(150 * time.Second), ExpiresAt: t0.Add(time.Hour)}))
	if ok, err := s.ConsumeLink(ctx, "h1", t0.Add(4*time.Minute)); err != nil || !ok {
		t.Fatalf("consume: %v %v", ok, err)
	}
	must(s.CreateLink(ctx, Link{ID: "l2", TokenHash: "h2", SessionID: "p2", CallID: "c2", To: "+447700900456", AmountMinor: 500,
		Currency: "GBP", Reference: "ACC_9", CreatedAt: t0.Add(100 * time.Second), ExpiresAt: t0.Add(2 * time.Minute)}))
	for _, m := range []SMS{
		{ID: "s1", To: "+12025550199", Body: "Acme: pay $99.99 for ACCX9 at …", CallID: "c3", Status: SMSNotSent, CreatedAt: t0.Add(150 * time.Second)},
		{ID: "s2", To: "+447700900456", Body: "Acme: pay £5.00 for ACC_9 at …", CallID: "c2", Status: SMSSent, CreatedAt: t0.Add(100 * time.Second)},
	} {
		_, err := s.EnqueueSMS(ctx, m)
		must(err)
	}
	for i, f := range []string{
		`{"phase":"entered","for":"payment-card-number","attempt":1,"errorType":"invalid-card-number","digits":16}`,
		`{"phase":"entered","for":"payment-card-number","attempt":2,"errorType":"invalid-card-number","digits":15}`,
		`{"phase":"entered","for":"expiration-date","attempt":1,"errorType":"input-timeout","digits":0}`,
		`{"phase":"entered","for":"expiration-date","attempt":2,"errorType":"","digits":4}`,
		`{"phase":"ask","for":"security-code","attempt":2,"errorType":"invalid-security-code","digits":0}`,
	} {
		must(s.AppendEvent(ctx, "c2", EventRecord{Time: t0.Add(time.Duration(70+i) * time.Second), Type: "pay.progress", Step: "Pay", Fields: json.RawMessage(f)}))
	}
	return s, t0
}

func ids[T any](items []T, id func(T) string) string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestSearchCalls(t *testing.T) { eachDialect(t, testSearchCalls) }

func testSearchCalls(t *testing.T) {
	s, t0 := searchFixture(t)
	ctx := context.Background()
	callID := func(c Call) string { return c.ID }
	for _, tc := range []struct {
		name string
		f    CallFilter
		want string
	}{
		{"number, national form", CallFilter{Number: "07700 900123"}, "c1"},
		{"number, dialled", CallFilter{Number: "1632960000"}, "c1 c2"},
		{"plan", CallFilter{Plan: "pay-bill"}, "c1 c2"},
		{"node", CallFilter{Node: "node-a"}, "c1 c3"},
		{"result word", CallFilter{Result: "transferred"}, "c3"},
		{"result exact", CallFilter{Result: "caller-hung-up"}, "c2"},
		{"result is not a prefix of another", CallFilter{Result: "hang"}, ""},
		{"payment reference", CallFilter{Reference: "acc-123"}, "c1"},
		{"card last four", CallFilter{Last4: "0005"}, "c3"},
		{"card type", CallFilter{CardType: "visa"}, "c1"},
		{"error type", CallFilter{ErrorType: "invalid-card-number"}, "c2"},
		{"time range", CallFilter{Since: t0.Add(30 * time.Second), Until: t0.Add(90 * time.Second)}, "c2"},
		{"all together", CallFilter{Plan: "pay-bill", Node: "node-a", PayResult: ResultSuccess, Number: "900123"}, "c1"},
	} {
		got, err := s.ListCalls(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if g := ids(got, callID); g != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, g, tc.want)
		}
	}
	if _, err := s.ListCalls(ctx, CallFilter{Last4: "42424242"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a last four of 8 digits: %v", err)
	}
}

func TestSearchPayments(t *testing.T) { eachDialect(t, testSearchPayments) }

func testSearchPayments(t *testing.T) {
	s, t0 := searchFixture(t)
	ctx := context.Background()
	payID := func(p PaymentSession) string { return p.ID }
	for _, tc := range []struct {
		name string
		f    PaymentFilter
		want string
	}{
		// The reference search is literal: "_" is not a wildcard.
		{"reference with an underscore", PaymentFilter{Reference: "ACC_9"}, "p2"},
		{"reference, any case", PaymentFilter{Reference: "accx"}, "p3"},
		{"last four", PaymentFilter{Last4: "4242"}, "p1"},
		{"card type", PaymentFilter{CardType: "amex"}, "p3"},
		{"error type", PaymentFilter{ErrorType: "invalid-card-number"}, "p2"},
		{"result", PaymentFilter{Result: ResultSuccess}, "p1 p3"},
		{"channel", PaymentFilter{Channel: "link"}, "p3"},
		{"plan of its call", PaymentFilter{Plan: "pay"}, "p3"},
		{"node of its call", PaymentFilter{Node: "node-b"}, "p2"},
		{"number of its call", PaymentFilter{Number: "+12025550100"}, "p3"},
		{"number its link went to", PaymentFilter{Number: "5550199"}, "p3"},
		{"since", PaymentFilter{Since: t0.Add(time.Minute)}, "p2 p3"},
	} {
		got, err := s.ListPayments(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if g := ids(got, payID); g != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, g, tc.want)
		}
	}
}

func TestSearchLinksAndSMS(t *testing.T) { eachDialect(t, testSearchLinksAndSMS) }

func testSearchLinksAndSMS(t *testing.T) {
	s, t0 := searchFixture(t)
	ctx := context.Background()
	linkID := func(l Link) string { return l.ID }
	now := t0.Add(10 * time.Minute)
	for _, tc := range []struct {
		name string
		f    LinkFilter
		want string
	}{
		{"used", LinkFilter{State: LinkUsed, Now: now}, "l1"},
		{"expired", LinkFilter{State: "expired", Now: now}, "l2"},
		{"active before it expired", LinkFilter{State: LinkActive, Now: t0.Add(110 * time.Second)}, "l2"},
		{"number", LinkFilter{Number: "900456"}, "l2"},
		{"reference", LinkFilter{Reference: "x9"}, "l1"},
		{"plan", LinkFilter{Plan: "pay"}, "l1"},
		{"until", LinkFilter{Until: t0.Add(120 * time.Second)}, "l2"},
	} {
		got, err := s.ListLinks(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if g := ids(got, linkID); g != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, g, tc.want)
		}
	}
	if _, err := s.ListLinks(ctx, LinkFilter{State: "gone"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown state: %v", err)
	}
	smsID := func(m SMS) string { return m.ID }
	for _, tc := range []struct {
		name string
		f    SMSFilter
		want string
	}{
		{"not sent", SMSFilter{Status: SMSNotSent}, "s1"},
		{"number", SMSFilter{Number: "07700900456"}, "s2"},
		{"text", SMSFilter{Text: "accx9"}, "s1"},
		{"since", SMSFilter{Since: t0.Add(120 * time.Second)}, "s1"},
	} {
		got, err := s.ListSMS(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if g := ids(got, smsID); g != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, g, tc.want)
		}
	}
}

func TestStatsForTheConsole(t *testing.T) { eachDialect(t, testStatsForTheConsole) }

func testStatsForTheConsole(t *testing.T) {
	s, t0 := searchFixture(t)
	ctx := context.Background()
	if err := s.CreateAttempt(ctx, Attempt{IdempotencyKey: "k1", SessionID: "p1", Connector: "provider", CreatedAt: t0.Add(30 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteAttempt(ctx, "k1", AttemptResult{Result: "approved", CompletedAt: t0.Add(30*time.Second + 250*time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAttempt(ctx, Attempt{IdempotencyKey: "k2", SessionID: "p2", Connector: "provider", CreatedAt: t0.Add(89 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteAttempt(ctx, "k2", AttemptResult{Result: "error", CompletedAt: t0.Add(89*time.Second + 750*time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats(ctx, t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(st)
	if len(st.Conversion) != 2 || st.Conversion[0] != (PlanConversion{Plan: "pay-bill", Calls: 2, ReachedPay: 2, PaidVoice: 1}) ||
		st.Conversion[1] != (PlanConversion{Plan: "pay", Calls: 1, PaidLink: 1}) {
		t.Errorf("conversion = %+v", st.Conversion)
	}
	want := []EntryErrorCount{{"payment-card-number", "invalid-card-number", 2}, {"expiration-date", "input-timeout", 1}}
	if len(st.EntryErrors) != 2 || st.EntryErrors[0] != want[0] || st.EntryErrors[1] != want[1] {
		t.Errorf("entry errors = %+v", st.EntryErrors)
	}
	// c1 was answered at t0+1s and paid at t0+31s; the link went at +150s and was paid at +240s.
	if st.TimeToPay != (TimeToPay{VoiceN: 1, VoiceMS: 30000, LinkN: 1, LinkMS: 90000}) {
		t.Errorf("time to pay = %+v", st.TimeToPay)
	}
	if st.Links != (LinkConversion{Sent: 2, Paid: 1}) {
		t.Errorf("links = %+v", st.Links)
	}
	if len(st.Providers) != 1 || st.Providers[0] != (ProviderStats{Connector: "provider", Attempts: 2, Errors: 1, AvgLatencyMS: 500}) {
		t.Errorf("providers = %+v\n%s", st.Providers, b)
	}
}

package app

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/paybridge/paybridge/gateway"
	"github.com/paybridge/paybridge/store"
)

func TestRecordedSenderKeepsTextWithoutToken(t *testing.T) {
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("Body") == "" || !strings.Contains(r.FormValue("Body"), "/pay/tok_SECRET-123") {
			http.Error(w, "the provider must get the whole link", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"sid":"SM42"}`))
	}))
	defer provider.Close()
	st, err := store.Open(context.Background(), t.TempDir()+"/pb.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := recordedSender{next: gateway.NewHTTPSender(provider.URL, "u", "p", "+15550000000"), store: st, log: slog.New(slog.DiscardHandler)}
	msg := &gateway.SMS{To: "+447700900123", Body: "Pay £12.34 at https://pay.example/pay/tok_SECRET-123 within 72h", CallID: "c1", LinkID: "l1"}
	id, err := s.SendSMS(context.Background(), msg)
	if err != nil || id != "SM42" {
		t.Fatalf("SendSMS = %q, %v", id, err)
	}
	got, err := st.ListSMS(context.Background(), store.SMSFilter{})
	if err != nil || len(got) != 1 {
		t.Fatalf("outbox = %+v, %v", got, err)
	}
	if strings.Contains(got[0].Body, "SECRET") || !strings.Contains(got[0].Body, "/pay/…") ||
		got[0].Status != store.SMSSent || got[0].ProviderID != "SM42" {
		t.Fatalf("record = %+v", got[0])
	}

	// A provider failure is recorded too, and reported to the caller of SendSMS.
	provider.Close()
	if _, err := s.SendSMS(context.Background(), msg); !errors.Is(err, gateway.ErrSMSSend) {
		t.Fatalf("send to a closed provider = %v, want ErrSMSSend", err)
	}
	got, _ = st.ListSMS(context.Background(), store.SMSFilter{Status: store.SMSFailed})
	if len(got) != 1 || strings.Contains(got[0].Body, "SECRET") {
		t.Fatalf("failed send not recorded as failed: %+v", got)
	}
}

// Without an SMS provider a text stays in the outbox, and the outbox says so: not sent (no
// SMS provider configured), never "queued" for a relay that does not exist.
func TestOutboxWithoutProviderSaysNotSent(t *testing.T) {
	st, err := store.Open(context.Background(), t.TempDir()+"/pb.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := gateway.NewOutboxSender(gatewayStore{s: st})
	if _, err := s.SendSMS(context.Background(), &gateway.SMS{To: "+447700900123", Body: "Pay at https://pay.example/pay/x", LinkID: "l1"}); err != nil {
		t.Fatal(err)
	}
	got, err := st.ListSMS(context.Background(), store.SMSFilter{})
	if err != nil || len(got) != 1 {
		t.Fatalf("outbox = %+v, %v", got, err)
	}
	if got[0].Status != store.SMSNotSent || got[0].Error != "no SMS provider configured" || gateway.SMSNotSent != store.SMSNotSent {
		t.Fatalf("outbox entry %q (%q), want %q (no SMS provider configured)", got[0].Status, got[0].Error, store.SMSNotSent)
	}
}

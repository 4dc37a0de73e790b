package store

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paybridge/paybridge/payment"
)

func TestClaimLinkExactlyOnce(t *testing.T) { eachDialect(t, testClaimLinkExactlyOnce) }

func testClaimLinkExactlyOnce(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	if err := s.CreateLink(ctx, Link{ID: "l1", TokenHash: "h", To: "+447700900001", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	var wins, busy atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.ClaimLink(ctx, "h", t0.Add(time.Minute))
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, ErrLinkBusy):
				busy.Add(1)
			default:
				t.Errorf("claim: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || busy.Load() != 15 {
		t.Fatalf("wins=%d busy=%d, want 1 and 15", wins.Load(), busy.Load())
	}
	// A declined submission returns the link to active with one try counted.
	if err := s.FinishLink(ctx, "h", LinkFinish{At: t0.Add(2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.LinkByHash(ctx, "h"); l.Status != LinkActive || l.Attempts != 1 {
		t.Fatalf("after decline: %+v", l)
	}
	if _, err := s.ClaimLink(ctx, "h", t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishLink(ctx, "h", LinkFinish{Paid: true, Confirmation: "ch_9", At: t0.Add(4 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimLink(ctx, "h", t0.Add(5*time.Minute)); !errors.Is(err, ErrLinkUsed) {
		t.Fatalf("claim after paid = %v, want ErrLinkUsed", err)
	}
	if ok, _ := s.ConsumeLink(ctx, "h", t0.Add(5*time.Minute)); ok {
		t.Fatal("ConsumeLink succeeded on a used link")
	}
	if _, err := s.ClaimLink(ctx, "missing", t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("claim unknown = %v", err)
	}
	if err := s.CreateLink(ctx, Link{ID: "l2", TokenHash: "h2", To: "+447700900001", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimLink(ctx, "h2", t0.Add(time.Hour)); !errors.Is(err, ErrLinkExpired) {
		t.Fatalf("claim expired = %v", err)
	}
	if n, err := s.CountLinksTo(ctx, "+447700900001", t0); err != nil || n != 2 {
		t.Fatalf("CountLinksTo = %d, %v", n, err)
	}
	if err := s.SetLinkMessage(ctx, "l1", "sms-1"); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.LinkByHash(ctx, "h"); l.MessageID != "sms-1" || l.Confirmation != "ch_9" || l.Status != LinkUsed {
		t.Fatalf("link after paid: %+v", l)
	}
}

// A link's invoice is kept with it (its page shows the invoice after a restart).
func TestLinkKeepsItsInvoice(t *testing.T) {
	eachDialect(t, func(t *testing.T) {
		ctx := context.Background()
		s, _ := openTest(t)
		inv := &payment.Invoice{ID: "INV-9", Description: "Water, Q3", Metadata: map[string]string{"customer": "C-981"},
			Lines: []payment.InvoiceLine{{Description: "Supply", Quantity: 2, AmountMinor: 1500}}}
		if err := s.CreateLink(ctx, Link{ID: "l1", TokenHash: "h", To: "+447700900001", AmountMinor: 3000, Currency: "GBP",
			CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), Invoice: inv}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateLink(ctx, Link{ID: "l2", TokenHash: "h2", To: "+447700900001", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		got, err := s.LinkByHash(ctx, "h")
		if err != nil || !reflect.DeepEqual(got.Invoice, inv) {
			t.Fatalf("LinkByHash = %+v, %v", got, err)
		}
		claimed, err := s.ClaimLink(ctx, "h", t0.Add(time.Minute))
		if err != nil || !reflect.DeepEqual(claimed.Invoice, inv) {
			t.Fatalf("ClaimLink = %+v, %v", claimed, err)
		}
		if plain, err := s.LinkByHash(ctx, "h2"); err != nil || plain.Invoice != nil {
			t.Fatalf("a link without an invoice: %+v, %v", plain, err)
		}
	})
}

// A link's terms (a hold, a bank account, backup connectors) are kept with it: its page does
// what its Pay step did, after a restart and on another node.
func TestLinkKeepsItsTerms(t *testing.T) {
	eachDialect(t, func(t *testing.T) {
		ctx := context.Background()
		s, _ := openTest(t)
		terms := &payment.LinkTerms{Method: payment.MethodAuthorize, PaymentMethod: payment.PaymentMethodACH,
			BankAccountType: payment.BankConsumerSavings, Route: []payment.LinkHop{{Connector: "backup", ConnectorKey: "plan/backup#12ab"}}}
		if err := s.CreateLink(ctx, Link{ID: "l1", TokenHash: "h", To: "+447700900001", AmountMinor: 3000, Currency: "GBP",
			CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), Terms: terms}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateLinkCapped(ctx, Link{ID: "l2", TokenHash: "h2", To: "+447700900001", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
			t0.Add(-time.Hour), 5); err != nil {
			t.Fatal(err)
		}
		got, err := s.LinkByHash(ctx, "h")
		if err != nil || !reflect.DeepEqual(got.Terms, terms) {
			t.Fatalf("LinkByHash = %+v, %v", got, err)
		}
		claimed, err := s.ClaimLink(ctx, "h", t0.Add(time.Minute))
		if err != nil || !reflect.DeepEqual(claimed.Terms, terms) {
			t.Fatalf("ClaimLink = %+v, %v", claimed, err)
		}
		if plain, err := s.LinkByHash(ctx, "h2"); err != nil || plain.Terms != nil {
			t.Fatalf("a link without terms: %+v, %v", plain, err)
		}
	})
}

package gateway

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/sandbox"
)

// BenchmarkPaymentLoad drives concurrent payments (session connector, OAuth2, capture) through
// a sandbox that fails 5% of requests and loses some answers after committing. It reports
// payments/s and latency percentiles, and fails on any double charge or lost approval.
func BenchmarkPaymentLoad(b *testing.B) {
	e := newEnv(b, sandbox.Config{Faults: sandbox.Faults{FailRate: 0.05, LoseFirst: 20, Latency: time.Millisecond,
		Paths: []string{"/globalpci/v1/session/"}}, Logger: slog.New(slog.DiscardHandler)})
	e.cs.cfg.Logger = slog.New(slog.DiscardHandler) // keep the logs out of the measurement
	c := e.open(b, "session")
	ctx := context.Background()
	var seq atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var failed atomic.Int64
	b.SetParallelism(8) // 8 × GOMAXPROCS concurrent payments
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			n := seq.Add(1)
			t0 := time.Now()
			_, err := c.Pay(ctx, &payment.Request{CallID: fmt.Sprintf("load-%d", n), IdempotencyKey: fmt.Sprintf("load-%d", n),
				Amount: payment.Amount{Minor: 1000 + n, Currency: "GBP"}, Card: card(b, "4242424242424242", "123")})
			if err != nil {
				failed.Add(1)
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000 }
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "payments/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(failed.Load()), "connector-errors")
	charged := map[string]int{}
	for _, ch := range e.sb.Ledger() {
		if ch.Status == "succeeded" {
			charged[ch.IdempotencyKey]++
		}
	}
	for k, n := range charged {
		if n > 1 {
			b.Fatalf("key %s charged %d times", k, n)
		}
	}
	for _, a := range e.store.Attempts() {
		if a.State == AttemptApproved && charged[a.Key] != 1 {
			b.Fatalf("attempt %s approved but charged %d times", a.Key, charged[a.Key])
		}
	}
}

func BenchmarkTokenCached(b *testing.B) {
	e := newEnv(b, sandbox.Config{})
	c := e.open(b, "session")
	ctx := context.Background()
	if err := c.Authorize(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := c.Authorize(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerifySignature(b *testing.B) {
	body := make([]byte, 1024)
	now := time.Now()
	h := Sign(body, "whsec", now)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := verifySignatureAt(h, body, "whsec", time.Minute, now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseCardForm(b *testing.B) {
	form := []byte("cc-number=4242+4242+4242+4242&cc-exp=12%2F30&cc-csc=123&postal-code=SW1A+1AA")
	now := time.Now()
	for b.Loop() {
		f, err := parseCardForm(form, now)
		if err != nil {
			b.Fatal(err)
		}
		f.Wipe()
	}
}

// BenchmarkCardRequest measures one card-bearing request (a generic-connector charge, Basic
// auth) sent by the cardWire — a connection of its own, TLS 1.2 for https — against the same
// request through net/http's pooled keep-alive connections, which paybridge no longer uses
// for card data. It prints the cost of owning the bytes: a TCP (and TLS) handshake per payment.
func BenchmarkCardRequest(b *testing.B) {
	for _, scheme := range []string{"http", "https"} {
		srv := httptest.NewUnstartedServer(sandbox.New(sandbox.Config{Logger: slog.New(slog.DiscardHandler)}))
		tr := &http.Transport{}
		if scheme == "https" {
			srv.StartTLS()
			tr.TLSClientConfig = &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
		} else {
			srv.Start()
		}
		b.Cleanup(srv.Close)
		cs := NewConnectors(ConnectorsConfig{SandboxURL: srv.URL, HTTPClient: &http.Client{Transport: tr}})
		c, err := cs.OpenConnector(&payment.ConnectorSpec{Name: "g", Type: "generic", BaseURL: "sandbox",
			BasicAuth: &payment.BasicAuth{Username: "m", Password: "p"}})
		if err != nil {
			b.Fatal(err)
		}
		for _, card := range []bool{true, false} {
			name := scheme + "/cardwire"
			if !card {
				name = scheme + "/nethttp"
			}
			b.Run(name, func(b *testing.B) {
				var n atomic.Int64
				for b.Loop() {
					body := []byte(fmt.Sprintf(`{"cardnumber":"4242424242424242","cvv":"123","expiry_month":"12","expiry_year":"2031","transaction_id":"%s-%d","method":"charge","amount":1.00,"currency_code":"GBP"}`, name, n.Add(1)))
					resp, err := c.doer.do(context.Background(), &apiRequest{op: "bench", method: http.MethodPost,
						url: c.api.(*genericAPI).url, contentType: "application/json", body: body, card: card, idempotent: true})
					if err != nil || resp.status != http.StatusOK {
						b.Fatalf("%v %v", resp, err)
					}
				}
			})
		}
	}
}

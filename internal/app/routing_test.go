package app

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/internal/testlog"
	"github.com/paybridge/paybridge/sandbox"
	"github.com/paybridge/paybridge/siptest"
	"github.com/paybridge/paybridge/store"
)

// TestRoutingLandsOnceAcrossProviders is the routing contract of issue 15 on a running node,
// over real SIP calls: each case's primary provider (a stripe connector on a sandbox of its
// own) fails in one way, the backup (a session connector on another sandbox) is next in the
// route. The card is keyed once; the payment lands exactly once, on the right provider — checked
// against both sandboxes' ledgers — and the record names the connector that took it and the
// route.
func TestRoutingLandsOnceAcrossProviders(t *testing.T) {
	backup := sandbox.New(sandbox.Config{})
	backupSrv := httptest.NewServer(backup)
	defer backupSrv.Close()
	cases := []struct {
		name      string
		faults    sandbox.Faults
		result    string // Pay.Result as recorded
		connector string // the connector that took it ("" = none)
		onPrimary string // the primary ledger's charge status ("" = no charge)
		onBackup  bool   // the backup charged
	}{
		{"token 503s: never reached", sandbox.Faults{FailFirst: 100, Paths: []string{"/v1/tokens"}}, "success", "backup", "", true},
		{"soft decline", sandbox.Faults{DeclineFirst: 1, Paths: []string{"/v1/charges$"}}, "success", "backup", "declined", true},
		{"hard decline", sandbox.Faults{DeclineFirst: 1, DeclineCode: "card_declined", Paths: []string{"/v1/charges$"}},
			"payment-connector-error", "primary", "declined", false},
		{"answer lost: charged on the primary", sandbox.Faults{LoseFirst: 100, Paths: []string{"/v1/charges$"}}, "success", "primary", "succeeded", false},
	}
	dir := t.TempDir()
	primaries := make([]*sandbox.Provider, len(cases))
	for i, c := range cases {
		primaries[i] = sandbox.New(sandbox.Config{Faults: c.faults})
		srv := httptest.NewServer(primaries[i])
		defer srv.Close()
		src := fmt.Sprintf(`<CallPlan name="route-%d"><Match number="+44163296090%d"/>
<Connector name="primary" type="stripe" baseUrl=%q timeout="2s" apiKey="#(env:PRIMARY_STRIPE_KEY)"/>
<Connector name="backup" type="session" baseUrl=%q account="backup-merchant"><ClientCredentials clientId="c" clientSecret="#(env:R_SECRET:-r-secret)"/></Connector>
<Flow><Pay connector="primary backup" amount="9.00" currency="GBP" reference="ROUTE-%d"/><Hangup/></Flow></CallPlan>`, i, i, srv.URL, backupSrv.URL, i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("route-%d.xml", i)), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a, logs, stop := startNodeEnv(t, map[string]string{"PRIMARY_STRIPE_KEY": "sk_test_routing"}, "--plans", dir)
	defer stop()
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Go(func() {
			res, err := siptest.Dial(context.Background(), siptest.CallerConfig{Target: fmt.Sprintf("sip:+44163296090%d@%s", i, a.SIPAddr()),
				From: "+447700900123", Digits: "4242424242424242# W 1230 W 123", Timeout: 90 * time.Second})
			if err != nil || !res.Answered {
				t.Errorf("%s: Dial = %+v, %v", c.name, res, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for i, c := range cases {
		ref := fmt.Sprintf("ROUTE-%d", i)
		p := waitPayment(t, a, ref, func(p store.PaymentSession) bool { return p.Result != "" })
		if p.Result != c.result || p.Connector != c.connector {
			t.Errorf("%s: record result %q connector %q; want %q %q (routes %+v)", c.name, p.Result, p.Connector, c.result, c.connector, p.Routes)
		}
		var onPrimary []string
		for _, ch := range primaries[i].Ledger() {
			if ch.Reference == ref {
				onPrimary = append(onPrimary, ch.Status)
			}
		}
		if want := c.onPrimary; want == "" && len(onPrimary) != 0 || want != "" && (len(onPrimary) != 1 || onPrimary[0] != want) {
			t.Errorf("%s: primary ledger %v, want %q", c.name, onPrimary, want)
		}
		onBackup := 0
		for _, ch := range backup.Ledger() {
			if ch.Reference == ref && ch.Status == "succeeded" {
				onBackup++
			}
		}
		if onBackup != map[bool]int{true: 1}[c.onBackup] {
			t.Errorf("%s: %d successful charges on the backup", c.name, onBackup)
		}
		routed := p.Routes != nil && len(*p.Routes) == 2
		if routed != c.onBackup {
			t.Errorf("%s: routes %+v", c.name, p.Routes)
		}
	}
	if strings.Contains(logs.String(), "4242424242424242") {
		t.Error("the card number is in the logs")
	}
}

// startNodeEnv is startNode with an environment (plans read secrets from it).
func startNodeEnv(t *testing.T, env map[string]string, extra ...string) (*App, *testlog.Buffer, func()) {
	t.Helper()
	getenv := func(k string) string { return env[k] }
	args := append([]string{"--sip-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--data", t.TempDir(),
		"--rtp-ports", "41000-41200", "--log-level", "debug", "--admin-token", testAdminToken}, extra...)
	cfg, err := ParseConfig(args, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	out := &testlog.Buffer{}
	a, err := New(context.Background(), cfg, getenv, out)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	for deadline := time.Now().Add(10 * time.Second); !a.ready.Load(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("node not ready:\n%s", out)
		}
	}
	return a, out, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

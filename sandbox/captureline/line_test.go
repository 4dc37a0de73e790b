package captureline

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/gateway"
	"github.com/paybridge/paybridge/internal/testlog"
	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/sandbox"
	"github.com/paybridge/paybridge/siptest"
)

const testPAN = "4242424242424242"

type lineEnv struct {
	sb   *sandbox.Provider
	line *Line
	conn payment.Connector
	logs *testlog.Buffer
}

func newLineEnv(t *testing.T) *lineEnv {
	t.Helper()
	logs := &testlog.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sb := sandbox.New(sandbox.Config{Logger: logger})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	line, err := Start(Config{Ledger: sb, Logger: logger, KeyTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(line.Close)
	sb.SetCaptureLine(line.URI())
	cs := gateway.NewConnectors(gateway.ConnectorsConfig{SandboxURL: srv.URL, Attempts: gateway.NewMemoryStore(), Logger: logger})
	conn, err := cs.OpenConnector(&payment.ConnectorSpec{Name: "vcc", Type: "session", BaseURL: "sandbox", Account: "acct",
		ClientCredentials: &payment.ClientCredentials{ClientID: "id", ClientSecret: "secret"}, Capture: payment.CaptureProvider})
	if err != nil {
		t.Fatal(err)
	}
	return &lineEnv{sb: sb, line: line, conn: conn, logs: logs}
}

func (e *lineEnv) session(t *testing.T, call string) *payment.Session {
	t.Helper()
	s, err := e.conn.StartSession(context.Background(), &payment.SessionRequest{CallID: call,
		Amount: payment.Amount{Minor: 4250, Currency: "GBP"}, Reference: "INV-" + call})
	if err != nil {
		t.Fatal(err)
	}
	if s.FallbackURI != e.line.URI() || len(s.LinkID) != linkLen {
		t.Fatalf("session names line %q link %q, want %s", s.FallbackURI, s.LinkID, e.line.URI())
	}
	return s
}

func (e *lineEnv) dial(t *testing.T, s *payment.Session, digits, mode string) *siptest.CallerResult {
	t.Helper()
	res, err := siptest.Dial(context.Background(), siptest.CallerConfig{Target: s.FallbackURI, LocalIP: netip.MustParseAddr("127.0.0.1"),
		Digits: digits, DTMF: mode, PromptWait: 200 * time.Millisecond, Timeout: 60 * time.Second, Logger: slog.New(slog.NewTextHandler(e.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// The line answers, finds the session by the link id keyed down it, takes the card by RFC 4733
// and by in-band tones, pays the session in the sandbox's ledger and hangs up.
func TestLinePaysTheSession(t *testing.T) {
	for _, mode := range []string{siptest.DTMFRFC4733, siptest.DTMFInband} {
		t.Run(mode, func(t *testing.T) {
			e := newLineEnv(t)
			s := e.session(t, "call-"+mode)
			res := e.dial(t, s, s.LinkID+"W"+testPAN+"#1230#123#", mode)
			if !res.Answered || res.HangupBy != "remote" || res.TimedOut {
				t.Fatalf("call: %+v", res)
			}
			st, err := e.conn.StartSession(context.Background(), &payment.SessionRequest{SessionID: s.ID})
			if err != nil || st.State != payment.SessionCompleted || st.TransactionID == "" || st.MaskedCard != "************4242" || st.CardType != "visa" {
				t.Fatalf("session after the line: %+v %v", st, err)
			}
			var found bool
			for _, ch := range e.sb.Ledger() {
				if ch.SessionID == s.ID && ch.Status == "succeeded" && ch.Amount == 4250 && ch.Last4 == "4242" && ch.Reference == "INV-call-"+mode {
					found = true
				}
			}
			if !found {
				t.Fatalf("the ledger has no charge for the session: %+v", e.sb.Ledger())
			}
			out := e.logs.String()
			if !strings.Contains(out, "capture line: card") {
				t.Fatalf("the scan's control failed: no line log in\n%s", out)
			}
			if strings.Contains(out, testPAN) || strings.Contains(out, testPAN[:12]) {
				t.Fatalf("the logs hold the card number")
			}
		})
	}
}

// A declined card leaves the session open: the line takes another; an unknown link id ends the
// call with nothing charged.
func TestLineDeclineThenUnknownLink(t *testing.T) {
	e := newLineEnv(t)
	s := e.session(t, "call-d")
	res := e.dial(t, s, s.LinkID+"W4000000000000002#1230#123#W"+testPAN+"#1230#123#", siptest.DTMFRFC4733)
	if !res.Answered || res.HangupBy != "remote" {
		t.Fatalf("call: %+v", res)
	}
	st, err := e.conn.StartSession(context.Background(), &payment.SessionRequest{SessionID: s.ID})
	if err != nil || st.State != payment.SessionCompleted {
		t.Fatalf("session: %+v %v", st, err)
	}
	if n := len(e.sb.Ledger()); n != 2 {
		t.Fatalf("ledger has %d charges, want a decline and a charge", n)
	}

	s2 := e.session(t, "call-u")
	wrong := []byte(s2.LinkID)
	wrong[0] = '0' + (wrong[0]-'0'+1)%10
	s2.LinkID = string(wrong)
	res = e.dial(t, s2, s2.LinkID+"W"+testPAN+"#1230#123#", siptest.DTMFRFC4733)
	if !res.Answered || res.HangupBy != "remote" {
		t.Fatalf("call with an unknown link: %+v", res)
	}
	if n := len(e.sb.Ledger()); n != 2 {
		t.Fatalf("an unknown link charged: %d charges", n)
	}
}

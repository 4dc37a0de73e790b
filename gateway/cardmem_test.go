package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/internal/cardsafe"
	"github.com/paybridge/paybridge/internal/coremem"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/sandbox"
)

// TestMain runs the child process of TestCardRequestsLeaveNoCopyOverTLS when asked to.
func TestMain(m *testing.M) {
	if mode := os.Getenv("GATEWAY_CARDMEM_CHILD"); mode != "" {
		os.Exit(cardMemChild(mode))
	}
	os.Exit(m.Run())
}

const cardMemCards = 3

// cardMemChild pays cardMemCards cards, read from stdin ("PAN MM YYYY CVV" lines), through a
// session connector (OAuth2 client credentials) to the HTTPS sandbox at $GATEWAY_CARDMEM_URL,
// says "ready" and waits for stdin to close while its parent takes a core image.
//
// mode "wire" pays with Connector.Pay, as paybridge does. Mode "nethttp" is the control: the same
// capture body, assembled and zeroed the same way, is sent through net/http instead of the
// cardWire — what paybridge did before issue 10.
func cardMemChild(mode string) int {
	fail := func(f string, a ...any) int { fmt.Fprintf(os.Stderr, "child: "+f+"\n", a...); return 1 }
	pem, err := os.ReadFile(os.Getenv("GATEWAY_CARDMEM_CA"))
	if err != nil {
		return fail("%v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Transport: &RedactingTransport{Base: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	cs := NewConnectors(ConnectorsConfig{SandboxURL: os.Getenv("GATEWAY_CARDMEM_URL"), HTTPClient: hc, Timeout: 10 * time.Second})
	c, err := cs.OpenConnector(&payment.ConnectorSpec{Name: "tls", Type: "session", BaseURL: "sandbox", Account: "acct-tls",
		ClientCredentials: &payment.ClientCredentials{ClientID: "id", ClientSecret: "secret"}})
	if err != nil {
		return fail("%v", err)
	}
	// The cards arrive on stdin, read straight into one buffer that is zeroed afterwards.
	in := make([]byte, 256)
	n := 0
	for bytes.Count(in[:n], []byte{'\n'}) < cardMemCards {
		m, err := os.Stdin.Read(in[n:])
		if err != nil {
			return fail("reading the cards: %v", err)
		}
		n += m
	}
	ctx := context.Background()
	for i, line := range bytes.SplitN(in[:n], []byte{'\n'}, cardMemCards+1)[:cardMemCards] {
		f := bytes.Fields(line)
		card := payment.Card{Number: &pan.SecureBuffer{}, SecurityCode: &pan.SecureBuffer{}}
		for _, d := range f[0] {
			_ = card.Number.Append(d)
		}
		for _, d := range f[3] {
			_ = card.SecurityCode.Append(d)
		}
		card.ExpMonth, _ = strconv.Atoi(string(f[1]))
		card.ExpYear, _ = strconv.Atoi(string(f[2]))
		amount := payment.Amount{Minor: int64(100 + 37*i), Currency: "GBP"}
		req := &payment.Request{CallID: fmt.Sprintf("%s-call-%d", mode, i), IdempotencyKey: fmt.Sprintf("%s-key-%d", mode, i),
			Amount: amount, Reference: fmt.Sprintf("ref-%d", i), Card: card}
		switch mode {
		case "wire":
			res, err := c.Pay(ctx, req)
			if err != nil || res.Status != payment.Approved {
				return fail("pay %d: %+v %v", i, res, err)
			}
		case "nethttp":
			sess, err := c.StartSession(ctx, &payment.SessionRequest{CallID: req.CallID, Amount: amount})
			if err != nil {
				return fail("session %d: %v", i, err)
			}
			body := cardBody(lit(`{"method":"charge","cardNumber":"`), sec(card.Number), lit(`","expiryMonth":`),
				litInt(card.ExpMonth), lit(`,"expiryYear":`), litInt(card.ExpYear), lit(`,"securityCode":"`),
				sec(card.SecurityCode), lit(`","amount":"`+FormatAmount(amount)+`","currency":"GBP"}`))
			resp, err := c.doer.do(ctx, &apiRequest{op: "session.capture", method: http.MethodPost,
				url: c.api.(*sessionAPI).sessionURL(sess.ID) + "/capture", contentType: "application/json",
				body: body, idemKey: req.IdempotencyKey, idempotent: true})
			cardsafe.Wipe(body)
			if err != nil || resp.status != http.StatusOK {
				return fail("capture %d: %v", i, err)
			}
		}
		card.Number.Wipe()
		card.SecurityCode.Wipe()
	}
	clear(in)
	runtime.GC()
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// cardMemRun starts a child in mode against srv, takes its core image once it has paid, and
// scans it for the cards.
func cardMemRun(t *testing.T, srv *httptest.Server, mode string, cards []coremem.Card) []coremem.Hit {
	t.Helper()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	// The child runs as serve and sandbox run (cardsafe.ExecWithoutAsyncPreemption): without
	// asynchronous preemption. With it on, a preemption landing while the body was copied
	// saved pieces of it from the vector registers (TestCardsNotSavedByPreemption): on a busy
	// machine, where goroutines overrun their time slice, one run in about sixteen found an
	// expiry next to a security code, or 8 digits of a card, in the 16-byte slots of such a save.
	env, _ := cardsafe.WithoutAsyncPreemption(withoutGODEBUG(os.Environ()))
	cmd.Env = append(env, "GATEWAY_CARDMEM_CHILD="+mode, "GATEWAY_CARDMEM_URL="+srv.URL, "GATEWAY_CARDMEM_CA="+ca)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	for _, c := range cards {
		fmt.Fprintf(stdin, "%s %d %d %s\n", c.PAN, c.ExpMonth, c.ExpYear, c.CVV)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		ready <- sc.Scan() && sc.Text() == "ready"
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("%s child failed", mode)
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("%s child did not pay within 90 s", mode)
	}
	core, err := coremem.Dump(cmd.Process.Pid, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(core)
	hits, err := coremem.Scan(core, cards...)
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// tlsSeen records the TLS version and protocol of each capture request a server received.
type tlsSeen struct {
	mu   sync.Mutex
	seen []string
}

func (v *tlsSeen) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/capture") && r.TLS != nil {
			v.mu.Lock()
			v.seen = append(v.seen, fmt.Sprintf("%s %s close=%v", tls.VersionName(r.TLS.Version), r.Proto, r.Close))
			v.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

func (v *tlsSeen) all() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.seen)
}

// TestCardRequestsLeaveNoCopyOverTLS pays three cards over HTTPS with an OAuth2 bearer token
// through the session connector in a child process, and scans a core image of that process:
// nothing of the cards may remain. The control sends the same capture bodies — assembled from
// the secure buffers and zeroed after the call, as before issue 10 — through net/http, whose
// connection buffers keep them: the scan must find them there. A provider that accepts TLS 1.3
// only is paid too, with the body written in pieces too small to hold any pattern.
func TestCardRequestsLeaveNoCopyOverTLS(t *testing.T) {
	if _, err := exec.LookPath("gcore"); err != nil {
		t.Fatal("gcore is not installed (Debian package gdb): run make deps")
	}
	seen12, seen13 := &tlsSeen{}, &tlsSeen{}
	srv := httptest.NewUnstartedServer(seen12.wrap(sandbox.New(sandbox.Config{})))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	srv13 := httptest.NewUnstartedServer(seen13.wrap(sandbox.New(sandbox.Config{})))
	srv13.TLS = &tls.Config{MinVersion: tls.VersionTLS13}
	srv13.StartTLS()
	t.Cleanup(srv13.Close)

	t.Run("control", func(t *testing.T) {
		cards := []coremem.Card{coremem.RandomCard(), coremem.RandomCard(), coremem.RandomCard()}
		hits := cardMemRun(t, srv, "nethttp", cards)
		found := coremem.Count(hits, -1, "pan")
		t.Logf("control (net/http): %d hits, the card number %d times", len(hits), found)
		if found == 0 {
			t.Errorf("control: the scan found no card that net/http kept")
		}
	})
	t.Run("wire", func(t *testing.T) {
		before := len(seen12.all())
		cards := []coremem.Card{coremem.RandomCard(), coremem.RandomCard(), coremem.RandomCard()}
		hits := cardMemRun(t, srv, "wire", cards)
		for _, h := range hits {
			t.Errorf("a card is in the client's memory: %s", h)
		}
		got := seen12.all()[before:]
		if len(got) != cardMemCards {
			t.Fatalf("the server saw %d captures, want %d", len(got), cardMemCards)
		}
		for _, s := range got {
			if s != "TLS 1.2 HTTP/1.1 close=true" {
				t.Errorf("capture arrived as %q, want TLS 1.2 HTTP/1.1 with Connection: close", s)
			}
		}
	})
	t.Run("tls13-only provider", func(t *testing.T) {
		cards := []coremem.Card{coremem.RandomCard(), coremem.RandomCard(), coremem.RandomCard()}
		hits := cardMemRun(t, srv13, "wire", cards)
		for _, h := range hits {
			t.Errorf("a card is in the client's memory: %s", h)
		}
		for _, s := range seen13.all() {
			if s != "TLS 1.3 HTTP/1.1 close=true" {
				t.Errorf("capture arrived as %q, want TLS 1.3 HTTP/1.1 with Connection: close", s)
			}
		}
	})
}

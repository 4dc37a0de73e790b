package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/engine"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/gateway"
	"github.com/paybridge/paybridge/store"
)

const (
	cbSecret = "status-callback-test-secret"
	cbCard   = "4111111111111111"
)

// cbReceiver is a StatusCallback receiver that answers 503 to its first failFirst requests,
// then 204; it keeps every request and the ones it accepted.
type cbReceiver struct {
	url       string
	failFirst int

	mu       sync.Mutex
	tries    []url.Values // every request, refused or not
	accepted []url.Values
	problems []string // a missing or bad signature, a wrong content type
	requests int
}

func startCBReceiver(t *testing.T, failFirst int) *cbReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveCBReceiver(t, ln, failFirst)
}

// serveCBReceiver is a cbReceiver on ln.
func serveCBReceiver(t *testing.T, ln net.Listener, failFirst int) *cbReceiver {
	t.Helper()
	r := &cbReceiver{url: "http://" + ln.Addr().String() + "/status", failFirst: failFirst}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		v, _ := url.ParseQuery(string(body))
		r.mu.Lock()
		defer r.mu.Unlock()
		r.requests++
		r.tries = append(r.tries, v)
		if ct := req.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			r.problems = append(r.problems, "Content-Type "+ct)
		}
		if err := gateway.VerifySignature(req.Header.Get(gateway.SignatureHeader), body, cbSecret, 5*time.Minute); err != nil {
			r.problems = append(r.problems, "signature: "+err.Error())
		}
		if r.requests <= r.failFirst {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		r.accepted = append(r.accepted, v)
		w.WriteHeader(http.StatusNoContent)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return r
}

func (r *cbReceiver) snapshot() (tries, accepted []url.Values, problems []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]url.Values(nil), r.tries...), append([]url.Values(nil), r.accepted...), append([]string(nil), r.problems...)
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cbNode is the part of a node that sends StatusCallbacks: the store (a real SQLite file),
// the webhook dispatcher (when dispatch) and the desk's statusCallbacks.
type cbNode struct {
	st     *store.Store
	client *http.Client // the callbacks' client
	hooks  *gateway.Webhooks
	cbs    *statusCallbacks
	log    *syncBuffer
	cancel context.CancelFunc
	done   sync.WaitGroup
}

// startCBNode starts on the database file db; allow is --http-allow.
func startCBNode(t *testing.T, db string, allow []string, dispatch bool) *cbNode {
	t.Helper()
	return startCBNodeResolving(t, db, allow, dispatch, nil)
}

// startCBNodeResolving is startCBNode whose callbacks look host names up with r (nil: the
// system's resolver).
func startCBNodeResolving(t *testing.T, db string, allow []string, dispatch bool, r engine.Resolver) *cbNode {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	dest, err := engine.NewDestinations(allow, netip.MustParseAddrPort("127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	dest.Resolver = r
	n := &cbNode{st: st, client: callbackClient(dest.HTTPClient()), log: &syncBuffer{}, cancel: cancel}
	log := slog.New(slog.NewTextHandler(n.log, nil))
	n.hooks = gateway.NewWebhooks(gateway.WebhooksConfig{Store: gatewayStore{s: st, node: "n1"}, Logger: log,
		Backoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, PollInterval: 10 * time.Millisecond,
		Callbacks: gateway.CallbacksConfig{HTTPClient: n.client, Secret: cbSecret}})
	n.cbs = newStatusCallbacks(log)
	n.cbs.hooks, n.cbs.signed = n.hooks, true
	n.done.Add(1)
	go func() { defer n.done.Done(); n.cbs.run(ctx) }()
	if dispatch {
		n.done.Add(1)
		go func() { defer n.done.Done(); n.hooks.Run(ctx) }()
	}
	t.Cleanup(n.stop)
	return n
}

func (n *cbNode) stop() {
	n.cancel()
	n.done.Wait()
	n.st.Close()
}

// cbStates are the states of one agent payment, as the desk hands them over.
func cbStates(id, to string) []engine.AgentPaymentState {
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	mask := "************" + cbCard[12:]
	var out []engine.AgentPaymentState
	for i, p := range []event.AgentPayment{
		{Status: "open", Required: []string{"payment-card-number", "expiration-date", "security-code"}},
		{Status: "capturing", Capture: "payment-card-number", PartialResult: true, MaskedCard: "********"},
		{Status: "capturing", Capture: "expiration-date", MaskedCard: mask, CardType: "visa"},
		{Status: "processing", MaskedCard: mask, CardType: "visa", Expiration: "1228", SecurityCode: "xxx"},
		{Status: "complete", MaskedCard: mask, CardType: "visa", Expiration: "1228", SecurityCode: "xxx", Result: "success", Confirmation: "conf-1"},
	} {
		p.PaymentID, p.Connector, p.AmountMinor, p.Currency = id, "sandbox", 999, "GBP"
		out = append(out, engine.AgentPaymentState{AgentPayment: p, CallID: "call-" + id, StatusCallback: to,
			Created: t0, Updated: t0.Add(time.Duration(i) * time.Second)})
	}
	return out
}

// key names a state as a receiver sees it.
func cbKey(v url.Values) string { return v.Get("Sid") + ":" + v.Get("Status") + ":" + v.Get("Capture") }

func waitUntil(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A receiver that fails its first tries gets every state of two payments, each payment's in
// the order they happened — no later state tried before an earlier one was accepted — every
// try signed with the node's webhook secret and form-encoded.
func TestStatusCallbacksRetriedInOrderSigned(t *testing.T) {
	rcv := startCBReceiver(t, 4)
	n := startCBNode(t, filepath.Join(t.TempDir(), "paybridge.db"), []string{"127.0.0.1"}, true)
	a, b := cbStates("PAa", rcv.url), cbStates("PAb", rcv.url)
	for i := range a {
		n.cbs.notify(a[i])
		n.cbs.notify(b[i])
	}
	waitUntil(t, "every state accepted", 20*time.Second, func() bool {
		_, acc, _ := rcv.snapshot()
		return len(acc) >= len(a)+len(b)
	})
	tries, accepted, problems := rcv.snapshot()
	if len(problems) > 0 {
		t.Fatalf("receiver saw %v", problems)
	}
	if len(tries) <= len(accepted) {
		t.Fatalf("%d tries for %d accepted: the receiver's failures were not retried", len(tries), len(accepted))
	}
	for _, states := range [][]engine.AgentPaymentState{a, b} {
		var want []string
		for _, s := range states {
			want = append(want, cbKey(agentPayment(s).View().Form()))
		}
		var got, tried []string
		for _, v := range accepted {
			if v.Get("Sid") == states[0].PaymentID {
				got = append(got, cbKey(v))
			}
		}
		for _, v := range tries {
			if v.Get("Sid") == states[0].PaymentID && (len(tried) == 0 || tried[len(tried)-1] != cbKey(v)) {
				tried = append(tried, cbKey(v))
			}
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("accepted %v\nwant       %v", got, want)
		}
		if strings.Join(tried, " ") != strings.Join(want, " ") {
			t.Errorf("tried in the order %v\nwant             %v", tried, want)
		}
	}
	if last := accepted[len(accepted)-1]; last.Get("Status") != "complete" || last.Get("PaymentCardNumber") != "************1111" {
		t.Errorf("last callback %v", last)
	}
}

// States queued on a node that stops before sending them are sent by the node started again
// on the same database file; the file holds no digit of the card beyond its last four.
func TestStatusCallbacksSurviveRestart(t *testing.T) {
	rcv := startCBReceiver(t, 0)
	db := filepath.Join(t.TempDir(), "paybridge.db")
	n := startCBNode(t, db, []string{"127.0.0.1"}, false) // queues, never sends
	states := cbStates("PAr", rcv.url)
	for _, s := range states {
		n.cbs.notify(s)
	}
	waitUntil(t, "the states in the outbox", 10*time.Second, func() bool {
		ws, err := n.st.WebhooksAbout(context.Background(), "PAr")
		return err == nil && len(ws) == len(states)
	})
	n.stop()
	if tries, _, _ := rcv.snapshot(); len(tries) != 0 {
		t.Fatal("the stopped node sent callbacks")
	}

	n2 := startCBNode(t, db, []string{"127.0.0.1"}, true)
	waitUntil(t, "the states delivered after the restart", 20*time.Second, func() bool {
		_, acc, _ := rcv.snapshot()
		return len(acc) >= len(states)
	})
	_, accepted, problems := rcv.snapshot()
	if len(problems) > 0 {
		t.Fatalf("receiver saw %v", problems)
	}
	for i, s := range states {
		if got, want := cbKey(accepted[i]), cbKey(agentPayment(s).View().Form()); got != want {
			t.Errorf("callback %d: %s, want %s", i, got, want)
		}
	}
	var ws []store.Webhook
	waitUntil(t, "the deliveries recorded", 10*time.Second, func() bool {
		var err error
		ws, err = n2.st.WebhooksAbout(context.Background(), "PAr")
		return err == nil && len(ws) == len(states) && ws[len(ws)-1].Status == store.WebhookDelivered
	})
	for _, w := range ws {
		if w.Status != store.WebhookDelivered || w.Endpoint != gateway.CallbackEndpoint || w.URL != rcv.url || w.Attempts != 1 {
			t.Errorf("row %s: %s %s %s after %d tries", w.ID, w.Status, w.Endpoint, w.URL, w.Attempts)
		}
	}
	n2.stop()
	assertFilesNoCard(t, db)
}

// assertFilesNoCard fails when the database files hold the card's number or any run of its
// digits longer than the last four; its control shows it finds a number that is there.
func assertFilesNoCard(t *testing.T, db string) {
	t.Helper()
	scan := func(b []byte) string {
		for _, needle := range []string{cbCard, cbCard[:12], cbCard[:6] + "+" + cbCard[6:], cbCard[4:]} {
			if bytes.Contains(b, []byte(needle)) {
				return needle
			}
		}
		return ""
	}
	if scan([]byte("x PaymentCardNumber="+cbCard+" y")) == "" {
		t.Fatal("control: the scan does not find a card number")
	}
	files, _ := filepath.Glob(db + "*")
	if len(files) == 0 {
		t.Fatalf("no database files at %s", db)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if hit := scan(b); hit != "" {
			t.Errorf("%s holds %q of the card", f, hit)
		}
	}
}

// A StatusCallback to a destination --http-allow does not list is refused before any
// connection, logged, and given up after that one try: never retried, never received.
func TestStatusCallbackRefusedDestination(t *testing.T) {
	rcv := startCBReceiver(t, 0)
	n := startCBNode(t, filepath.Join(t.TempDir(), "paybridge.db"), nil, true) // "public": no loopback
	n.cbs.notify(cbStates("PAx", rcv.url)[0])
	var ws []store.Webhook
	waitUntil(t, "the refused callback given up", 10*time.Second, func() bool {
		var err error
		ws, err = n.st.WebhooksAbout(context.Background(), "PAx")
		return err == nil && len(ws) == 1 && ws[0].Status == store.WebhookDead
	})
	time.Sleep(100 * time.Millisecond) // ten polls: a retry would show
	ws, _ = n.st.WebhooksAbout(context.Background(), "PAx")
	if ws[0].Status != store.WebhookDead || ws[0].Attempts != 1 || !strings.Contains(ws[0].LastError, "--http-allow") {
		t.Errorf("refused delivery: %s after %d tries: %s", ws[0].Status, ws[0].Attempts, ws[0].LastError)
	}
	if tries, _, _ := rcv.snapshot(); len(tries) != 0 {
		t.Errorf("the receiver got %d requests", len(tries))
	}
	if log := n.log.String(); !strings.Contains(log, "status callback refused") {
		t.Errorf("refusal not logged:\n%s", log)
	}
}

// cbResolver answers a host name with the i-th of its answers on its i-th lookup (the last
// one from then on) and counts the lookups: a name whose DNS answer changes (rebinding).
type cbResolver struct {
	mu      sync.Mutex
	answers [][]netip.Addr
	lookups int
}

func (r *cbResolver) lookup(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if host != "callbacks.test" {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	a := r.answers[min(r.lookups, len(r.answers)-1)]
	r.lookups++
	return a, nil
}

func (r *cbResolver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lookups
}

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

// twoReceivers are StatusCallback receivers on 127.0.0.2 and 127.0.0.1, on one port, so that
// one URL (http://callbacks.test:port/status) reaches either, as its host resolves.
func twoReceivers(t *testing.T) (allowed, refused *cbReceiver, url string) {
	t.Helper()
	for range 20 {
		ln2, err := net.Listen("tcp", "127.0.0.2:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln2.Addr().(*net.TCPAddr).Port
		ln1, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			ln2.Close() // the port is taken on 127.0.0.1: another one
			continue
		}
		return serveCBReceiver(t, ln2, 0), serveCBReceiver(t, ln1, 0), "http://callbacks.test:" + strconv.Itoa(port) + "/status"
	}
	t.Fatal("no port free on both 127.0.0.1 and 127.0.0.2")
	return nil, nil, ""
}

// waitDead waits for the n-th delivery about subject to be given up and returns the rows.
func waitDead(t *testing.T, n *cbNode, subject string, i int) []store.Webhook {
	t.Helper()
	var ws []store.Webhook
	waitUntil(t, "the refused callback given up", 10*time.Second, func() bool {
		var err error
		ws, err = n.st.WebhooksAbout(context.Background(), subject)
		return err == nil && len(ws) > i && ws[i].Status == store.WebhookDead
	})
	return ws
}

// A name that resolves to an allowed address, then (rebinding) to a refused one: each
// connection is checked on the one answer it connects to. The first reaches the allowed
// receiver; the next connection, on the refused answer, is given up at once as a refusal
// (one try) and never reaches the refused receiver. One lookup per connection: nothing
// resolves the name a second time to decide.
func TestStatusCallbackRebindingRefused(t *testing.T) {
	allowed, refused, url := twoReceivers(t)
	res := &cbResolver{answers: [][]netip.Addr{addrs("127.0.0.2"), addrs("127.0.0.1")}}
	n := startCBNodeResolving(t, filepath.Join(t.TempDir(), "paybridge.db"), []string{"127.0.0.2/32"}, true, engine.ResolverFunc(res.lookup))
	states := cbStates("PAd", url)
	n.cbs.notify(states[0])
	waitUntil(t, "the first state delivered", 10*time.Second, func() bool {
		_, acc, _ := allowed.snapshot()
		return len(acc) == 1
	})
	waitUntil(t, "the first delivery recorded", 10*time.Second, func() bool {
		ws, err := n.st.WebhooksAbout(context.Background(), "PAd")
		return err == nil && len(ws) == 1 && ws[0].Status == store.WebhookDelivered
	})
	if got := res.count(); got != 1 {
		t.Fatalf("%d lookups for one connection", got)
	}
	n.client.CloseIdleConnections() // the next state needs a new connection, a new lookup
	n.cbs.notify(states[1])
	ws := waitDead(t, n, "PAd", 1)
	if ws[1].Attempts != 1 || !strings.Contains(ws[1].LastError, "127.0.0.1 is a loopback address") {
		t.Errorf("rebound delivery: %s after %d tries: %s", ws[1].Status, ws[1].Attempts, ws[1].LastError)
	}
	if tries, _, _ := refused.snapshot(); len(tries) != 0 {
		t.Errorf("the refused address got %d requests", len(tries))
	}
	if tries, _, _ := allowed.snapshot(); len(tries) != 1 {
		t.Errorf("the allowed address got %d requests, want 1", len(tries))
	}
}

// An answer with a refused address first and an allowed one second connects to the allowed
// one, once; the refused one is never reached.
func TestStatusCallbackSkipsRefusedAddress(t *testing.T) {
	allowed, refused, url := twoReceivers(t)
	res := &cbResolver{answers: [][]netip.Addr{addrs("127.0.0.1", "127.0.0.2")}}
	n := startCBNodeResolving(t, filepath.Join(t.TempDir(), "paybridge.db"), []string{"127.0.0.2/32"}, true, engine.ResolverFunc(res.lookup))
	n.cbs.notify(cbStates("PAs", url)[0])
	waitUntil(t, "the state delivered", 10*time.Second, func() bool {
		_, acc, _ := allowed.snapshot()
		return len(acc) == 1
	})
	if tries, _, _ := refused.snapshot(); len(tries) != 0 {
		t.Errorf("the refused address got %d requests", len(tries))
	}
	if got := res.count(); got != 1 {
		t.Errorf("%d lookups for one connection", got)
	}
}

// A name whose every address is refused is given up after one try, and the error names each
// refused address with its reason.
func TestStatusCallbackRefusalNamesEveryAddress(t *testing.T) {
	_, refused, url := twoReceivers(t)
	res := &cbResolver{answers: [][]netip.Addr{addrs("127.0.0.1", "10.0.0.7", "169.254.169.254")}}
	n := startCBNodeResolving(t, filepath.Join(t.TempDir(), "paybridge.db"), nil, true, engine.ResolverFunc(res.lookup))
	n.cbs.notify(cbStates("PAe", url)[0])
	ws := waitDead(t, n, "PAe", 0)
	for _, want := range []string{"127.0.0.1 is a loopback address", "10.0.0.7 is a private address", "169.254.169.254 is a link-local address"} {
		if !strings.Contains(ws[0].LastError, want) {
			t.Errorf("last error %q does not say %q", ws[0].LastError, want)
		}
	}
	if ws[0].Attempts != 1 {
		t.Errorf("given up after %d tries", ws[0].Attempts)
	}
	if tries, _, _ := refused.snapshot(); len(tries) != 0 {
		t.Errorf("the refused address got %d requests", len(tries))
	}
	if got := res.count(); got != 1 {
		t.Errorf("%d lookups for one try", got)
	}
}

// gatedOutbox holds every write to the outbox until its gate is closed.
type gatedOutbox struct {
	next callbackOutbox
	gate chan struct{}
}

func (g gatedOutbox) PublishCallback(ctx context.Context, eventType, subject, url string, form []byte) (string, error) {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return g.next.PublishCallback(ctx, eventType, subject, url, form)
}

// At shutdown the states still queued in memory are written to the outbox before the node
// stops (flush, then the outbox's goroutine ends); a flush that cannot finish says how many
// states it leaves. (Before, stopping dropped the queue: a state handed over just before a
// shutdown was never sent.)
func TestStatusCallbacksFlushedAtShutdown(t *testing.T) {
	db := filepath.Join(t.TempDir(), "paybridge.db")
	n := startCBNode(t, db, []string{"127.0.0.1"}, false)
	gate := make(chan struct{})
	n.cbs.hooks = gatedOutbox{next: n.hooks, gate: gate}
	states := cbStates("PAf", "http://127.0.0.1:1/status")
	for _, s := range states {
		n.cbs.notify(s)
	}
	// The store does not answer: flush gives up and says what is left.
	n.cbs.flush(50 * time.Millisecond)
	if log := n.log.String(); !strings.Contains(log, "status callbacks still not in the outbox at shutdown") ||
		!strings.Contains(log, fmt.Sprintf("callbacks=%d", len(states))) {
		t.Errorf("a flush that gave up logged:\n%s", log)
	}
	// It answers: flush returns once every state is written.
	go func() { time.Sleep(100 * time.Millisecond); close(gate) }()
	n.cbs.flush(10 * time.Second)
	n.stop()
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ws, err := st.WebhooksAbout(context.Background(), "PAf")
	if err != nil || len(ws) != len(states) {
		t.Fatalf("%d of %d states in the outbox after the shutdown (%v)", len(ws), len(states), err)
	}
}

// timedOutbox notes when each write to the outbox has returned (committed).
type timedOutbox struct {
	next callbackOutbox
	done chan time.Time
}

func (o timedOutbox) PublishCallback(ctx context.Context, eventType, subject, url string, form []byte) (string, error) {
	id, err := o.next.PublishCallback(ctx, eventType, subject, url, form)
	o.done <- time.Now()
	return id, err
}

// BenchmarkStatusCallbackHandOver is the window in which a status callback exists in memory
// only: from the desk's hand-over (notify) to its outbox row committed, one state at a time,
// on a real SQLite file. ms-p50 and ms-max are that window.
//
//	go test -run '^$' -bench StatusCallbackHandOver -benchtime 200x ./internal/app/
func BenchmarkStatusCallbackHandOver(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "paybridge.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	hooks := gateway.NewWebhooks(gateway.WebhooksConfig{Store: gatewayStore{s: st, node: "n1"}, Logger: slog.New(slog.DiscardHandler)})
	cbs := newStatusCallbacks(slog.New(slog.DiscardHandler))
	out := timedOutbox{next: hooks, done: make(chan time.Time, 1)}
	cbs.hooks, cbs.signed = out, true
	go cbs.run(ctx)
	states := cbStates("PAb", "http://127.0.0.1:1/status")
	var windows []time.Duration
	for i := 0; b.Loop(); i++ {
		s := states[i%len(states)]
		s.PaymentID = fmt.Sprintf("PAb%d", i)
		start := time.Now()
		cbs.notify(s)
		windows = append(windows, (<-out.done).Sub(start))
	}
	slices.Sort(windows)
	b.ReportMetric(float64(windows[len(windows)/2].Microseconds())/1000, "ms-p50")
	b.ReportMetric(float64(windows[len(windows)-1].Microseconds())/1000, "ms-max")
}

// The store orders the deliveries of the endpoint the gateway queues callbacks under.
func TestCallbackEndpointOrderedByStore(t *testing.T) {
	if gateway.CallbackEndpoint != store.OrderedWebhookEndpoint {
		t.Fatalf("gateway queues callbacks as %q, the store orders %q", gateway.CallbackEndpoint, store.OrderedWebhookEndpoint)
	}
}

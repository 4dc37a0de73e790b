package gateway

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/internal/cardsafe"
	"github.com/paybridge/paybridge/internal/cardsafe/regs"
	"github.com/paybridge/paybridge/internal/coremem"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/sandbox"
)

// The core-image test of serve (internal/e2e) found, once in a busy `make test`, a card request
// in the memory of a process that zeroes every buffer it owns: a goroutine preempted by the
// runtime's signal while its vector registers held pieces of the request being copied has
// those registers saved to the signal frame and to the runtime's per-P area, which nothing
// zeroes (internal/cardsafe/preempt.go). These tests drive that path hard enough to catch it
// on every run: each round is a process that pays preemptRoundCards cards through the three
// connector types into the sandbox — client and provider in one memory, as in serve — while
// two goroutines keep the collector running, whose every cycle preempts the running
// goroutines; its memory is then searched (coremem.ScanProcess) for the cards.
const (
	preemptRoundCards  = 30
	preemptRounds      = 12 // rounds of the release run; on the code before the fix one in four found a card
	preemptKeepRegsEnv = "GATEWAY_PREEMPT_KEEPREGS"
	preemptControlMax  = 40 // rounds the control may take to find one
)

// preemptChildEnv names the helper process.
const preemptChildEnv = "GATEWAY_PREEMPT_CHILD"

// TestCardsNotSavedByPreemption pays in rounds with the process environment serve runs with
// (cardsafe.WithoutAsyncPreemption) and finds no card in memory. Its control runs the same
// rounds with asynchronous preemption on and must find one.
func TestCardsNotSavedByPreemption(t *testing.T) {
	if testing.Short() {
		t.Skip("pays hundreds of cards in child processes")
	}
	t.Run("control", func(t *testing.T) {
		// Preemption on, and the registers left holding the card after each copy (as before
		// pan.Zero cleared them), so that a preemption saves them.
		env := append(withoutGODEBUG(os.Environ()), "GODEBUG=asyncpreemptoff=0", preemptKeepRegsEnv+"=1")
		for round := 1; round <= preemptControlMax; round++ {
			if hits := preemptRound(t, env); len(hits) > 0 {
				t.Logf("control: round %d found a card (%d hits), e.g. %s", round, len(hits), hits[0])
				return
			}
		}
		t.Fatalf("control: %d rounds with asynchronous preemption on found no card: the test cannot catch the leak", preemptControlMax)
	})
	t.Run("release", func(t *testing.T) {
		env, _ := cardsafe.WithoutAsyncPreemption(withoutGODEBUG(os.Environ()))
		for round := 1; round <= preemptRounds; round++ {
			for _, h := range preemptRound(t, env) {
				t.Errorf("round %d: card %d in memory: %s", round, h.Card, h)
			}
		}
	})
}

func withoutGODEBUG(env []string) []string {
	out := env[:0:0]
	for _, e := range env {
		if !strings.HasPrefix(e, "GODEBUG=") {
			out = append(out, e)
		}
	}
	return out
}

// preemptRound runs one helper process with env, hands it preemptRoundCards random cards, and
// returns the hits of a scan of its memory once it has paid them all and wiped its buffers.
// Hits inside a longer run of letters and digits (a random id or a hash that happens to hold
// eight digits of a card) are not card data and are dropped.
func preemptRound(t *testing.T, env []string) []coremem.Hit {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPreemptHelperProcess$", "-test.count=1")
	cmd.Env = append(env, preemptChildEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	}()
	cards := make([]coremem.Card, preemptRoundCards)
	for i := range cards {
		cards[i] = coremem.RandomCard()
		fmt.Fprintf(stdin, "%s %d %d %s\n", cards[i].PAN, cards[i].ExpMonth, cards[i].ExpYear, cards[i].CVV)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "paid\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("helper process: %q %v\n%s", line, err, stderr.String())
	}
	hits, err := coremem.ScanProcess(cmd.Process.Pid, cards...)
	if err != nil {
		t.Fatal(err)
	}
	out := hits[:0]
	for _, h := range hits {
		if !inToken(h.Context) {
			out = append(out, h)
		}
	}
	return out
}

// inToken reports whether the match marked «…» in a hit's context is part of a run of digits
// that touches a letter on either side.
func inToken(ctx string) bool {
	i, j := strings.Index(ctx, "«"), strings.Index(ctx, "»")
	if i < 0 || j < i {
		return false
	}
	before := strings.TrimRight(ctx[:i], "#")
	after := strings.TrimLeft(ctx[j+len("»"):], "#")
	letter := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	return len(before) > 0 && letter(before[len(before)-1]) || len(after) > 0 && letter(after[0])
}

// TestPreemptHelperProcess is the helper process of TestCardsNotSavedByPreemption: it reads
// cards from stdin ("PAN MONTH YEAR CVV" lines), pays them at once through a session, a generic
// and a Stripe-shaped connector into a sandbox on loopback while the collector runs without a
// pause, wipes them, says "paid" and waits for stdin to close. Without GATEWAY_PREEMPT_CHILD it
// returns at once.
func TestPreemptHelperProcess(t *testing.T) {
	if os.Getenv(preemptChildEnv) != "1" {
		return
	}
	if os.Getenv(preemptKeepRegsEnv) == "1" {
		regs.Disable() // the control: registers kept as before they were cleared after a wipe
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	srv := &http.Server{Handler: http.StripPrefix("/sandbox", sandbox.New(sandbox.Config{})), ConnContext: cardsafe.ConnContext}
	go func() { _ = srv.Serve(cardsafe.Listener(ln)) }()
	cs := NewConnectors(ConnectorsConfig{SandboxURL: "http://" + ln.Addr().String() + "/sandbox", Timeout: time.Minute})
	specs := []payment.ConnectorSpec{
		{Name: "session", Type: "session", BaseURL: "sandbox", Account: "acct",
			ClientCredentials: &payment.ClientCredentials{ClientID: "id", ClientSecret: "secret"}},
		{Name: "generic", Type: "generic", BaseURL: "sandbox", BasicAuth: &payment.BasicAuth{Username: "u", Password: "p"}},
		{Name: "stripe", Type: "stripe", BaseURL: "sandbox", APIKey: "sk_test_preempt"},
	}
	var conns []*Connector
	for i := range specs {
		c, err := cs.OpenConnector(&specs[i])
		if err != nil {
			fail(err)
		}
		conns = append(conns, c)
	}
	cards, err := readCards(os.Stdin, preemptRoundCards)
	if err != nil {
		fail(err)
	}

	stop := make(chan struct{})
	var storm sync.WaitGroup
	for range 2 {
		storm.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					runtime.GC()
				}
			}
		})
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(cards))
	for i := range cards {
		wg.Go(func() {
			defer cards[i].Number.Wipe()
			defer cards[i].SecurityCode.Wipe()
			key := fmt.Sprintf("preempt-%d", i)
			// 5 minor units: an amount of three digits ("420") sits in memory next to the
			// card's expiry year and, for one card in 900, matches the scan's expiry+cvv.
			res, err := conns[i%len(conns)].Pay(context.Background(), &payment.Request{CallID: "call-" + key, IdempotencyKey: key,
				Amount: payment.Amount{Minor: 5, Currency: "GBP"}, Reference: "ref-" + key, Card: cards[i]})
			if err != nil || res.Status != payment.Approved {
				errs <- fmt.Errorf("payment %d: %v %v", i, res, err)
			}
		})
	}
	wg.Wait()
	close(stop)
	storm.Wait()
	close(errs)
	for err := range errs {
		fail(err)
	}
	// The provider's handlers wipe what they read after the client has its answer: wait for
	// every one to return before the scan (a serve core image is taken long after a payment;
	// on a busy box a handler could still be between its answer and its wipe).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	if err := srv.Shutdown(ctx); err != nil {
		fail(err)
	}
	cancel()
	fmt.Println("paid")
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// readCards reads n lines "PAN MONTH YEAR CVV" from r into cards whose number and security
// code are secure buffers, and zeroes what it read them into.
func readCards(r io.Reader, n int) ([]payment.Card, error) {
	raw := make([]byte, 64*n)
	defer pan.Zero(raw)
	got, lines := 0, 0
	for lines < n {
		m, err := r.Read(raw[got:])
		if err != nil {
			return nil, fmt.Errorf("reading the cards: %w", err)
		}
		lines += bytes.Count(raw[got:got+m], []byte{'\n'})
		got += m
	}
	cards := make([]payment.Card, 0, n)
	c := payment.Card{Number: &pan.SecureBuffer{}, SecurityCode: &pan.SecureBuffer{}}
	field, num := 0, 0
	for _, b := range raw[:got] {
		var err error
		switch {
		case b == ' ' || b == '\n':
			switch field {
			case 1:
				c.ExpMonth = num
			case 2:
				c.ExpYear = num
			}
			field, num = field+1, 0
			if b == '\n' {
				cards = append(cards, c)
				c = payment.Card{Number: &pan.SecureBuffer{}, SecurityCode: &pan.SecureBuffer{}}
				field = 0
			}
		case field == 0:
			err = c.Number.Append(b)
		case field == 3:
			err = c.SecurityCode.Append(b)
		default:
			num = num*10 + int(b-'0')
		}
		if err != nil {
			return nil, err
		}
	}
	return cards, nil
}

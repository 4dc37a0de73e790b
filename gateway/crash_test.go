package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/payment"
	"github.com/paybridge/paybridge/sandbox"
)

// journal is a durable AttemptLog for the crash test: every change is one JSON line, fsynced
// before the call returns, replayed on open. (The product's durable log is the store's SQLite
// table; this stands in for it so the gateway's own crash behaviour is tested with kill -9.)
type journal struct {
	mu  sync.Mutex
	f   *os.File
	mem *MemoryStore
}

type journalLine struct {
	Op      string        `json:"op"` // begin | complete | error
	Attempt *Attempt      `json:"attempt,omitempty"`
	Key     string        `json:"key,omitempty"`
	Result  AttemptResult `json:"result,omitempty"`
	Msg     string        `json:"msg,omitempty"`
}

func openJournal(path string) (*journal, error) {
	j := &journal{mem: NewMemoryStore()}
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var l journalLine
			if json.Unmarshal(sc.Bytes(), &l) != nil {
				continue // a line torn by the kill
			}
			ctx := context.Background()
			switch l.Op {
			case "begin":
				_, _ = j.mem.BeginAttempt(ctx, l.Attempt)
			case "complete":
				_ = j.mem.CompleteAttempt(ctx, l.Key, l.Result)
			case "error":
				_ = j.mem.NoteAttemptError(ctx, l.Key, l.Msg)
			}
		}
		f.Close()
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	j.f = f
	return j, nil
}

func (j *journal) write(l journalLine) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return err
	}
	return j.f.Sync()
}

func (j *journal) BeginAttempt(ctx context.Context, a *Attempt) (*Attempt, error) {
	old, err := j.mem.BeginAttempt(ctx, a)
	if err != nil {
		return old, err
	}
	return old, j.write(journalLine{Op: "begin", Attempt: old})
}

func (j *journal) CompleteAttempt(ctx context.Context, key string, r AttemptResult) error {
	if err := j.mem.CompleteAttempt(ctx, key, r); err != nil {
		return err
	}
	return j.write(journalLine{Op: "complete", Key: key, Result: r})
}

func (j *journal) NoteAttemptError(ctx context.Context, key, msg string) error {
	if err := j.mem.NoteAttemptError(ctx, key, msg); err != nil {
		return err
	}
	return j.write(journalLine{Op: "error", Key: key, Msg: msg})
}

func (j *journal) GetAttempt(ctx context.Context, key string) (*Attempt, error) {
	return j.mem.GetAttempt(ctx, key)
}

func (j *journal) PendingAttempts(ctx context.Context, before time.Time) ([]*Attempt, error) {
	return j.mem.PendingAttempts(ctx, before)
}

var crashSpec = payment.ConnectorSpec{Name: "provider", Type: "session", BaseURL: "sandbox", Account: "acct-crash",
	ClientCredentials: &payment.ClientCredentials{ClientID: "id", ClientSecret: "secret"}}

// TestCrashHelperProcess is the child of TestKill9MidPaymentLoad: it pays in a loop until it
// is killed. Run on its own (without GATEWAY_CRASH_CHILD) it returns at once.
func TestCrashHelperProcess(t *testing.T) {
	if os.Getenv("GATEWAY_CRASH_CHILD") != "1" {
		return
	}
	j, err := openJournal(os.Getenv("GATEWAY_CRASH_JOURNAL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	cs := NewConnectors(ConnectorsConfig{SandboxURL: os.Getenv("GATEWAY_CRASH_SANDBOX"), Attempts: j, Backoff: 5 * time.Millisecond})
	c, err := cs.OpenConnector(&crashSpec)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				pan := "4242424242424242"
				if i%5 == 4 {
					pan = "4000000000000002" // some declines in the mix
				}
				key := fmt.Sprintf("w%d-%d", w, i)
				_, _ = c.Pay(context.Background(), &payment.Request{CallID: "call-" + key, IdempotencyKey: key,
					Amount: payment.Amount{Minor: 100 + int64(i), Currency: "GBP"}, Card: card(t, pan, "123")})
			}
		}()
	}
	wg.Wait()
}

// Kill -9 a process in the middle of a payment load, then reconcile its write-ahead attempt
// log with the sandbox: every charge the provider holds is recorded as approved exactly once,
// nothing was charged twice, and no attempt is left pending.
func TestKill9MidPaymentLoad(t *testing.T) {
	// The provider outlives the crash; a little latency keeps payments in flight.
	e := newEnv(t, sandbox.Config{Faults: sandbox.Faults{Latency: 3 * time.Millisecond}})
	path := t.TempDir() + "/attempts.jsonl"
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "GATEWAY_CRASH_CHILD=1", "GATEWAY_CRASH_JOURNAL="+path, "GATEWAY_CRASH_SANDBOX="+e.srv.URL)
	var childErr strings.Builder
	cmd.Stderr = &childErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(e.sb.Ledger()) < 60 {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("child made only %d charges in 60s; stderr:\n%s", len(e.sb.Ledger()), childErr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred code, no flush
		t.Fatal(err)
	}
	werr := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(werr, &ee) || ee.ExitCode() != -1 {
		t.Fatalf("child was not killed by a signal: %v", werr)
	}
	time.Sleep(50 * time.Millisecond) // let the sandbox finish requests the child left behind

	// Restart: reopen the log, reopen the connector, reconcile.
	j, err := openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pendingAtCrash, _ := j.PendingAttempts(ctx, time.Now().Add(time.Hour))
	cs := NewConnectors(ConnectorsConfig{SandboxURL: e.srv.URL, Attempts: j, Backoff: time.Millisecond})
	if _, err := cs.OpenConnector(&crashSpec); err != nil {
		t.Fatal(err)
	}
	rep, err := ReconcileWith(ctx, j, cs, ReconcileOptions{Grace: 10 * time.Millisecond})
	if err != nil || len(rep.Errors) > 0 {
		t.Fatalf("reconcile: %+v %v", rep, err)
	}
	t.Logf("killed after %d sandbox charges; %d attempts pending at the crash; reconcile: %+v",
		len(e.sb.Ledger()), len(pendingAtCrash), rep)
	if left, _ := j.PendingAttempts(ctx, time.Now().Add(time.Hour)); len(left) != 0 {
		t.Fatalf("%d attempts still pending after reconcile", len(left))
	}
	// Cross-check the provider's ledger against the attempt log.
	charged := map[string]sandbox.Charge{}
	for _, ch := range e.sb.Ledger() {
		if _, dup := charged[ch.IdempotencyKey]; dup {
			t.Fatalf("key %s charged twice", ch.IdempotencyKey)
		}
		charged[ch.IdempotencyKey] = ch
	}
	attempts := j.mem.Attempts()
	byKey := map[string]Attempt{}
	for _, a := range attempts {
		byKey[a.Key] = a
	}
	for key, ch := range charged {
		a, ok := byKey[key]
		if !ok {
			t.Fatalf("the provider charged %s but the attempt log never saw it", key)
		}
		want := AttemptApproved
		if ch.Status == "declined" {
			want = AttemptDeclined
		}
		if a.State != want {
			t.Fatalf("key %s: provider %s, log %s", key, ch.Status, a.State)
		}
		if want == AttemptApproved && a.Result.ConfirmationCode != ch.ID {
			t.Fatalf("key %s: log confirmation %q, provider charge %s", key, a.Result.ConfirmationCode, ch.ID)
		}
	}
	for _, a := range attempts {
		if _, ok := charged[a.Key]; !ok && a.State != AttemptFailed {
			t.Fatalf("attempt %s is %s but the provider has no charge for it", a.Key, a.State)
		}
	}
	b, _ := os.ReadFile(path)
	assertNoPAN(t, "attempt journal", string(b))
}

package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paybridge/paybridge/internal/pgtemp"
)

// The tests of this file open the same database twice — two nodes sharing a PostgreSQL database
// (or, on SQLite, a CLI beside serve) — and race them.

func TestTwoNodesClaimALinkOnce(t *testing.T) { eachDialect(t, testTwoNodesClaimALinkOnce) }

func testTwoNodesClaimALinkOnce(t *testing.T) {
	ctx := context.Background()
	a, target := openTest(t)
	b := openAgain(t, target)
	for round := 0; round < 8; round++ {
		hash := fmt.Sprint("h", round)
		must(t, a.CreateLink(ctx, Link{TokenHash: hash, To: "+447700900001", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
		var wins, busy atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < 12; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := []*Store{a, b}[i%2].ClaimLink(ctx, hash, t0.Add(time.Minute))
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
		close(start)
		wg.Wait()
		if wins.Load() != 1 || busy.Load() != 11 {
			t.Fatalf("round %d: %d claims won, %d busy; want 1 and 11", round, wins.Load(), busy.Load())
		}
	}
}

func TestTwoNodesAppendToOneCall(t *testing.T) { eachDialect(t, testTwoNodesAppendToOneCall) }

// A link paid on one node appends to the timeline of a call another node took, while that node
// is still appending: every event gets its own number, none is lost.
func testTwoNodesAppendToOneCall(t *testing.T) {
	ctx := context.Background()
	a, target := openTest(t)
	b := openAgain(t, target)
	must(t, a.CreateCall(ctx, Call{ID: "c", Node: "n1", StartedAt: t0}))
	const per = 25
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				if err := []*Store{a, b}[w%2].AppendEvent(ctx, "c", EventRecord{Type: "step", Step: fmt.Sprint(w, "-", i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	_, evs, err := b.GetCall(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 8*per {
		t.Fatalf("%d events, want %d", len(evs), 8*per)
	}
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d numbered %d", i, e.Seq)
		}
	}
}

func TestSMSCapAcrossNodes(t *testing.T) { eachDialect(t, testSMSCapAcrossNodes) }

// Thirty links to one number requested at once on two nodes, under a cap of 3: three are
// created, every other request is refused with ErrCapReached, and another number is unaffected.
func testSMSCapAcrossNodes(t *testing.T) {
	ctx := context.Background()
	a, target := openTest(t)
	b := openAgain(t, target)
	var made, capped atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := []*Store{a, b}[i%2].CreateLinkCapped(ctx, Link{TokenHash: fmt.Sprint("cap", i), To: "+447700900009",
				CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}, t0.Add(-24*time.Hour), 3)
			switch {
			case err == nil:
				made.Add(1)
			case errors.Is(err, ErrCapReached):
				capped.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if made.Load() != 3 || capped.Load() != 27 {
		t.Fatalf("%d links made, %d refused; want 3 and 27", made.Load(), capped.Load())
	}
	if n, _ := b.CountLinksTo(ctx, "+447700900009", t0.Add(-time.Hour)); n != 3 {
		t.Fatalf("CountLinksTo = %d", n)
	}
	must(t, b.CreateLinkCapped(ctx, Link{TokenHash: "other", To: "+447700900010", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
		t0.Add(-24*time.Hour), 3))
	// Links older than the window do not count.
	must(t, a.CreateLinkCapped(ctx, Link{TokenHash: "later", To: "+447700900009", CreatedAt: t0.Add(25 * time.Hour),
		ExpiresAt: t0.Add(26 * time.Hour)}, t0.Add(time.Hour), 3))
}

func TestWebhookClaimsAcrossNodes(t *testing.T) { eachDialect(t, testWebhookClaimsAcrossNodes) }

// Two dispatchers claim due deliveries at once: each delivery goes to exactly one. One node
// then "dies" holding its claims: nobody else gets them until the lease ends, then the other
// node does. Marking a delivery ends its claim.
func testWebhookClaimsAcrossNodes(t *testing.T) {
	ctx := context.Background()
	a, target := openTest(t)
	b := openAgain(t, target)
	const n = 40
	for i := 0; i < n; i++ {
		_, err := a.EnqueueWebhook(ctx, Webhook{ID: fmt.Sprintf("w%02d", i), Event: "pay.completed", URL: "https://x.test",
			Payload: []byte(`{}`), CreatedAt: t0, NextAt: t0.Add(time.Duration(i) * time.Millisecond)})
		must(t, err)
	}
	at := t0.Add(time.Second)
	lease := time.Minute
	got := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			node := []string{"n1", "n2"}[w%2]
			ws, err := []*Store{a, b}[w%2].ClaimDueWebhooks(ctx, node, at, lease, 5)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for i, x := range ws {
				if prev, dup := got[x.ID]; dup {
					t.Errorf("%s claimed by %s and %s", x.ID, prev, node)
				}
				got[x.ID] = node
				if x.ClaimedBy != node || !x.ClaimedUntil.Equal(at.Add(lease)) {
					t.Errorf("claim of %s: %q until %v", x.ID, x.ClaimedBy, x.ClaimedUntil)
				}
				if i > 0 && x.NextAt.Before(ws[i-1].NextAt) {
					t.Errorf("claims not oldest first")
				}
			}
		}()
	}
	wg.Wait()
	if len(got) != 30 {
		t.Fatalf("%d deliveries claimed by 6 claims of 5", len(got))
	}
	// n1 delivers one of its claims; the rest of its claims are stranded ("n1 died").
	var n1 []string
	for id, node := range got {
		if node == "n1" {
			n1 = append(n1, id)
		}
	}
	must(t, a.MarkWebhookDelivered(ctx, n1[0], at))
	rest, err := b.ClaimDueWebhooks(ctx, "n2", at, lease, 100)
	must(t, err)
	if len(rest) != n-30 {
		t.Fatalf("within the lease n2 claimed %d, want the %d unclaimed", len(rest), n-30)
	}
	later, err := b.ClaimDueWebhooks(ctx, "n2", at.Add(lease), lease, 100)
	must(t, err)
	// Every claim has expired by now (n2's too): all but the delivered one are claimed again.
	if len(later) != n-1 {
		t.Fatalf("after the lease n2 claimed %d, want %d", len(later), n-1)
	}
	for _, w := range later {
		if w.ID == n1[0] {
			t.Errorf("delivered webhook %s claimed again", w.ID)
		}
	}
	must(t, b.MarkWebhookFailed(ctx, later[0].ID, at.Add(lease+time.Second), "HTTP 500"))
	again, err := a.ClaimDueWebhooks(ctx, "n1", at.Add(lease+time.Second), lease, 100)
	must(t, err)
	if len(again) != 1 || again[0].ID != later[0].ID || again[0].Attempts != 1 {
		t.Fatalf("a failed try is due again at its next time, unclaimed: %+v", again)
	}
	// A node that dies holding claims has them released by the node taking it over.
	held, err := a.ClaimDueWebhooks(ctx, "n1", at.Add(3*lease), lease, 100)
	must(t, err)
	if len(held) != n-1 {
		t.Fatalf("n1 claimed %d", len(held))
	}
	if got, _ := b.ClaimDueWebhooks(ctx, "n2", at.Add(3*lease), lease, 100); len(got) != 0 {
		t.Fatalf("n2 claimed %d of n1's", len(got))
	}
	freed, err := b.ReleaseWebhookClaims(ctx, "n1")
	must(t, err)
	if got, _ := b.ClaimDueWebhooks(ctx, "n2", at.Add(3*lease), lease, 100); freed != n-1 || len(got) != n-1 {
		t.Fatalf("released %d, n2 then claimed %d; want %d", freed, len(got), n-1)
	}
	if _, err := a.ClaimDueWebhooks(ctx, "n1", at, 0, 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("claim without a lease = %v", err)
	}
}

func TestNodeLeases(t *testing.T) { eachDialect(t, testNodeLeases) }

// A node id is held by one live process; a dead node is taken over by one other node only, and
// only once it is dead; the dead node coming back waits for the takeover to end.
func testNodeLeases(t *testing.T) {
	ctx := context.Background()
	a, target := openTest(t)
	b := openAgain(t, target)
	pg := onPostgres(t)
	l1, err := a.RegisterNode(ctx, Node{ID: "n1", SIPAddr: "127.0.0.2:5060", HTTPAddr: "127.0.0.2:8080", Version: "v1"})
	must(t, err)
	if pg { // on SQLite, serve's data-directory lock refuses the second process
		if _, err := b.RegisterNode(ctx, Node{ID: "n1"}); !errors.Is(err, ErrNodeLive) {
			t.Fatalf("second n1 = %v, want ErrNodeLive", err)
		}
	}
	if _, err := b.TakeOver(ctx, "n1", time.Hour); !errors.Is(err, ErrNodeLive) {
		t.Fatalf("takeover of a live node = %v", err)
	}
	must(t, l1.Renew(ctx, NodeDraining))
	n, err := b.GetNode(ctx, "n1")
	must(t, err)
	if n.State != NodeDraining || n.SIPAddr != "127.0.0.2:5060" || n.Version != "v1" || !n.Alive(time.Now(), time.Minute) {
		t.Fatalf("node = %+v", n)
	}
	// n1 dies: its session ends without a clean Close.
	l1.release()
	if pg {
		// Its lock is free, but it was seen a moment ago: not dead yet by a 1-minute rule.
		if _, err := b.TakeOver(ctx, "n1", time.Minute); !errors.Is(err, ErrNodeLive) {
			t.Fatalf("takeover of a node seen a moment ago = %v", err)
		}
	}
	time.Sleep(20 * time.Millisecond)
	// A dead node's lock goes when PostgreSQL has ended its session, a moment after the
	// connection dropped (long on a loaded server): until then the takeover is refused.
	tk, err := b.TakeOver(ctx, "n1", 10*time.Millisecond)
	for deadline := time.Now().Add(30 * time.Second); pg && errors.Is(err, ErrNodeLive) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		tk, err = b.TakeOver(ctx, "n1", 10*time.Millisecond)
	}
	must(t, err)
	if pg {
		if _, err := a.TakeOver(ctx, "n1", 10*time.Millisecond); !errors.Is(err, ErrNodeLive) {
			t.Fatalf("a second takeover = %v", err)
		}
		if _, err := a.RegisterNode(ctx, Node{ID: "n1"}); !errors.Is(err, ErrNodeLive) {
			t.Fatalf("n1 restarting during its takeover = %v", err)
		}
	}
	must(t, tk.Close(ctx))
	l1b, err := a.RegisterNode(ctx, Node{ID: "n1", Version: "v2"})
	must(t, err)
	must(t, l1b.Close(ctx))
	n, _ = b.GetNode(ctx, "n1")
	if n.State != NodeStopped || n.StoppedAt.IsZero() || n.Version != "v2" || n.Alive(time.Now(), time.Hour) {
		t.Fatalf("after Close: %+v", n)
	}
	// A cleanly stopped node with leftovers is taken over at once.
	tk, err = b.TakeOver(ctx, "n1", time.Hour)
	must(t, err)
	must(t, tk.Close(ctx))
	// Rows from before node ids (node "") were never registered: always dead.
	tk, err = b.TakeOver(ctx, "", time.Hour)
	must(t, err)
	must(t, tk.Close(ctx))
	nodes, err := a.ListNodes(ctx)
	must(t, err)
	if len(nodes) != 1 || nodes[0].ID != "n1" {
		t.Fatalf("ListNodes = %+v", nodes)
	}
	if _, err := a.RegisterNode(ctx, Node{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("node without id = %v", err)
	}
}

func TestOrphanedNodes(t *testing.T) { eachDialect(t, testOrphanedNodes) }

func testOrphanedNodes(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	must(t, s.CreateCall(ctx, Call{ID: "c1", Node: "n1", StartedAt: t0}))
	must(t, s.CreateCall(ctx, Call{ID: "c2", Node: "n2", StartedAt: t0}))
	must(t, s.EndCall(ctx, "c2", "caller-hangup", t0.Add(time.Minute)))
	must(t, s.CreateCall(ctx, Call{ID: "c3", Node: "self", StartedAt: t0}))
	must(t, s.CreateAttempt(ctx, Attempt{IdempotencyKey: "k3", Node: "n3", CreatedAt: t0}))
	must(t, s.CreateAttempt(ctx, Attempt{IdempotencyKey: "k4", Node: "n4", CreatedAt: t0}))
	must(t, s.CompleteAttempt(ctx, "k4", AttemptResult{Result: "approved"}))
	must(t, s.CreateAttempt(ctx, Attempt{IdempotencyKey: "k1", Node: "n1", CreatedAt: t0}))
	ids, err := s.OrphanedNodes(ctx, "self")
	must(t, err)
	if strings.Join(ids, ",") != "n1,n3" {
		t.Fatalf("OrphanedNodes = %v, want n1,n3", ids)
	}
	p, err := s.NodePendingAttempts(ctx, "n1")
	must(t, err)
	if len(p) != 1 || p[0].IdempotencyKey != "k1" || p[0].Node != "n1" {
		t.Fatalf("NodePendingAttempts(n1) = %+v", p)
	}
	n, err := s.EndNodeCalls(ctx, "n1", t0.Add(time.Second), "interrupted: node n1 stopped")
	must(t, err)
	if c, _, _ := s.GetCall(ctx, "c3"); n != 1 || c.State != CallRinging {
		t.Fatalf("EndNodeCalls ended %d; self's call is %s", n, c.State)
	}
}

func TestLiveFeedAcrossNodes(t *testing.T) { eachDialect(t, testLiveFeedAcrossNodes) }

// What one node announces, every node that follows receives, masked; on SQLite there is no
// one to tell and Follow just waits.
func testLiveFeedAcrossNodes(t *testing.T) {
	a, target := openTest(t)
	b := openAgain(t, target)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if !onPostgres(t) {
		must(t, a.Announce(ctx, []byte(`{}`)))
		done := make(chan error, 1)
		go func() { done <- b.Follow(ctx, func([]byte) { t.Error("SQLite delivered a message") }) }()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Follow = %v", err)
		}
		return
	}
	type heard struct {
		follower int
		m        string
	}
	got := make(chan heard, 100)
	for i, s := range []*Store{a, b} {
		go s.Follow(ctx, func(m []byte) { got <- heard{i, string(m)} })
	}
	// LISTEN starts asynchronously: announce until each follower has heard one. (Counting
	// messages instead let one follower's two pings stand for both, on a busy machine where
	// the other's LISTEN came later: it then missed the announcement below.)
	listening := map[int]bool{}
	for deadline := time.Now().Add(30 * time.Second); len(listening) < 2; {
		must(t, a.Announce(ctx, []byte(`{"type":"ping"}`)))
		select {
		case h := <-got:
			listening[h.follower] = true
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("followers %v heard an announcement, want both", listening)
		}
	}
	time.Sleep(200 * time.Millisecond)
	for len(got) > 0 {
		<-got
	}
	must(t, b.Announce(ctx, []byte(`{"type":"pay.completed","note":"card 4242424242424242"}`)))
	received := map[int]bool{}
	for len(received) < 2 {
		select {
		case h := <-got:
			if strings.Contains(h.m, "ping") {
				continue // a ping still on its way
			}
			received[h.follower] = true
			if strings.Contains(h.m, "4242424242424242") || !strings.Contains(h.m, "************4242") {
				t.Errorf("feed message %s", h.m)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("followers %v received the announcement, want both", received)
		}
	}
	if err := a.Announce(ctx, []byte(strings.Repeat("x", MaxFeedMessage+1))); !errors.Is(err, ErrInvalid) {
		t.Errorf("oversized announcement = %v", err)
	}
}

// TestPurgeOneNodeAtATime: while one node's purge runs, another's does nothing.
func TestPurgeOneNodeAtATime(t *testing.T) {
	ctx := context.Background()
	t.Run("postgres", func(t *testing.T) {
		a, target := openTest(t)
		b := openAgain(t, target)
		old := t0.Add(-48 * time.Hour)
		must(t, a.CreateCall(ctx, Call{ID: "old", StartedAt: old}))
		must(t, a.EndCall(ctx, "old", "caller-hangup", old))
		hold := make(chan struct{})
		held := make(chan struct{})
		go func() {
			_ = a.write(ctx, func(ctx context.Context, tx *txn) error {
				ok, err := tx.tryLockKey(ctx, "retention")
				if err != nil || !ok {
					t.Errorf("lock: %v %v", ok, err)
				}
				close(held)
				<-hold
				return nil
			})
		}()
		<-held
		st, err := b.Purge(ctx, t0)
		must(t, err)
		if st != (PurgeStats{}) {
			t.Fatalf("purge beside another purge removed %+v", st)
		}
		close(hold)
		time.Sleep(50 * time.Millisecond)
		st, err = b.Purge(ctx, t0)
		must(t, err)
		if st.Calls != 1 {
			t.Fatalf("purge after the other ended: %+v", st)
		}
	})
}

// TestMigrateNodesStartingTogether: nodes opening a fresh PostgreSQL database at the same moment
// queue on the migration lock; every one opens, the schema is migrated once.
func TestMigrateNodesStartingTogether(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		target := newPGDatabase(t)
		var wg sync.WaitGroup
		for i := 0; i < 5; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := Open(context.Background(), target)
				if err != nil {
					t.Error(err)
					return
				}
				s.Close()
			}()
		}
		wg.Wait()
		s := openAgain(t, target)
		var n int
		must(t, s.r.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&n))
		if v, _ := s.Version(context.Background()); n != SchemaVersion() || v != SchemaVersion() {
			t.Fatalf("%d migration rows, version %d; want %d", n, v, SchemaVersion())
		}
	})
}

// TestConnectionLoss: the PostgreSQL server goes away under a node (a crash, a failover). Every
// write fails within the store's bound instead of hanging, nothing half-written is left, and
// once the server is back the same store writes again without a restart.
func TestConnectionLoss(t *testing.T) {
	ctx := context.Background()
	c, err := pgtemp.Start(ctx, pgtemp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	url, err := c.CreateDB(ctx, "loss")
	must(t, err)
	s, err := Open(ctx, url)
	must(t, err)
	defer s.Close()
	must(t, s.CreateAttempt(ctx, Attempt{IdempotencyKey: "before", CreatedAt: t0}))
	c.Crash()
	start := time.Now()
	err = s.CreateAttempt(ctx, Attempt{IdempotencyKey: "during", CreatedAt: t0})
	if err == nil {
		t.Fatal("a write with the server down succeeded")
	}
	if d := time.Since(start); d > pgWriteTimeout+pgConnectTimeout+5*time.Second {
		t.Fatalf("the failed write took %v", d)
	}
	if err := s.CompleteAttempt(ctx, "before", AttemptResult{Result: "approved"}); err == nil {
		t.Fatal("completing with the server down succeeded")
	}
	must(t, c.Restart(ctx))
	must(t, s.CompleteAttempt(ctx, "before", AttemptResult{Result: "approved"}))
	if _, err := s.GetAttempt(ctx, "during"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the attempt whose write failed exists: %v", err)
	}
	got, err := s.GetAttempt(ctx, "before")
	must(t, err)
	if got.Status != AttemptComplete || got.Result != "approved" {
		t.Fatalf("after reconnecting: %+v", got)
	}
	// A node lease survives it too: Renew takes the lock again on a new connection.
	l, err := s.RegisterNode(ctx, Node{ID: "n1"})
	must(t, err)
	defer l.Close(ctx)
	c.Crash()
	if err := l.Renew(ctx, NodeUp); err == nil {
		t.Fatal("Renew with the server down succeeded")
	}
	must(t, c.Restart(ctx))
	must(t, l.Renew(ctx, NodeUp))
	other := openAgain(t, url)
	if _, err := other.RegisterNode(ctx, Node{ID: "n1"}); !errors.Is(err, ErrNodeLive) {
		t.Fatalf("the renewed lease is not held: %v", err)
	}
}

// A cleanly closed lease frees its id when Close returns: the node restarts (or another
// takes its leftovers over) at once, with no wait for PostgreSQL to end the old session.
func TestNodeLeaseCloseFreesAtOnce(t *testing.T) { eachDialect(t, testNodeLeaseCloseFreesAtOnce) }

func testNodeLeaseCloseFreesAtOnce(t *testing.T) {
	ctx := context.Background()
	a, target := openTest(t)
	b := openAgain(t, target)
	for i := range 30 {
		l, err := a.RegisterNode(ctx, Node{ID: "n1"})
		if err != nil {
			t.Fatalf("restart %d: %v", i, err)
		}
		must(t, l.Close(ctx))
		tk, err := b.TakeOver(ctx, "n1", time.Hour)
		if err != nil {
			t.Fatalf("takeover right after clean stop %d: %v", i, err)
		}
		must(t, tk.Close(ctx))
	}
}

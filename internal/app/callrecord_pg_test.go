package app

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paybridge/paybridge/console"
	"github.com/paybridge/paybridge/internal/testlog"
	"github.com/paybridge/paybridge/media"
	"github.com/paybridge/paybridge/store"
	"github.com/prometheus/client_golang/prometheus"
)

// commitCutter is a TCP proxy in front of the test cluster's unix socket that, once armed, cuts
// the client side of the connection that inserts into calls just after forwarding its COMMIT,
// and keeps the server side open: the server commits, the client sees its connection drop with
// the COMMIT sent — a commit in doubt, reported to the store's caller as a failure.
type commitCutter struct {
	ln    net.Listener
	armed atomic.Bool
	cut   atomic.Int32 // commits cut

	mu      sync.Mutex
	servers []net.Conn // kept open until the test ends
}

var (
	pgCommit     = []byte("Q\x00\x00\x00\x0bcommit\x00") // pgx's tx.Commit: a simple query
	pgInsertCall = []byte("INSERT INTO calls")
	// pgCancelRequest starts a CancelRequest: its length (16) and code 80877102.
	pgCancelRequest = []byte{0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e}
)

func startCommitCutter(t *testing.T) *commitCutter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &commitCutter{ln: ln}
	sock := filepath.Join(pgCluster.Socket, ".s.PGSQL."+strconv.Itoa(pgCluster.Port))
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("unix", sock)
			if err != nil {
				client.Close()
				continue
			}
			c.mu.Lock()
			c.servers = append(c.servers, server)
			c.mu.Unlock()
			go func() { // server → client; after a cut, the server's answers go nowhere
				if _, err := io.Copy(client, server); err != nil {
					_, _ = io.Copy(io.Discard, server)
				}
				client.Close()
			}()
			go c.forward(client, server)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, s := range c.servers {
			s.Close()
		}
	})
	return c
}

// forward copies client → server, cutting the client after the COMMIT of a transaction that
// inserted a call, when armed.
func (c *commitCutter) forward(client, server net.Conn) {
	buf := make([]byte, 64<<10)
	// A cancel request (pgx sends one on a new connection when a query's connection breaks)
	// does not get through either: the network that cut the connection is down.
	if n, _ := io.ReadFull(client, buf[:8]); n == 8 && bytes.Equal(buf[:8], pgCancelRequest) {
		client.Close()
		return
	} else if _, err := server.Write(buf[:n]); err != nil || n < 8 {
		client.Close()
		return
	}
	var tail []byte // the end of the stream so far, for a match across reads
	inserting := false
	for {
		n, err := client.Read(buf)
		if n > 0 {
			if _, werr := server.Write(buf[:n]); werr != nil {
				client.Close()
				return
			}
			seen := append(append([]byte(nil), tail...), buf[:n]...)
			switch {
			case !inserting:
				if c.armed.Load() && bytes.Contains(seen, pgInsertCall) {
					inserting = true // its COMMIT comes in a later message
					seen = nil
				}
			case bytes.Contains(seen, pgCommit) && c.armed.CompareAndSwap(true, false):
				c.cut.Add(1)
				client.Close() // the server keeps its side: it commits
				return
			}
			tail = seen[max(0, len(seen)-32):]
		}
		if err != nil {
			client.Close() // the server side stays: closed at the test's end
			return
		}
	}
}

// url is the URL of database db of dbURL through the proxy.
func (c *commitCutter) url(t *testing.T, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("host", "127.0.0.1")
	q.Set("port", strconv.Itoa(c.ln.Addr().(*net.TCPAddr).Port))
	u.RawQuery = q.Encode()
	return u.String()
}

// On PostgreSQL a call's start write whose COMMIT was sent but whose answer was lost is
// reported failed, and the server commits it later, after the writes queued behind it have run:
// the end's UPDATE found no row, and the row landed answered — the call in progress for good.
// The end now writes the whole row ended when it finds none, and the insert waits for the start
// still in flight: the call is ended, its cause and media figure recorded.
func TestCallEndOrderedAfterAStartInDoubtPostgres(t *testing.T) {
	ctx := context.Background()
	dbURL := testDatabase(t)
	cutter := startCommitCutter(t)
	st, err := store.Open(ctx, cutter.url(t, dbURL))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The server commits an insert into calls 3 s after its COMMIT arrives: the start in
	// doubt lands after the writes behind it have run.
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE FUNCTION test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(3); RETURN NULL; END $$`,
		`CREATE CONSTRAINT TRIGGER test_slow_commit AFTER INSERT ON calls DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_slow_commit()`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	logs := &testlog.Buffer{}
	reg := prometheus.NewRegistry()
	m := console.NewMetrics(reg)
	a := &App{log: slog.New(slog.NewTextHandler(logs, nil)), metrics: m, records: st, recorder: &eventRecorder{}}
	rec := newCallRecord(a.log, m, &a.recordWrites, &a.recordsPending)
	t0 := time.Now().Truncate(time.Millisecond)
	row := store.Call{ID: "call-in-doubt", From: "+441632960001", To: "+441632960801", Plan: "p", Node: "n1",
		State: store.CallAnswered, StartedAt: t0, AnsweredAt: t0}

	cutter.armed.Store(true)
	if !rec.wait(a.recordStart(rec, row), 30*time.Second) {
		t.Fatal("the start write did not return")
	}
	if cutter.cut.Load() != 1 {
		t.Fatal("control: the start's COMMIT was not cut")
	}
	if got := counterValue(t, reg, "paybridge_call_record_write_errors_total", "start"); got != 1 {
		t.Fatalf("control: the start in doubt was not reported failed (%v)\n%s", got, logs)
	}
	ended := t0.Add(42 * time.Second)
	end := a.recordEnd(rec, a.log, row, media.Stats{Foreign: 7}, "caller-hangup", ended)
	if !rec.wait(end, 30*time.Second) {
		t.Fatal("the end write did not return")
	}
	a.recordWrites.Wait()

	// The start in doubt lands 3 s after its COMMIT, whatever the end did meanwhile.
	var c *store.Call
	waitUntil(t, "the call's row", 20*time.Second, func() bool {
		c, _, err = st.GetCall(ctx, row.ID)
		return err == nil
	})
	time.Sleep(100 * time.Millisecond)
	if c, _, err = st.GetCall(ctx, row.ID); err != nil {
		t.Fatal(err)
	}
	if c.State != store.CallEnded || c.HangupCause != "caller-hangup" || !c.EndedAt.Equal(ended) || c.RTPForeign != 7 {
		t.Errorf("the call is %s (cause %q, ended %v, rtp_foreign %d), want ended by caller-hangup at %v with 7\n%s",
			c.State, c.HangupCause, c.EndedAt, c.RTPForeign, ended, logs)
	}
	if got := counterValue(t, reg, "paybridge_call_record_write_errors_total", "end"); got != 0 {
		t.Errorf("the end write failed:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "the call's row is missing at its end") {
		t.Errorf("control: the end did not find the row missing:\n%s", logs)
	}
	var rows int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM calls WHERE id = $1`, row.ID).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("%d rows for the call (%v)", rows, err)
	}
}

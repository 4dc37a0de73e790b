package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/paybridge/paybridge/internal/pgtemp"
)

// TestCrashKill9 runs a writer in a child process, acknowledges each committed write on stdout,
// kills the child with SIGKILL mid-stream and reopens the database: every acknowledged write
// must be there, complete (call, event and attempt of one iteration are one transaction each
// and all three are checked), and the database must be sound. Three rounds on the same
// database, each adding to what the last left. (~3 s)
//
// On SQLite, SIGKILL tests the WAL recovery and that an acknowledged commit is in the WAL; with
// synchronous=FULL the WAL is also fsynced at each commit, which is what survives a power cut.
// On PostgreSQL the server (a cluster of the test's own) is stopped the hard way at the same
// moment — immediate shutdown: no checkpoint, WAL buffers not written — and restarted: its
// crash recovery must replay every acknowledged commit. The database's default is
// synchronous_commit=off, which loses acknowledged commits here; the store's sessions insist on
// on.
func TestCrashKill9(t *testing.T) {
	if target := os.Getenv("STORE_CRASH_CHILD"); target != "" {
		crashChild(target)
		return
	}
	eachDialect(t, func(t *testing.T) { testCrashKill9(t, "TestCrashKill9", 1) })
}

// TestCrashKill9GroupCommit is TestCrashKill9 with 8 writers at once, so that on SQLite their
// writes share commits (group commit, gathering on: writer.go): a write is acknowledged only
// when the commit that holds it is durable, so no acknowledged write may be missing after the
// kill, whichever batch it was in. Control: the child reports its writes per commit, which
// must be above one on SQLite (the writes were grouped). (~3 s)
func TestCrashKill9GroupCommit(t *testing.T) {
	if target := os.Getenv("STORE_CRASH_CHILD"); target != "" {
		crashChild(target)
		return
	}
	eachDialect(t, func(t *testing.T) { testCrashKill9(t, "TestCrashKill9GroupCommit", 8) })
}

func testCrashKill9(t *testing.T, test string, writers int) {
	ctx := context.Background()
	target := filepath.Join(t.TempDir(), "paybridge.db")
	var pg *pgtemp.Cluster
	if onPostgres(t) {
		var err error
		if pg, err = pgtemp.Start(ctx, pgtemp.Options{}); err != nil {
			t.Fatal(err)
		}
		defer pg.Stop()
		// The server's default is the unsafe one: the store must not depend on it.
		if target, err = pg.CreateDB(ctx, "crash"); err != nil {
			t.Fatal(err)
		}
		s, err := Open(ctx, target)
		must(t, err)
		_, err = s.w.ExecContext(ctx, "ALTER DATABASE crash SET synchronous_commit = off")
		must(t, err)
		s.Close()
	}
	acked := map[int]bool{}
	grouped := 0.0 // the most writes per commit the child reported
	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
		cmd.Env = append(os.Environ(), "STORE_CRASH_CHILD="+target, fmt.Sprintf("STORE_CRASH_BASE=%d", round*1000000),
			fmt.Sprintf("STORE_CRASH_WRITERS=%d", writers))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		want := 150 + round*70
		n := 0
		var last string
		for sc.Scan() {
			line := sc.Text()
			var w, c int64
			if _, err := fmt.Sscanf(line, "stats %d %d", &w, &c); err == nil {
				grouped = max(grouped, float64(w)/float64(max(c, 1)))
				continue
			}
			if !strings.HasPrefix(line, "ack ") {
				last = line
				continue
			}
			i, _ := strconv.Atoi(strings.TrimPrefix(line, "ack "))
			acked[i] = true
			if n++; n == want {
				if pg != nil {
					pg.Crash()
				}
				_ = cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
		_ = cmd.Wait()
		if n < want {
			t.Fatalf("round %d: child stopped after %d acks: %s", round, n, last)
		}
		if pg != nil {
			must(t, pg.Restart(ctx))
		}
		s, err := Open(ctx, target)
		if err != nil {
			t.Fatalf("round %d: reopen after kill -9: %v", round, err)
		}
		if pg == nil {
			var check string
			if err := s.w.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
				t.Fatalf("round %d: integrity_check = %q, %v", round, check, err)
			}
		}
		for i := range acked {
			id := fmt.Sprintf("crash-%d", i)
			c, evs, err := s.GetCall(ctx, id)
			if err != nil || c.State != CallAnswered || len(evs) != 1 {
				t.Fatalf("round %d: acknowledged call %s lost or torn: %+v %v %v", round, id, c, evs, err)
			}
			if a, err := s.GetAttempt(ctx, "idem-"+id); err != nil || a.Status != AttemptPending {
				t.Fatalf("round %d: acknowledged attempt of %s lost: %v", round, id, err)
			}
		}
		s.Close()
	}
	t.Logf("%d acknowledged writes survived 3 kill -9s (writers %d, up to %.1f writes per commit)", len(acked), writers, grouped)
	if writers > 1 && !onPostgres(t) && grouped <= 1 {
		t.Errorf("control: the child's writes were never grouped (%.2f writes per commit): group commit was not tested", grouped)
	}
}

// crashChild writes as fast as it can from STORE_CRASH_WRITERS goroutines and prints "ack N"
// after iteration N's commits (and "stats WRITES COMMITS" every 50 acks).
func crashChild(target string) {
	ctx := context.Background()
	s, err := Open(ctx, target)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	base, _ := strconv.Atoi(os.Getenv("STORE_CRASH_BASE"))
	writers, _ := strconv.Atoi(os.Getenv("STORE_CRASH_WRITERS"))
	var mu sync.Mutex // one line at a time on stdout
	var next, acks atomic.Int64
	next.Store(int64(base) - 1)
	fail := func(err error) {
		mu.Lock()
		fmt.Println("write:", err)
		os.Exit(1)
	}
	for range max(writers, 1) {
		go func() {
			for {
				i := int(next.Add(1))
				id := fmt.Sprintf("crash-%d", i)
				if err := s.CreateCall(ctx, Call{ID: id, State: CallAnswered, From: "+44", StartedAt: time.Now()}); err != nil {
					fail(err)
				}
				if err := s.AppendEvent(ctx, id, EventRecord{Type: "pay.progress", Fields: jsonFields(map[string]any{"digits": i % 17})}); err != nil {
					fail(err)
				}
				if err := s.CreateAttempt(ctx, Attempt{IdempotencyKey: "idem-" + id, SessionID: "s-" + id, AmountMinor: 100, Currency: "GBP"}); err != nil {
					fail(err)
				}
				mu.Lock()
				fmt.Printf("ack %d\n", i)
				if acks.Add(1)%50 == 0 {
					st := s.WriteStats()
					fmt.Printf("stats %d %d\n", st.Writes, st.Commits)
				}
				mu.Unlock()
			}
		}()
	}
	select {}
}

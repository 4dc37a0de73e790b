package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkWriteLoop is serve's event recorder writing call timelines, on both dialects: the
// events of 64 calls in progress arriving interleaved, written either one transaction per
// event (AppendEvent, what the recorder did before batching) or one transaction per tick
// (AppendEvents of 32 events: a 20 ms tick at 1,500 calls of 42 events in ~40 s; batched-28:
// serve's mean batch at 1,000 calls, 27 stored events a call, a 50 ms tick). It reports
// events/s and the CPU each event costs: this process's (the store's Go side and, on SQLite,
// the database engine) and on PostgreSQL also the server's.
//
//	go test -run '^$' -bench BenchmarkWriteLoop -benchtime 3000x ./store/
func BenchmarkWriteLoop(b *testing.B) {
	for _, d := range []string{"sqlite", "postgres"} {
		b.Run(d, func(b *testing.B) {
			for _, mode := range []struct {
				name  string
				batch int
			}{{"one-by-one", 1}, {"batched", 32}, {"batched-28", 28}} {
				b.Run(mode.name, func(b *testing.B) { benchWriteLoop(b, mode.batch) })
			}
		})
	}
}

// benchStore opens a fresh store for a benchmark: a SQLite file, or a PostgreSQL database
// when the benchmark runs on PostgreSQL; closed when the benchmark ends.
func benchStore(b *testing.B) *Store {
	target := filepath.Join(b.TempDir(), "bench.db")
	if onPostgres(b) {
		target = newPGDatabase(b)
	}
	s, err := Open(context.Background(), target)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func benchWriteLoop(b *testing.B, batch int) {
	ctx := context.Background()
	s := benchStore(b)
	const calls = 64
	for i := range calls {
		if err := s.CreateCall(ctx, Call{ID: fmt.Sprintf("c%d", i), State: CallAnswered, From: "+447700900001", To: "+441632960208", Plan: "pay"}); err != nil {
			b.Fatal(err)
		}
	}
	fields := jsonFields(map[string]any{"phase": "key", "for": "payment-card-number", "attempt": 1, "errorType": "", "digits": 7})
	evs := make([]CallEvent, 0, batch)
	server := pgServerCPU(onPostgres(b))
	self := processCPU()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		evs = append(evs, CallEvent{CallID: fmt.Sprintf("c%d", i%calls), EventRecord: EventRecord{Type: "pay.progress", Step: "Pay", Fields: fields}})
		if len(evs) < batch && i < b.N-1 {
			continue
		}
		var err error
		if batch == 1 {
			err = s.AppendEvent(ctx, evs[0].CallID, evs[0].EventRecord)
		} else {
			err = s.AppendEvents(ctx, evs)
		}
		if err != nil {
			b.Fatal(err)
		}
		evs = evs[:0]
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(n/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(processCPU()-self)/float64(time.Microsecond)/n, "cpu-µs/event")
	if onPostgres(b) {
		b.ReportMetric(float64(pgServerCPU(true)-server)/float64(time.Microsecond)/n, "server-cpu-µs/event")
	}
}

// processCPU is this process's user+system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pgServerCPU is the CPU time of the test's PostgreSQL server (pgtemp's postmaster, a child of
// this process, and its backends), from /proc; 0 when not on PostgreSQL.
func pgServerCPU(on bool) time.Duration {
	if !on {
		return 0
	}
	type proc struct {
		ppid int
		cpu  time.Duration
	}
	procs := map[int]proc{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid … utime(14) stime(15)
		rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
		f := strings.Fields(rest)
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		procs[pid] = proc{ppid: ppid, cpu: time.Duration(ut+st) * (time.Second / 100)} // USER_HZ
	}
	self := os.Getpid()
	var total time.Duration
	for pid, p := range procs {
		if p.ppid == self || procs[p.ppid].ppid == self {
			if pid != self {
				total += p.cpu
			}
		}
	}
	return total
}

// BenchmarkDurableWrites is the writes a payment makes that are each durable on their own —
// a payment attempt written before the provider is called (CreateAttempt) — from many callers
// at once, on both dialects. "writers-N": N callers each writing as soon as their last write
// returned (closed loop). "rate-R": one write begun every 1/R s whatever the others do (open
// loop: serve's calls make their writes independently, a few hundred a second at 1,000 calls).
// On SQLite each runs with group commit's gathering off (gather-0) and on (gather-10ms,
// writer.go). It reports the CPU per write (this process's; on PostgreSQL the server's too),
// writes per commit, and for the open loop the mean and worst time a caller waited.
//
//	go test -run '^$' -bench BenchmarkDurableWrites -benchtime 1000x ./store/
func BenchmarkDurableWrites(b *testing.B) {
	for _, d := range []string{"sqlite", "postgres"} {
		b.Run(d, func(b *testing.B) {
			gathers := []time.Duration{0, gatherWindow}
			if d == "postgres" {
				gathers = []time.Duration{0} // no client-side group commit (postgres.go)
			}
			for _, g := range gathers {
				for _, load := range []struct {
					name    string
					writers int
					rate    float64
				}{{"writers-1", 1, 0}, {"writers-16", 16, 0}, {"rate-200", 0, 200}, {"rate-500", 0, 500}} {
					b.Run(fmt.Sprintf("gather-%v/%s", g, load.name), func(b *testing.B) {
						benchDurableWrites(b, g, load.writers, load.rate)
					})
				}
			}
		})
	}
}

func benchDurableWrites(b *testing.B, gather time.Duration, writers int, rate float64) {
	ctx := context.Background()
	s := benchStore(b)
	s.gather = gather
	write := func(i int) error {
		return s.CreateAttempt(ctx, Attempt{IdempotencyKey: fmt.Sprintf("idem-%d", i), SessionID: fmt.Sprintf("s-%d", i),
			CallID: "", Connector: "provider", Channel: "voice", AmountMinor: 999, Currency: "GBP", Reference: "load"})
	}
	before := s.WriteStats()
	server := pgServerCPU(onPostgres(b))
	self := processCPU()
	var waited, worst atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	if rate == 0 {
		var next atomic.Int64
		for range writers {
			wg.Go(func() {
				for i := int(next.Add(1)); i <= b.N; i = int(next.Add(1)) {
					if err := write(i); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
	} else {
		every := time.Duration(float64(time.Second) / rate)
		start := time.Now()
		for i := range b.N {
			time.Sleep(time.Until(start.Add(time.Duration(i) * every)))
			wg.Go(func() {
				t0 := time.Now()
				if err := write(i); err != nil {
					b.Error(err)
				}
				w := int64(time.Since(t0))
				waited.Add(w)
				for old := worst.Load(); w > old && !worst.CompareAndSwap(old, w); old = worst.Load() {
				}
			})
		}
	}
	wg.Wait()
	b.StopTimer()
	n := float64(b.N)
	st := s.WriteStats()
	b.ReportMetric(float64(processCPU()-self)/float64(time.Microsecond)/n, "cpu-µs/write")
	b.ReportMetric(float64(st.Writes-before.Writes)/float64(max(st.Commits-before.Commits, 1)), "writes/commit")
	if onPostgres(b) {
		b.ReportMetric(float64(pgServerCPU(true)-server)/float64(time.Microsecond)/n, "server-cpu-µs/write")
	}
	if rate > 0 {
		b.ReportMetric(float64(waited.Load())/float64(time.Millisecond)/n, "wait-ms/write")
		b.ReportMetric(float64(worst.Load())/float64(time.Millisecond), "worst-wait-ms")
	}
}

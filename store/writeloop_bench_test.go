package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkWriteLoop is serve's event recorder writing call timelines, on both dialects: the
// events of 64 calls in progress arriving interleaved, written either one transaction per
// event (AppendEvent, what the recorder did before batching) or one transaction per tick
// (AppendEvents of 32 events: a 20 ms tick at 1,500 calls of 42 events in ~40 s). It reports
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
			}{{"one-by-one", 1}, {"batched", 32}} {
				b.Run(mode.name, func(b *testing.B) { benchWriteLoop(b, mode.batch) })
			}
		})
	}
}

func benchWriteLoop(b *testing.B, batch int) {
	ctx := context.Background()
	target := filepath.Join(b.TempDir(), "bench.db")
	if onPostgres(b) {
		target = newPGDatabase(b)
	}
	s, err := Open(ctx, target)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
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

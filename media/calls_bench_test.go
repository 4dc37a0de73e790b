//go:build linux

package media

import (
	"context"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/paybridge/paybridge/dtmf"
)

// BenchmarkListeningCalls is what serve's media path costs per call-second with many calls up
// at once, through real sockets: 500 started sessions (the shared scheduler, a DTMF stream
// each) receive a 20 ms PCMU packet every 20 ms from a far end on loopback — the listening
// phase of a card call, where the caller sends and paybridge suppresses its silence — so the
// figure holds the per-packet receive path (system calls, wake-ups, the RTP checks, decoding,
// the detectors) and the scheduler's ticks. The far end sends as independent callers do,
// spread over the frame: every 2 ms a tenth of the calls get their packet (one sendmmsg, from
// one goroutine on a locked thread whose CPU time is taken out), so one iteration is one 2 ms
// slot. cpu-µs/call-s is the rest of the process's CPU (getrusage) per call-second. It
// measures CPU time, not wall time, so a busy machine moves it less than throughput; it still
// moves it (caches, a shared core): run it a few times, -benchtime 2500x is 5 s. rss-KB/call is
// the process's resident memory after the warm-up and a collection, less before the sessions,
// per session: what the media path holds per call (sockets' kernel buffers are not in it).
//
// dgrams/recvmmsg is how many datagrams the shared receiver's recvmmsg returned on average
// (rxStats), rounds/s how many rounds it ran. ctxsw/s is the process's context switches a
// second (getrusage, the far end's thread taken out); rx-thread-ctxsw/s the io_uring
// receiver's thread's own, top-thread-vol/s the voluntary switches of the busiest thread — the
// runtime's sysmon, which wakes ~50 times after each P it takes from a system call (docs/sip.md,
// "The receiver's round: thread switches"). PAYBRIDGE_BENCH_CALLS sets the number of calls
// (500 unless set).
func BenchmarkListeningCalls(b *testing.B) {
	calls := benchCalls()
	far, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer far.Close()
	farAddr := far.LocalAddr().(*net.UDPAddr).AddrPort()
	sched := NewScheduler()
	defer sched.Close()
	runtime.GC()
	rss0 := vmRSS(b)
	sessions := make([]*Session, calls)
	dsts := make([]*net.UDPAddr, calls)
	for i := range sessions {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		dsts[i] = conn.LocalAddr().(*net.UDPAddr)
		s := NewSession(conn, SessionConfig{Scheduler: sched, DTMF: dtmf.NewStream(dtmf.StreamConfig{OnDigit: func(dtmf.Event) {}})})
		if err := s.SetParams(Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv, Remote: farAddr}); err != nil {
			b.Fatal(err)
		}
		s.Start()
		sessions[i] = s
	}
	defer func() {
		for _, s := range sessions {
			s.Close()
		}
	}()
	// the far end's packets: silence (μ-law 0xFF), one SSRC and sequence per call
	pkts := make([][]byte, calls)
	for i := range pkts {
		h := rtp.Header{Version: 2, PayloadType: 0, SSRC: uint32(i + 1)}
		raw, _ := h.Marshal()
		for range 160 {
			raw = append(raw, 0xFF)
		}
		pkts[i] = raw
	}
	pc := ipv4.NewPacketConn(far)
	msgs := make([]ipv4.Message, calls)
	for i := range msgs {
		msgs[i] = ipv4.Message{Buffers: [][]byte{pkts[i]}, Addr: dsts[i]}
	}
	const slots = 10 // 2 ms slots per 20 ms frame
	seqs := make([]uint16, calls)
	send := func(slot int) {
		lo, hi := slot*calls/slots, (slot+1)*calls/slots
		for i := lo; i < hi; i++ {
			seqs[i]++
			seq, ts := seqs[i], uint32(seqs[i])*160
			p := pkts[i]
			p[2], p[3] = byte(seq>>8), byte(seq)
			p[4], p[5], p[6], p[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
		}
		for sent := lo; sent < hi; {
			n, err := pc.WriteBatch(msgs[sent:hi], 0)
			if err != nil {
				b.Error(err)
				return
			}
			sent += n
		}
	}
	// warm up: every session locks the far end's SSRC and grows its buffers
	for i := range 250 {
		send(i % slots)
		time.Sleep(2 * time.Millisecond)
	}
	runtime.GC() // what the sessions hold, not garbage awaiting a collection
	rssPerCall := float64(vmRSS(b)-rss0) / float64(calls)
	rounds := make(chan int)
	done := make(chan time.Duration)
	var genSwitches int64
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		t0, sw0 := threadCPU(), switches(unix.RUSAGE_THREAD)
		for slot := range rounds {
			send(slot)
		}
		genSwitches = switches(unix.RUSAGE_THREAD) - sw0
		done <- threadCPU() - t0
	}()
	sw0 := switches(unix.RUSAGE_SELF)
	threads0 := threadSwitches()
	rxTID, urounds := uringRxProbe()
	var urounds0 int64
	if urounds != nil {
		urounds0 = urounds()
	}
	cpu0 := processCPU()
	rounds0, recvs0, dgrams0 := rxStats()
	start := time.Now()
	next := start
	n := 0
	for b.Loop() {
		rounds <- n % slots
		n++
		next = next.Add(2 * time.Millisecond)
		time.Sleep(time.Until(next))
	}
	close(rounds)
	gen := <-done
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0 - gen
	sw := switches(unix.RUSAGE_SELF) - sw0 - genSwitches
	threads1 := threadSwitches()
	rounds1, recvs1, dgrams1 := rxStats()
	var received int64
	for _, s := range sessions {
		received += s.Stats().Received
	}
	if want := int64(calls) * int64(n) / slots; received < want*9/10 {
		b.Fatalf("sessions received %d packets of the %d sent in the measured rounds and more", received, want)
	}
	callSeconds := float64(calls) * elapsed.Seconds()
	b.ReportMetric(float64(cpu.Microseconds())/callSeconds, "cpu-µs/call-s")
	b.ReportMetric(float64(gen.Microseconds())/callSeconds, "far-end-cpu-µs/call-s")
	b.ReportMetric(rssPerCall/1024, "rss-KB/call")
	b.ReportMetric(float64(sw)/elapsed.Seconds(), "ctxsw/s")
	// the busiest thread by voluntary switches is the runtime's sysmon where it is awake most
	var busiest int64
	for tid, v := range threads1 {
		busiest = max(busiest, v[0]-threads0[tid][0])
	}
	b.ReportMetric(float64(busiest)/elapsed.Seconds(), "top-thread-vol/s")
	rxRounds := rounds1 - rounds0 // the epoll receiver's rounds
	if urounds != nil {
		rxRounds = urounds() - urounds0
		rx := threads1[rxTID]
		b.ReportMetric(float64(rx[0]+rx[1]-threads0[rxTID][0]-threads0[rxTID][1])/elapsed.Seconds(), "rx-thread-ctxsw/s")
	}
	b.ReportMetric(float64(rxRounds)/elapsed.Seconds(), "rounds/s")
	if recvs1 > recvs0 {
		b.ReportMetric(float64(dgrams1-dgrams0)/float64(recvs1-recvs0), "dgrams/recvmmsg")
	}
}

// vmRSS is the process's resident set in bytes (/proc/self/status).
func vmRSS(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}

func processCPU() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// switches is how many times the process (RUSAGE_SELF) or the calling thread (RUSAGE_THREAD)
// gave up its CPU, voluntarily or not: the kernel's context switches of its threads.
func switches(who int) int64 {
	var ru unix.Rusage
	unix.Getrusage(who, &ru)
	return ru.Nvcsw + ru.Nivcsw
}

// threadSwitches is every thread's voluntary and involuntary switches so far, by thread id
// (/proc/self/task/*/status).
func threadSwitches() map[int][2]int64 {
	out := make(map[int][2]int64)
	dirs, _ := os.ReadDir("/proc/self/task")
	for _, d := range dirs {
		tid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/self/task/" + d.Name() + "/status")
		if err != nil {
			continue
		}
		var v [2]int64
		for _, line := range strings.Split(string(data), "\n") {
			if n, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
				v[0], _ = strconv.ParseInt(strings.TrimSpace(n), 10, 64)
			} else if n, ok := strings.CutPrefix(line, "nonvoluntary_ctxt_switches:"); ok {
				v[1], _ = strconv.ParseInt(strings.TrimSpace(n), 10, 64)
			}
		}
		out[tid] = v
	}
	return out
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

// BenchmarkPlayingCalls is what the send side costs per call-second while every call plays a
// prompt (the greeting and the prompts of a card call): 500 started sessions on the shared
// scheduler, 20 ms PCMU frames to a far end on loopback that drains its socket every 5 ms
// (recvmmsg, no wake-up per packet, as the capacity tool's callers do). One iteration is one
// 10 ms tick of wall time. cpu-µs/call-s is the process's CPU (getrusage: the ticks, the
// io_uring or sendto sends with their loopback delivery, the far end's draining) per
// call-second; visits/call-s how many times the scheduler looked at a session (100 would be
// every tick). PAYBRIDGE_BENCH_CALLS sets the number of calls (500 unless set).
func BenchmarkPlayingCalls(b *testing.B) {
	calls := benchCalls()
	far, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer far.Close()
	far.SetReadBuffer(4 << 20)
	var received atomic.Int64
	stop := make(chan struct{})
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		pc := ipv4.NewPacketConn(far)
		ms := make([]ipv4.Message, 64)
		for i := range ms {
			ms[i].Buffers = [][]byte{make([]byte, 1500)}
		}
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			for {
				far.SetReadDeadline(time.Now().Add(200 * time.Microsecond))
				n, err := pc.ReadBatch(ms, 0)
				received.Add(int64(max(n, 0)))
				if err != nil {
					break
				}
			}
		}
	}()
	defer func() { close(stop); <-drained }()
	farAddr := far.LocalAddr().(*net.UDPAddr).AddrPort()
	sched := NewScheduler()
	defer sched.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prompt := benchPrompt(60 * time.Second)
	sessions := make([]*Session, calls)
	for i := range sessions {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		s := NewSession(conn, SessionConfig{Scheduler: sched})
		if err := s.SetParams(Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv, Remote: farAddr}); err != nil {
			b.Fatal(err)
		}
		go s.Play(ctx, prompt)
		waitPlaying(b, s)
		s.Start()
		sessions[i] = s
	}
	defer func() {
		for _, s := range sessions {
			s.Close()
		}
	}()
	time.Sleep(500 * time.Millisecond) // warm-up: every session framing
	cpu0, visits0, got0 := processCPU(), sched.Visits(), received.Load()
	start := time.Now()
	next := start
	for b.Loop() {
		next = next.Add(schedInterval)
		time.Sleep(time.Until(next))
	}
	elapsed := time.Since(start)
	cpu, visits, got := processCPU()-cpu0, sched.Visits()-visits0, received.Load()-got0
	callSeconds := float64(calls) * elapsed.Seconds()
	if want := int64(callSeconds * 50); got < want*8/10 {
		b.Fatalf("the far end received %d packets in %.1f call-seconds, want about %d", got, callSeconds, want)
	}
	b.ReportMetric(float64(cpu.Microseconds())/callSeconds, "cpu-µs/call-s")
	b.ReportMetric(float64(visits)/callSeconds, "visits/call-s")
	b.ReportMetric(float64(got)/callSeconds, "pkts/call-s")
}

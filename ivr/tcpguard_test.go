package ivr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/siptest"
)

func TestSIPFramer(t *testing.T) {
	invite := "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP x\r\nContent-Length: 5\r\n\r\nhello"
	options := "OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\n\r\n"
	stream := "\r\n\r\n" + invite + options + "\r\n" + invite
	// Every way of cutting the stream into reads finds the same three messages.
	for try := 0; try < 200; try++ {
		var f sipFramer
		started, done := 0, 0
		b := []byte(stream)
		for len(b) > 0 {
			n := 1 + rand.IntN(len(b))
			chunk := b[:n]
			b = b[n:]
			for len(chunk) > 0 {
				s, d, rest := f.feed(chunk)
				if s {
					started++
				}
				if d {
					done++
				}
				chunk = rest
			}
		}
		if started != 3 || done != 3 || f.broken || f.inHeader || f.body != 0 {
			t.Fatalf("try %d: started %d done %d, framer %+v", try, started, done, f)
		}
	}
	// A header section that never ends is broken past maxSIPHeader.
	var f sipFramer
	line := []byte("X-Pad: " + string(bytes.Repeat([]byte("a"), 1000)) + "\r\n")
	f.feed([]byte("INVITE sip:a@b SIP/2.0\r\n"))
	for i := 0; i < 70 && !f.broken; i++ {
		f.feed(line)
	}
	if !f.broken {
		t.Fatal("a 70 KB header section was not refused")
	}
}

func FuzzSIPFramer(f *testing.F) {
	f.Add([]byte("INVITE sip:a@b SIP/2.0\r\nContent-Length: 5\r\n\r\nhello\r\n\r\n"))
	f.Add([]byte("\r\n\r\nOPTIONS sip:a SIP/2.0\r\nl: 99999999999999999999\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fr sipFramer
		for len(b) > 0 && !fr.broken {
			_, _, rest := fr.feed(b)
			if len(rest) >= len(b) && len(b) > 0 {
				t.Fatalf("feed consumed nothing of %q", b)
			}
			b = rest
		}
	})
}

// dialFrom opens a TCP connection to the server from a given loopback address.
func dialFrom(t *testing.T, ip net.IP, to string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", to)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// closedByPeer reports whether the server has closed c (EOF or reset), waiting up to wait.
func closedByPeer(c net.Conn, wait time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 4096)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue // a response (never expected here): keep reading
		}
		return !errors.Is(err, os.ErrDeadlineExceeded)
	}
}

// TestTCPHalfOpenConnectionsAreBounded opens hundreds of half-open SIP connections (nothing
// sent, or a request cut in the middle of its headers, or one byte at a time) from four
// sources, one of them the real caller's address. A real call over TCP must go through while
// they are open, and every one of them must be closed by the limits. They all stayed open
// (300 for over 70 s in the report).
func TestTCPHalfOpenConnectionsAreBounded(t *testing.T) {
	const first = 3 * time.Second
	got := make(chan collected, 1)
	s, logs := startServer(t, Config{Router: digitCollector(4, got),
		TCP: TCPLimits{FirstMessage: first, IncompleteMessage: first}})
	defer func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	}()
	addr := s.Addr().String()
	partial := fmt.Sprintf("INVITE sip:+441632960000@%s SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.9:5060;branch=z9hG4bK-half\r\nFrom: <sip:x@y>;tag=1\r\n", addr)
	sources := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv4(127, 0, 0, 2), net.IPv4(127, 0, 0, 3)}
	var conns []net.Conn
	for i := 0; i < 300; i++ {
		c := dialFrom(t, sources[i%len(sources)], addr)
		if i%2 == 1 {
			c.Write([]byte(partial))
		}
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	// Slowloris: one byte every 200 ms of a header that never ends.
	stopDrip := make(chan struct{})
	var drip sync.WaitGroup
	var drippers []net.Conn
	for i := 0; i < 10; i++ {
		c := dialFrom(t, net.IPv4(127, 0, 0, 4), addr)
		drippers = append(drippers, c)
		drip.Add(1)
		go func() {
			defer drip.Done()
			for j := 0; ; j++ {
				select {
				case <-stopDrip:
					return
				case <-time.After(200 * time.Millisecond):
				}
				if _, err := c.Write([]byte{partial[j%len(partial)]}); err != nil {
					return
				}
			}
		}()
	}
	defer func() {
		close(stopDrip)
		drip.Wait()
		for _, c := range drippers {
			c.Close()
		}
	}()
	time.Sleep(200 * time.Millisecond)
	st := s.TCPStats()
	t.Logf("right after 310 half-open connections: %+v", st)
	if lim := 4 * DefaultTCPLimits.MaxPendingPerIP; st.Open > lim {
		t.Errorf("%d connections open, want at most %d (%d pending per source)", st.Open, lim, DefaultTCPLimits.MaxPendingPerIP)
	}

	// The real caller, from the same address as a third of the flood, gets through.
	res, err := siptest.Dial(context.Background(), siptest.CallerConfig{
		Target: "sip:100@" + addr, Transport: "tcp", Digits: "1234", Timeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := <-got; c.digits != "1234" || !res.Answered {
		t.Fatalf("the real call during the flood: %+v, digits ok=%v", res, c.digits == "1234")
	}

	// Every half-open connection is closed within the first-message limit (plus slack for a
	// busy machine).
	deadline := time.Now().Add(first + 5*time.Second)
	open := 0
	for _, c := range append(conns, drippers...) {
		if !closedByPeer(c, time.Until(deadline)) {
			open++
		}
	}
	st = s.TCPStats()
	t.Logf("after the first-message limit: %d of %d still open by the client's view; server %+v", open, len(conns)+len(drippers), st)
	if open != 0 {
		t.Fatalf("%d half-open connections are still open %v after they were made", open, first+5*time.Second)
	}
	if st.Pending != 0 || st.TimedOut+st.Evicted+st.Refused < 300 {
		t.Fatalf("server books after the flood: %+v", st)
	}
}

// TestTCPIdleConnectionClosedButNotUnderACall: a connection that sent a request and went
// quiet is closed after Idle; the connection a call was set up on is kept however quiet.
func TestTCPIdleConnectionClosedButNotUnderACall(t *testing.T) {
	const idle = 2 * time.Second
	calls := make(chan *Call, 1)
	router := RouterFunc(func(string) (CallHandler, bool) {
		return func(ctx context.Context, call *Call) {
			calls <- call
			select { // quiet for twice the idle limit, then hang up
			case <-time.After(2*idle + time.Second):
			case <-call.Done():
			}
			call.Hangup(ctx, "test-done")
		}, true
	})
	s, _ := startServer(t, Config{Router: router, TCP: TCPLimits{Idle: idle}})
	addr := s.Addr().String()

	// One OPTIONS, answered, then silence.
	c := dialFrom(t, net.IPv4(127, 0, 0, 1), addr)
	defer c.Close()
	local := c.LocalAddr().String()
	fmt.Fprintf(c, "OPTIONS sip:ping@%s SIP/2.0\r\nVia: SIP/2.0/TCP %s;branch=z9hG4bK-idle\r\nMax-Forwards: 70\r\n"+
		"From: <sip:p@%s>;tag=i1\r\nTo: <sip:ping@%s>\r\nCall-ID: idle@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", addr, local, local, addr)
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(buf); err != nil || !bytes.HasPrefix(buf[:n], []byte("SIP/2.0 200")) {
		t.Fatalf("OPTIONS over TCP: %q %v", buf[:n], err)
	}

	if !closedByPeer(c, idle+5*time.Second) {
		t.Fatal("an idle connection stayed open past the idle limit")
	}
	before := s.TCPStats()
	if before.Idle != 1 {
		t.Fatalf("after the idle connection closed: %+v", before)
	}

	res := make(chan *siptest.CallerResult, 1)
	go func() {
		r, _ := siptest.Dial(context.Background(), siptest.CallerConfig{Target: "sip:100@" + addr, Transport: "tcp", Timeout: 30 * time.Second})
		res <- r
	}()
	call := <-calls
	<-call.Done()
	st := s.TCPStats()
	if r := <-res; !r.Answered || r.HangupBy != "remote" {
		t.Fatalf("call: %+v", r)
	}
	t.Logf("at the end of a %v call with a %v idle limit: %+v", 2*idle+time.Second, idle, st)
	if st.Idle != before.Idle {
		t.Fatalf("the call's connection was closed for idleness while the call was up: %+v", st)
	}
}

package cardsafe

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// allZero reports whether every byte of b is zero.
func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// Behind Listener, a card handler's ReadBody zeroes net/http's read buffer of the
// connection — which holds the raw request, body included — and closes the connection after
// the answer; other handlers keep their connection alive.
func TestListenerZeroesTheReadBuffer(t *testing.T) {
	const body = `{"cardNumber":"4242424242424242","securityCode":"123"}`
	type snapshot struct {
		bufs   [][]byte
		zeroed bool
	}
	got := make(chan snapshot, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /card", func(w http.ResponseWriter, r *http.Request) {
		rc := r.Context().Value(connKey{}).(*ReadRecorder)
		rc.mu.Lock()
		bufs := append([][]byte(nil), rc.bufs...) // the arrays the connection read into
		rc.mu.Unlock()
		b, err := ReadBody(w, r, 1024)
		if err != nil || string(b) != body {
			t.Errorf("ReadBody = %q, %v", b, err)
		}
		Wipe(b)
		s := snapshot{bufs: bufs, zeroed: true}
		for _, buf := range bufs {
			s.zeroed = s.zeroed && allZero(buf)
		}
		got <- s
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("POST /plain", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ConnContext: ConnContext}
	go srv.Serve(Listener(ln))
	t.Cleanup(func() { srv.Close() })

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Two requests in one write: the second (pipelined) must never be served from the zeroed
	// buffer.
	req := "POST /card HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body +
		"POST /plain HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	answer, _ := io.ReadAll(c) // the server closes after the card answer
	s := <-got
	if len(s.bufs) == 0 || cap(s.bufs[0]) < 4096 {
		t.Fatalf("the listener did not record net/http's read buffer: %d buffers", len(s.bufs))
	}
	if !s.zeroed {
		t.Fatal("net/http's read buffer still holds the request after ReadBody")
	}
	if !strings.Contains(string(answer), "Connection: close") || strings.Count(string(answer), "HTTP/1.1 200") != 1 {
		t.Fatalf("answer to the card request: %q", answer)
	}

	// A request without card data keeps the connection.
	resp, err := http.Post("http://"+ln.Addr().String()+"/plain", "text/plain", strings.NewReader("x"))
	if err != nil || resp.Close {
		t.Fatalf("plain request: %+v %v", resp, err)
	}
	resp.Body.Close()
}

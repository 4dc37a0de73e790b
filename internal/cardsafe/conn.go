package cardsafe

import (
	"context"
	"net"
	"sync"
)

// ReadRecorder is a net.Conn that remembers the buffers its reads filled, so that the buffers
// of a connection that carried card data — which belong to bufio, to net/http or to the
// caller — can be zeroed once the card has been read (Wipe). It remembers the buffer from the
// start of the read to the end of its backing array (p[:cap(p)]): a bufio.Reader reads into
// the tail of its one array and slides unread bytes to the front, so the first read (at
// offset 0) covers all of it. The most recent maxRecordedBufs distinct arrays are kept. Wrap a
// connection with &ReadRecorder{Conn: c}.
type ReadRecorder struct {
	net.Conn
	mu      sync.Mutex
	bufs    [][]byte      // most recent last
	reading map[*byte]int // arrays a read is filling now (net/http's background read): never zeroed under it
}

// maxRecordedBufs bounds what a long-lived connection remembers: a server connection reads
// into net/http's bufio array, a one-byte array of its background read and, for large bodies,
// the handler's own buffers.
const maxRecordedBufs = 8

// Read implements net.Conn.
func (r *ReadRecorder) Read(p []byte) (int, error) {
	if cap(p) == 0 {
		return r.Conn.Read(p)
	}
	end := arrayEnd(p)
	r.mu.Lock()
	if r.reading == nil {
		r.reading = map[*byte]int{}
	}
	r.reading[end]++
	r.mu.Unlock()
	n, err := r.Conn.Read(p)
	r.mu.Lock()
	if r.reading[end]--; r.reading[end] == 0 {
		delete(r.reading, end)
	}
	if n > 0 {
		r.noteLocked(p, end)
	}
	r.mu.Unlock()
	return n, err
}

// arrayEnd is the address of the last element of p's backing array: the same for every slice
// of one array that reaches its end.
func arrayEnd(p []byte) *byte { return &p[:cap(p)][cap(p)-1] }

// noteLocked remembers p's array, from p to the array's end (caller holds mu).
func (r *ReadRecorder) noteLocked(p []byte, end *byte) {
	full := p[:cap(p)]
	for i, b := range r.bufs {
		if arrayEnd(b) == end {
			if len(full) > len(b) {
				b = full
			}
			r.bufs = append(append(r.bufs[:i], r.bufs[i+1:]...), b)
			return
		}
	}
	if len(r.bufs) == maxRecordedBufs {
		r.bufs = append(r.bufs[:0], r.bufs[1:]...)
	}
	r.bufs = append(r.bufs, full)
}

// Wipe zeroes every remembered buffer that no read is filling now, and forgets them. (A buffer
// being read into is net/http's one-byte background read, which holds at most one byte of
// whatever the client sends after the request.)
func (r *ReadRecorder) Wipe() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.bufs {
		if r.reading[arrayEnd(b)] == 0 {
			Wipe(b)
		}
	}
	clear(r.bufs)
	r.bufs = r.bufs[:0]
}

// CloseWrite half-closes the connection when the underlying one can (net/http's server uses it
// to let the client read a final response before the reset).
func (r *ReadRecorder) CloseWrite() error {
	if cw, ok := r.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Listener wraps an HTTP server's listener so that handlers receiving card data (the
// sandbox's payment APIs, the payment page) can zero net/http's read buffer of their
// connection: net/http reads each request, body included, into a bufio.Reader it returns to a
// pool unzeroed. Use it with [ConnContext] as the server's ConnContext. It serves plain
// connections; behind TLS terminated by the same Go server, crypto/tls keeps its own decrypted
// copy (docs/gateway.md).
func Listener(ln net.Listener) net.Listener { return listener{ln} }

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &ReadRecorder{Conn: c}, nil
}

type connKey struct{}

// ConnContext is the http.Server ConnContext that goes with [Listener].
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if rc, ok := c.(*ReadRecorder); ok {
		return context.WithValue(ctx, connKey{}, rc)
	}
	return ctx
}

package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
)

// readRecorder is a net.Conn that remembers the buffers its reads filled, so that the buffers
// of a connection that carried card data — which belong to bufio, to net/http or to the
// caller — can be zeroed once the card has been read. It remembers the buffer from the start of
// the read to the end of its backing array (p[:cap(p)]): a bufio.Reader reads into the tail of
// its one array and slides unread bytes to the front, so the first read (at offset 0) covers
// all of it. The most recent maxRecordedBufs distinct arrays are kept.
type readRecorder struct {
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
func (r *readRecorder) Read(p []byte) (int, error) {
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
func (r *readRecorder) noteLocked(p []byte, end *byte) {
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

// wipe zeroes every remembered buffer that no read is filling now, and forgets them. (A buffer
// being read into is net/http's one-byte background read, which holds at most one byte of
// whatever the client sends after the request.)
func (r *readRecorder) wipe() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.bufs {
		if r.reading[arrayEnd(b)] == 0 {
			wipe(b)
		}
	}
	clear(r.bufs)
	r.bufs = r.bufs[:0]
}

// CloseWrite half-closes the connection when the underlying one can (net/http's server uses it
// to let the client read a final response before the reset).
func (r *readRecorder) CloseWrite() error {
	if cw, ok := r.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// CardSafeListener wraps an HTTP server's listener so that handlers receiving card data (the
// sandbox's payment APIs, the payment page) can zero net/http's read buffer of their
// connection: net/http reads each request, body included, into a bufio.Reader it returns to a
// pool unzeroed. Use it with [CardSafeConnContext] as the server's ConnContext. It serves plain
// connections; behind TLS terminated by the same Go server, crypto/tls keeps its own decrypted
// copy (docs/gateway.md).
func CardSafeListener(ln net.Listener) net.Listener { return cardSafeListener{ln} }

type cardSafeListener struct{ net.Listener }

func (l cardSafeListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &readRecorder{Conn: c}, nil
}

type cardConnKey struct{}

// CardSafeConnContext is the http.Server ConnContext that goes with [CardSafeListener].
func CardSafeConnContext(ctx context.Context, c net.Conn) context.Context {
	if rc, ok := c.(*readRecorder); ok {
		return context.WithValue(ctx, cardConnKey{}, rc)
	}
	return ctx
}

// errBodyTooLarge: a card request body over its limit.
var errBodyTooLarge = errors.New("gateway: request body too large")

// readCardBody reads the body of a request that carries card data into a buffer of its own
// (see readOwned), then zeroes the connection's read buffers — net/http's bufio.Reader holds
// the raw request too — and answers Connection: close, so that no byte the client may have
// sent after the body (now zeroed) is ever parsed. The caller wipes the body. Without
// CardSafeListener the connection's buffers are left as they are.
func readCardBody(w http.ResponseWriter, r *http.Request, limit int) ([]byte, error) {
	body, err := readOwned(r.Body, r.ContentLength, limit)
	cardRequestRead(w, r)
	return body, err
}

// cardRequestRead is readCardBody's second half for a handler that has read a card body its own
// way (the payment page): it zeroes the connection's read buffers and answers Connection: close.
func cardRequestRead(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Connection", "close")
	scrubConnReads(r)
}

// scrubConnReads zeroes what the request's connection has read so far (with CardSafeListener).
// Call it only from the handler, once the body has been read to its end: the connection's
// buffer is then the handler's alone.
func scrubConnReads(r *http.Request) {
	if rc, ok := r.Context().Value(cardConnKey{}).(*readRecorder); ok {
		rc.wipe()
	}
}

// readOwned reads r to its end into one buffer of at most limit bytes, sized from the declared
// length when there is one (+1 to see the end without growing) and otherwise grown by hand,
// zeroing each outgrown buffer — io.ReadAll would leave every outgrown copy to the collector.
func readOwned(r io.Reader, declared int64, limit int) ([]byte, error) {
	size := 512
	if declared >= 0 && declared < int64(limit) {
		size = int(declared) + 1
	}
	buf := make([]byte, 0, min(size, limit+1))
	for {
		if len(buf) == cap(buf) {
			if len(buf) > limit {
				wipe(buf)
				return nil, errBodyTooLarge
			}
			nb := make([]byte, len(buf), min(2*cap(buf), limit+1))
			copy(nb, buf)
			wipe(buf)
			buf = nb
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case len(buf) > limit:
			wipe(buf)
			return nil, errBodyTooLarge
		case errors.Is(err, io.EOF):
			return buf, nil
		case err != nil:
			wipe(buf[:cap(buf)])
			return nil, err
		}
	}
}

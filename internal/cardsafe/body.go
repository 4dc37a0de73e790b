package cardsafe

import (
	"errors"
	"io"
	"net/http"
)

// ReadBody reads the body of a request that carries card data into a buffer of its own (see
// readOwned), then zeroes the connection's read buffers — net/http's bufio.Reader holds the
// raw request too — and answers Connection: close, so that no byte the client may have sent
// after the body (now zeroed) is ever parsed. The caller wipes the body. Without [Listener]
// the connection's buffers are left as they are.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int) ([]byte, error) {
	body, err := readOwned(r.Body, r.ContentLength, limit)
	BodyRead(w, r)
	return body, err
}

// BodyRead is ReadBody's second half for a handler that has read a card body its own way (the
// payment page): it zeroes the connection's read buffers and answers Connection: close. Call it
// only from the handler, once the body has been read to its end: the connection's buffer is
// then the handler's alone.
func BodyRead(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Connection", "close")
	if rc, ok := r.Context().Value(connKey{}).(*ReadRecorder); ok {
		rc.Wipe()
	}
	ClearRegisters() // net/http parsed the request and copied the body through them
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
				Wipe(buf)
				return nil, ErrBodyTooLarge
			}
			nb := make([]byte, len(buf), min(2*cap(buf), limit+1))
			copy(nb, buf)
			Wipe(buf)
			buf = nb
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case len(buf) > limit:
			Wipe(buf)
			return nil, ErrBodyTooLarge
		case errors.Is(err, io.EOF):
			return buf, nil
		case err != nil:
			Wipe(buf[:cap(buf)])
			return nil, err
		}
	}
}

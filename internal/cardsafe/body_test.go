package cardsafe

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// readOwned reads a body whole, with or without a declared length, within its limit, and
// zeroes every buffer it outgrows.
func TestReadOwned(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789"), 300)
	for _, tc := range []struct {
		name     string
		r        io.Reader
		declared int64
		limit    int
		want     []byte
		err      error
	}{
		{"declared", bytes.NewReader(big[:100]), 100, 1000, big[:100], nil},
		{"undeclared grows", bytes.NewReader(big), -1, 4000, big, nil},
		{"one byte at a time", iotest.OneByteReader(bytes.NewReader(big[:700])), -1, 1000, big[:700], nil},
		{"declared too short", bytes.NewReader(big[:700]), 10, 1000, big[:700], nil},
		{"empty", bytes.NewReader(nil), 0, 1000, []byte{}, nil},
		{"over the limit", bytes.NewReader(big), -1, 1000, nil, ErrBodyTooLarge},
		{"exactly the limit", bytes.NewReader(big[:1000]), -1, 1000, big[:1000], nil},
		{"read error", iotest.ErrReader(errors.New("boom")), -1, 1000, nil, errors.New("boom")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readOwned(tc.r, tc.declared, tc.limit)
			if (err == nil) != (tc.err == nil) || (err != nil && err.Error() != tc.err.Error()) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if !bytes.Equal(got, tc.want) || (tc.err == nil && got == nil) {
				t.Fatalf("got %d bytes, want %d", len(got), len(tc.want))
			}
		})
	}
	// An outgrown buffer is zeroed: read through a reader that keeps what it was given.
	kr := &keepingReader{r: bytes.NewReader(big)}
	if _, err := readOwned(kr, -1, 4000); err != nil {
		t.Fatal(err)
	}
	end := func(p []byte) *byte { return &p[:cap(p)][cap(p)-1] } // one per array
	last, outgrown := end(kr.bufs[len(kr.bufs)-1]), 0
	for i, p := range kr.bufs {
		if cap(p) == 0 || end(p) == last {
			continue
		}
		outgrown++
		if !allZero(p[:cap(p)]) {
			t.Fatalf("outgrown buffer %d (cap %d) was not zeroed", i, cap(p))
		}
	}
	if outgrown == 0 {
		t.Fatal("the buffer never grew: the test proves nothing")
	}
}

type keepingReader struct {
	r    io.Reader
	bufs [][]byte
}

func (k *keepingReader) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	k.bufs = append(k.bufs, p[:0])
	return n, err
}

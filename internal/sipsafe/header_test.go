package sipsafe

import (
	"errors"
	"testing"
)

func TestCheckHeaderValue(t *testing.T) {
	for _, v := range []string{"a\r\nX-Evil: 1", "a\nb", "a\rb", "a\x00b"} {
		if err := CheckHeaderValue(v); !errors.Is(err, ErrBadHeaderValue) {
			t.Errorf("%q: %v, want ErrBadHeaderValue", v, err)
		}
	}
	for _, v := range []string{"", "paybridge", "+447700900123", "sip:1000@example.com;transport=tcp"} {
		if err := CheckHeaderValue(v); err != nil {
			t.Errorf("%q refused: %v", v, err)
		}
	}
}

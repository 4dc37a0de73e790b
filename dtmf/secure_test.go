package dtmf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func fill(t *testing.T, s string) *SecureBuffer {
	t.Helper()
	var b SecureBuffer
	for i := 0; i < len(s); i++ {
		if err := b.Append(Digit(s[i])); err != nil {
			t.Fatalf("Append(%d): %v", i, err)
		}
	}
	return &b
}

func TestSecureBufferNeverPrintsDigits(t *testing.T) {
	const pan = "4242424242424242"
	b := fill(t, pan)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("card", "pan", b, "ptr", &b)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("card", "pan", b)
	j, _ := json.Marshal(struct{ PAN *SecureBuffer }{b})
	outs := []string{
		fmt.Sprint(b), fmt.Sprintf("%v %+v %#v %s %q %x %X %d", b, b, b, b, b, b, b, b),
		fmt.Sprintf("%v", *b), fmt.Sprintf("%+v", struct{ B *SecureBuffer }{b}),
		fmt.Errorf("wrap: %w", errors.New(b.String())).Error(), string(j), logs.String(),
	}
	for _, o := range outs {
		if strings.Contains(o, "42424242") || strings.Contains(o, "34323432") {
			t.Errorf("output leaks digits: %q", o)
		}
	}
	if got, want := b.Mask(), "************4242"; got != want {
		t.Fatalf("Mask = %q, want %q", got, want)
	}
}

func TestSecureBufferMaskShort(t *testing.T) {
	if got := fill(t, "123").Mask(); got != "***" {
		t.Fatalf("CVV mask = %q", got)
	}
	if got := fill(t, "1226").Last4(); got != "" {
		t.Fatalf("Last4 of a 4-digit buffer = %q, want empty", got)
	}
	var empty SecureBuffer
	if empty.Mask() != "" || empty.Len() != 0 {
		t.Fatal("zero value is not empty")
	}
}

func TestSecureBufferWipe(t *testing.T) {
	b := fill(t, "5555555555554444")
	raw := b.d
	b.Wipe()
	if b.Len() != 0 {
		t.Fatal("Len after Wipe")
	}
	for i, c := range raw {
		if c != 0 {
			t.Fatalf("byte %d not zeroed: %d", i, c)
		}
	}
}

func TestSecureBufferRefuses(t *testing.T) {
	var b SecureBuffer
	if err := b.Append('#'); !errors.Is(err, ErrNotNumeric) {
		t.Fatalf("Append('#') = %v", err)
	}
	for i := 0; i < MaxSecureDigits; i++ {
		if err := b.Append('1'); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Append('1'); !errors.Is(err, ErrBufferFull) {
		t.Fatalf("Append past capacity = %v", err)
	}
}

func TestSecureBufferAppendTo(t *testing.T) {
	b := fill(t, "378282246310005")
	body := b.AppendTo([]byte(`{"n":"`))
	if string(body) != `{"n":"378282246310005` {
		t.Fatalf("AppendTo = %q", body)
	}
	Zero(body)
	if bytes.ContainsAny(body, "0123456789") {
		t.Fatal("Zero left digits")
	}
}

func TestDigitMasksAndMaps(t *testing.T) {
	if s := fmt.Sprintf("%v %s", Digit('7'), Digit('7')); strings.Contains(s, "7") {
		t.Fatalf("Digit prints itself: %q", s)
	}
	for code := uint8(0); code < 16; code++ {
		d, ok := DigitFromEvent(code)
		if !ok || d.EventCode() != int(code) {
			t.Fatalf("event %d -> %c -> %d", code, d.Char(), d.EventCode())
		}
	}
	if _, ok := DigitFromEvent(16); ok {
		t.Fatal("event 16 is not a digit")
	}
	if d, ok := ParseDigit('b'); !ok || d.Char() != 'B' {
		t.Fatal("ParseDigit('b')")
	}
	if Digit('x').Valid() {
		t.Fatal("'x' is not a DTMF key")
	}
}

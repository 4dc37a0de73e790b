package pan

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const testPAN = "4242424242424242"

func fill(t testing.TB, s string) *SecureBuffer {
	t.Helper()
	var b SecureBuffer
	for i := 0; i < len(s); i++ {
		if err := b.Append(s[i]); err != nil {
			t.Fatalf("Append(%d): %v", i, err)
		}
	}
	return &b
}

// leakForms are the ways the digits of testPAN could show up in an output: as text, as its
// last eight digits, as hex of the characters, as the decimal bytes fmt prints for a []byte.
func leakForms(pan string) []string {
	var dec []string
	for i := 0; i < 8; i++ {
		dec = append(dec, fmt.Sprint(pan[i]))
	}
	return []string{pan, pan[len(pan)-8:], fmt.Sprintf("%x", pan)[:16], strings.Join(dec, " "), strings.Join(dec, ",")}
}

// leaks returns the first leak form found in out, or "".
func leaks(out, pan string) string {
	for _, f := range leakForms(pan) {
		if strings.Contains(out, f) {
			return f
		}
	}
	return ""
}

type holder struct {
	Name string
	Card *SecureBuffer
}

// printings prints b every way paybridge, a library or the runtime could.
func printings(t *testing.T, b *SecureBuffer) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%20s", "%-8v", "%T %p"} {
		out["fmt "+verb] = fmt.Sprintf(verb, b)
	}
	out["Sprint"] = fmt.Sprint(b)
	out["Sprintln"] = fmt.Sprintln(b, *b)
	out["String"] = b.String()
	out["GoString"] = b.GoString()
	for _, verb := range []string{"%v", "%+v", "%#v", "%x", "%d", "%s"} {
		out["value copy "+verb] = fmt.Sprintf(verb, *b) // a copy has no methods: it prints its fields
	}
	out["in a struct"] = fmt.Sprintf("%v %+v %#v", holder{"x", b}, holder{"x", b}, &holder{"x", b})
	out["in a slice and map"] = fmt.Sprintf("%v %v", []*SecureBuffer{b}, map[string]*SecureBuffer{"k": b})
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("card", "pan", b, "any", slog.AnyValue(b), "group", slog.GroupValue(slog.Any("in", b)))
	slog.New(slog.NewTextHandler(&logs, nil)).Info("card", "pan", b, "value", *b)
	out["slog"] = logs.String()
	out["LogValue"] = b.LogValue().String()
	j, err := json.Marshal(holder{"x", b})
	out["json"] = string(j) + fmt.Sprint(err)
	mj, _ := b.MarshalJSON()
	out["MarshalJSON"] = string(mj)
	mt, _ := b.MarshalText()
	out["MarshalText"] = string(mt)
	x, err := xml.Marshal(holder{"x", b})
	out["xml"] = string(x) + fmt.Sprint(err)
	wrapped := fmt.Errorf("charge %v failed: %w", b, errors.New("declined"))
	out["error wrapping"] = wrapped.Error() + fmt.Sprintf(" %+v %#v", wrapped, wrapped)
	out["errors.Join"] = errors.Join(fmt.Errorf("card %s", b), wrapped).Error()
	out["recovered panic"] = func() (s string) {
		defer func() { s = fmt.Sprint(recover()) }()
		panic(b)
	}()
	return out
}

// TestEveryPrintingPathMasks proves that no way of printing a SecureBuffer shows a digit, and
// that each shows the mask. The control prints the digits through Use and proves the scan
// finds them.
func TestEveryPrintingPathMasks(t *testing.T) {
	b := fill(t, testPAN)
	var control string
	b.Use(func(d []byte) { control = fmt.Sprintf("%s %v", d, d) })
	if leaks(control, testPAN) == "" {
		t.Fatal("control: the scan does not find the digits where they are")
	}
	for what, out := range printings(t, b) {
		if f := leaks(out, testPAN); f != "" {
			t.Errorf("%s leaks %q: %s", what, f, out)
		}
	}
	for _, what := range []string{"fmt %v", "fmt %+v", "fmt %s", "fmt %q", "fmt %x", "fmt %d", "String", "GoString", "slog", "json",
		"MarshalText", "MarshalJSON", "xml", "error wrapping", "errors.Join", "recovered panic"} {
		if out := printings(t, b)[what]; !strings.Contains(out, "************4242") {
			t.Errorf("%s does not show the mask: %s", what, out)
		}
	}
}

// A panic with the buffer, or with an error that names it, kills the process with the mask in
// its crash output: the runtime prints a Stringer's String and an error's Error.
func TestPanicPrintsTheMask(t *testing.T) {
	if v := os.Getenv("PAN_PANIC_CHILD"); v != "" {
		b := fill(t, testPAN)
		if v == "error" {
			panic(fmt.Errorf("charge %v: %w", b, ErrInvalidNumber))
		}
		panic(b)
	}
	for _, mode := range []string{"buffer", "error"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPanicPrintsTheMask$", "-test.count=1")
		cmd.Env = append(os.Environ(), "PAN_PANIC_CHILD="+mode)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("%s: the child did not panic", mode)
		}
		if f := leaks(string(out), testPAN); f != "" {
			t.Errorf("%s: the crash output leaks %q", mode, f)
		}
		if !bytes.Contains(out, []byte("panic: ")) || !bytes.Contains(out, []byte("************4242")) {
			t.Errorf("%s: the crash output has no mask:\n%s", mode, out)
		}
	}
}

func TestMaskShortAndLong(t *testing.T) {
	if got := fill(t, "123").Mask(); got != "***" {
		t.Fatalf("CVV mask = %q", got)
	}
	if got := fill(t, "1226").Last4(); got != "" {
		t.Fatalf("Last4 of a 4-digit buffer = %q, want empty", got)
	}
	if got := fill(t, "378282246310005").Mask(); got != "***********0005" {
		t.Fatalf("amex mask = %q", got)
	}
	long := fill(t, strings.Repeat("4", 20))
	if got := long.Mask(); got != strings.Repeat("*", 20) || long.Last4() != "" {
		t.Fatalf("20 digits are no card: mask %q, last4 %q", got, long.Last4())
	}
	var empty SecureBuffer
	if empty.Mask() != "" || empty.Len() != 0 || empty.String() != "" {
		t.Fatal("zero value is not empty")
	}
	var nilBuf *SecureBuffer
	if nilBuf.Len() != 0 || nilBuf.Mask() != "" || fmt.Sprint(nilBuf) != "" || nilBuf.AppendTo([]byte("x")) == nil {
		t.Fatal("a nil buffer is not an empty one")
	}
	nilBuf.Wipe()
	nilBuf.Use(func(d []byte) {
		if d != nil {
			t.Fatal("nil buffer lends digits")
		}
	})
}

func TestWipeZeroesEveryDigit(t *testing.T) {
	b := fill(t, "5555555555554444")
	raw := b.s.d
	c := *b // a copy shares the digits, and so their wiping
	b.Wipe()
	if b.Len() != 0 || c.Len() != 0 {
		t.Fatal("Len after Wipe")
	}
	for i, x := range raw {
		if x != 0 {
			t.Fatalf("byte %d not zeroed: %d", i, x)
		}
	}
	if err := b.Append('7'); err != nil || b.Mask() != "*" {
		t.Fatalf("a wiped buffer is not reusable: %v %q", err, b.Mask())
	}
}

func TestAppendRefuses(t *testing.T) {
	var b SecureBuffer
	for _, c := range []byte{'#', '*', 'A', ' ', 0, '0' - 1, '9' + 1} {
		if err := b.Append(c); !errors.Is(err, ErrNotDigit) {
			t.Fatalf("Append(%q) = %v", c, err)
		}
	}
	for range MaxDigits {
		if err := b.Append('1'); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Append('1'); !errors.Is(err, ErrFull) {
		t.Fatalf("Append past capacity = %v", err)
	}
	if b.Len() != MaxDigits {
		t.Fatalf("Len = %d", b.Len())
	}
}

func TestAppendToAndZero(t *testing.T) {
	b := fill(t, "378282246310005")
	body := b.AppendTo([]byte(`{"n":"`))
	if string(body) != `{"n":"378282246310005` {
		t.Fatalf("AppendTo = %q", body)
	}
	Zero(body)
	if bytes.ContainsAny(body, "0123456789{") {
		t.Fatal("Zero left bytes")
	}
	var got string
	b.Use(func(d []byte) { got = Mask(d) })
	if got != "***********0005" {
		t.Fatalf("Use lent %q", got)
	}
}

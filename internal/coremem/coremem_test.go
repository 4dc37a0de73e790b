package coremem

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/pan"
)

// testCard is generated per run, so that it is nowhere in the test binary.
func testCard(t *testing.T) Card {
	t.Helper()
	c := RandomCard()
	if len(c.PAN) != 16 || !pan.Luhn([]byte(c.PAN)) {
		t.Fatalf("RandomCard gave a bad number (%d digits)", len(c.PAN))
	}
	return c
}

// TestMain runs the child process of TestScanLiveProcess when asked to.
func TestMain(m *testing.M) {
	if mode := os.Getenv("COREMEM_CHILD"); mode != "" {
		child(mode)
		return
	}
	os.Exit(m.Run())
}

// kept holds the child's copies alive until the core image is taken.
var kept [][]byte

// child reads a card from stdin ("PAN MM YYYY CVV\n") into one buffer read straight from the
// pipe. "hold" makes the copies a leaky program would (ASCII, UTF-16, digit values, a JSON
// body); "zero" zeroes the buffer and keeps nothing. It then says "ready" and waits for stdin to
// close.
func child(mode string) {
	buf := make([]byte, 64)
	n, _ := os.Stdin.Read(buf)
	line := buf[:n]
	if mode == "hold" {
		f := strings.Fields(string(line))
		pan, mm, yyyy, cvv := f[0], f[1], f[2], f[3]
		kept = append(kept,
			[]byte(`{"cardNumber":"`+pan+`","expiryMonth":`+mm+`,"expiryYear":`+yyyy+`,"securityCode":"`+cvv+`"}`),
			utf16([]byte(pan), false), utf16([]byte(pan), true), rawDigits([]byte(pan)), bcd([]byte(pan)))
	}
	clear(buf)
	runtime.GC()
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	runtime.KeepAlive(kept)
}

// scanChild runs a child in mode, takes its core image and scans it for c.
func scanChild(t *testing.T, mode string, c Card) []Hit {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "COREMEM_CHILD="+mode)
	in, _ := cmd.StdinPipe()
	outp, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { in.Close(); _ = cmd.Wait() }()
	fmt.Fprintf(in, "%s %d %d %s\n", c.PAN, c.ExpMonth, c.ExpYear, c.CVV)
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(outp)
		ready <- sc.Scan() && sc.Text() == "ready"
		_, _ = io.Copy(io.Discard, outp)
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("child did not get ready")
		}
	case <-time.After(60 * time.Second):
		t.Fatal("child did not get ready within 60 s")
	}
	core, err := Dump(cmd.Process.Pid, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(core)
	hits, err := Scan(core, c)
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// TestScanLiveProcess is the scanner's own control: in the core image of a process that keeps
// copies of a card, every kind and encoding is found; in that of a process that zeroed the
// only buffer it read the card into, nothing is.
func TestScanLiveProcess(t *testing.T) {
	c := testCard(t)
	hits := scanChild(t, "hold", c)
	for _, want := range []struct{ kind, enc string }{
		{"pan", "ascii"}, {"pan", "utf16le"}, {"pan", "utf16be"}, {"pan", "digits"}, {"pan", "bcd"},
		{"pan8", "ascii"}, {"pan8", "utf16le"}, {"expiry+cvv", "ascii"},
	} {
		found := false
		for _, h := range hits {
			found = found || (h.Kind == want.kind && h.Encoding == want.enc)
		}
		if !found {
			t.Errorf("hold: no %s hit in %s", want.kind, want.enc)
		}
	}
	t.Logf("hold: %d hits (pan %d, pan8 %d, expiry+cvv %d)", len(hits), Count(hits, 0, "pan"), Count(hits, 0, "pan8"), Count(hits, 0, "expiry+cvv"))

	hits = scanChild(t, "zero", c)
	for _, h := range hits {
		t.Errorf("zero: %s", h)
	}
}

func TestPairMatcher(t *testing.T) {
	c := Card{PAN: "4000056655665556", CVV: "737", ExpMonth: 3, ExpYear: 2031}
	m := newPairMatcher(c)
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{`"expiryMonth":3,"expiryYear":2031,"securityCode":"737"`, true},
		{`"cvv":"737","expiry_month":"03","expiry_year":"2031"`, true},
		{`card[exp_month]=3&card[exp_year]=2031&card[cvc]=737`, true},
		{`0331#737#`, true},
		{`03/31 737`, true},
		{`2031 7370`, false},                              // 7370 is not the code
		{`12031 737`, false},                              // 12031 is not the year
		{`2031 99 737`, false},                            // another number between them
		{`737` + strings.Repeat(" ", 41) + `2031`, false}, // too far apart
	} {
		got := len(m.find([]byte(tc.in), len(tc.in))) > 0
		if got != tc.want {
			t.Errorf("%q: found=%v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestMaskedShowsNoDigit(t *testing.T) {
	s := masked([]byte(`x"cardNumber":"4000056655665556"y`), 15, 16)
	if strings.ContainsAny(s, "0123456789") {
		t.Fatalf("context shows digits: %q", s)
	}
}

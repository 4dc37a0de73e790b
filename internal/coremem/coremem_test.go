package coremem

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
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

// TestRandomCardComposesNoHit lays out, for many random cards, what a process may rightly hold
// about a card — its last four, its expiry, a masked number — packed side by side as Go's
// allocator packs small strings, between HTTP and SIP status lines, and scans it: no hit. The
// control scans the same bytes with the card's number among them and must find it. Both hits
// the release run of gateway's TestCardsNotSavedByPreemption once reported came from layouts
// like these (the expiry year then the last four; "200 OK" then a four-digit number) on cards
// drawn without RandomCard's rules.
func TestRandomCardComposesNoHit(t *testing.T) {
	for range 100_000 {
		c := RandomCard()
		if cvv, _ := strconv.Atoi(c.CVV); cvv < 700 || cvv > 999 {
			t.Fatalf("code %d digits outside 700–999", len(c.CVV))
		}
		yyyy := strconv.Itoa(c.ExpYear)
		mm, yy, last4 := fmt.Sprintf("%02d", c.ExpMonth), yyyy[2:], c.PAN[12:]
		allowed := "\x00" + yyyy + last4 + "\x00" + mm + yy + last4 + "\x00" + strings.Repeat("*", 12) + last4 +
			"\x00HTTP/1.1 200 OK\x00application/json" + yyyy + "\x00SIP/2.0 487 Request Terminated\x00" + mm + yy +
			"\x00HTTP/1.1 404 Not Found\x00" + mm + "/" + yy + "\x00"
		if hits := scanBytes(t, c, allowed); len(hits) > 0 {
			t.Fatalf("a card's allowed values make a hit: %s", hits[0])
		}
		if hits := scanBytes(t, c, allowed+c.PAN+"\x00"); Count(hits, 0, "pan") != 1 {
			t.Fatalf("control: the number among the same bytes was not found (%d hits)", len(hits))
		}
	}
}

// scanBytes scans data for c as a segment of memory.
func scanBytes(t *testing.T, c Card, data string) []Hit {
	t.Helper()
	sc, err := newScanner([]Card{c}, procChunk)
	if err != nil {
		t.Fatal(err)
	}
	sc.where = inMemory
	if err := sc.segment(strings.NewReader(data), 0, 0); err != nil {
		t.Fatal(err)
	}
	return sc.hits
}

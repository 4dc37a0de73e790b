package cardsafe_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"unsafe"

	"github.com/paybridge/paybridge/internal/cardsafe"
	"github.com/paybridge/paybridge/internal/coremem"
)

// regsChildEnv runs the test binary as regsChild: "wipe" ends card handling with
// cardsafe.Wipe, "clear" with a plain clear() (what Wipe was before it cleared registers).
const regsChildEnv = "CARDSAFE_REGS_CHILD"

// regsChild copies a card request of 129–256 bytes, as the card wire and the sandbox do (the
// runtime's memmove moves such a copy through X0–X15 whole), zeroes both buffers, says so on
// stdout and sleeps in the kernel on the same thread: the registers it left are what a core
// image taken now holds for that thread.
func regsChild(mode string, c coremem.Card) {
	runtime.LockOSThread()
	req := []byte(fmt.Sprintf(`{"method":"charge","cardNumber":"%s","expiryMonth":%d,"expiryYear":%d,`+
		`"securityCode":"%s","amount":"0.05","currency":"GBP","tokenType":"one-time","postalCode":"SW1A 1AA"}`,
		c.PAN, c.ExpMonth, c.ExpYear, c.CVV))
	msg := make([]byte, len(req))
	copy(msg, req)
	if mode == "wipe" {
		cardsafe.Wipe(msg)
		cardsafe.Wipe(req)
	} else {
		clear(msg)
		clear(req)
	}
	syscall.RawSyscall(syscall.SYS_WRITE, 1, uintptr(unsafe.Pointer(&readyByte[0])), 1)
	for {
		syscall.RawSyscall(syscall.SYS_PAUSE, 0, 0, 0)
	}
}

var readyByte = []byte{'r'}

// regsCoreHits runs regsChild in mode and returns the hits of a core image of it that lie in
// its threads' registers (the notes of the image).
func regsCoreHits(t *testing.T, mode string) (regs, mem int) {
	t.Helper()
	c := coremem.RandomCard()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWipeClearsRegisters$")
	cmd.Env = append(os.Environ(), regsChildEnv+"="+mode, "GODEBUG=asyncpreemptoff=1",
		fmt.Sprintf("CARDSAFE_REGS_CARD=%s %s %d %d", c.PAN, c.CVV, c.ExpMonth, c.ExpYear))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if b, err := bufio.NewReader(out).ReadByte(); err != nil || b != 'r' {
		t.Fatalf("child (%s) did not get ready: %q %v", mode, b, err)
	}
	core, err := coremem.Dump(cmd.Process.Pid, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	hits, err := coremem.Scan(core, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hits {
		if h.InRegisters() {
			t.Logf("%s: %s", mode, h)
		}
	}
	return coremem.CountWhere(hits, true), coremem.CountWhere(hits, false)
}

// TestWipeClearsRegisters: a thread that copied a card request and zeroed it with
// cardsafe.Wipe keeps none of it in its registers, where a core image (NT_FPREGSET,
// NT_X86_XSTATE notes) would show it; the control zeroes the buffers only and must find the
// card in the registers of the sleeping thread.
func TestWipeClearsRegisters(t *testing.T) {
	if mode := os.Getenv(regsChildEnv); mode != "" {
		var c coremem.Card
		fmt.Sscan(os.Getenv("CARDSAFE_REGS_CARD"), &c.PAN, &c.CVV, &c.ExpMonth, &c.ExpYear)
		regsChild(mode, c)
		return
	}
	if _, err := exec.LookPath("gcore"); err != nil {
		t.Fatal("gcore is not installed (Debian package gdb): run make deps")
	}
	if runtime.GOARCH != "amd64" {
		t.Skip("registers are cleared on amd64 only")
	}
	regs, _ := regsCoreHits(t, "clear")
	t.Logf("control (buffers zeroed, registers not): %d hits in registers", regs)
	if regs == 0 {
		t.Fatal("control: the scan found no card in the registers of the thread that copied it")
	}
	if regs, mem := regsCoreHits(t, "wipe"); regs != 0 {
		t.Errorf("after cardsafe.Wipe the thread's registers still hold the card: %d hits (%d in memory)", regs, mem)
	}
}

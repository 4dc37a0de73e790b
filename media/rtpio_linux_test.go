//go:build linux && (amd64 || arm64)

package media

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rtpIOSeccompChild marks the child process of TestRTPIOFallbackUnderSeccomp.
const rtpIOSeccompChild = "PAYBRIDGE_MEDIA_TEST_SECCOMP_CHILD"

// TestRTPIOFallbackUnderSeccomp: where a seccomp filter refuses io_uring_setup (Docker's
// default profile does), the process runs on the epoll path by itself — RTPIO says so, no
// io_uring sender either — and a started session still receives and sends. It runs in a child
// process (the filter cannot be taken off again), with PAYBRIDGE_RTP_IO unset: the default.
func TestRTPIOFallbackUnderSeccomp(t *testing.T) {
	if os.Getenv(rtpIOSeccompChild) == "1" {
		rtpIOFallbackChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRTPIOFallbackUnderSeccomp$", "-test.v", "-test.count=1")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, rtpIOEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, rtpIOSeccompChild+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "fallback: epoll, received 5, sent") {
		t.Fatalf("child under seccomp: %v\n%s", err, out)
	}
}

// rtpIOFallbackChild installs a filter that fails io_uring_setup with EPERM on every thread of
// the process, then uses the media package for the first time.
func rtpIOFallbackChild(t *testing.T) {
	const (
		ldNr  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS // seccomp_data.nr at offset 0
		jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret   = unix.BPF_RET | unix.BPF_K
		nrOff = 0
	)
	prog := []unix.SockFilter{
		{Code: ldNr, K: nrOff},
		{Code: jeq, Jt: 0, Jf: 1, K: unix.SYS_IO_URING_SETUP},
		{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)},
		{Code: ret, K: unix.SECCOMP_RET_ALLOW},
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		t.Fatalf("no_new_privs: %v", err)
	}
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog))); e != 0 {
		t.Fatalf("seccomp: %v", e)
	}
	// The premise: io_uring_setup is refused now.
	var p uringParams
	if fd, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, 8, uintptr(unsafe.Pointer(&p)), 0); e != unix.EPERM {
		unix.Close(int(fd))
		t.Fatalf("io_uring_setup under the filter: %v, want EPERM", e)
	}

	if got := RTPIO(); got != "epoll" {
		t.Fatalf("RTPIO %q under a filter refusing io_uring", got)
	}
	if !errors.Is(sharedURx.err, unix.EPERM) {
		t.Fatalf("the receiver's setup error %v, want EPERM", sharedURx.err)
	}
	if uringTxShared() != nil || !errors.Is(sharedUTx.err, unix.EPERM) {
		t.Fatalf("io_uring sender under the filter (setup error %v)", sharedUTx.err)
	}

	peer := listenLoopback(t)
	defer peer.Close()
	sched := NewScheduler()
	defer sched.Close()
	m := NewSession(listenLoopback(t), SessionConfig{Scheduler: sched})
	m.SetParams(Params{Codec: PCMU, EventPT: 101, PTime: 20, Direction: SendRecv, Remote: peer.LocalAddr().(*net.UDPAddr).AddrPort()})
	m.Start()
	defer m.Close()
	if s := m.sock.Load(); s == nil || s.rx != nil || m.rxID == 0 {
		t.Fatal("the started session is not on the shared epoll receiver")
	}
	dst := netip.AddrPortFrom(lo, uint16(m.Port()))
	for i := range 5 {
		if _, err := peer.WriteToUDPAddrPort(pcmuPacket(t, uint16(1+i), 0xFF), dst); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for m.Stats().Received < 5 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := m.Stats().Received; got != 5 {
		t.Fatalf("received %d of 5 datagrams on the fallback", got)
	}
	if err := m.SendDigit('4', 60*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := peer.ReadFromUDPAddrPort(buf)
	if err != nil || n < 12 {
		t.Fatalf("the peer got nothing from the session on the fallback: %v", err)
	}
	t.Logf("fallback: epoll, received 5, sent %d bytes", n)
}

//go:build linux && (amd64 || arm64)

package media

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// BenchmarkSendConnected is what a connected socket saves the sender per packet (issue 17,
// session 7): n sockets (200, 1,000) each send one 172-byte packet a round to a loopback sink
// that another goroutine drains, in four ways —
//
//	uring-dst:   IORING_OP_SEND naming the destination, on an unconnected socket (the sender today)
//	uring-conn:  IORING_OP_SEND with no destination, on a socket connect()ed to the sink
//	sendto-dst:  sendto(2) naming the destination, on an unconnected socket (the epoll path today)
//	send-conn:   send(2) on a connected socket
//
// cpu-ns/pkt is the sending thread's CPU time (user and kernel, the loopback delivery into the
// sink included) per packet. An unconnected socket makes the kernel copy and check the address
// and look up a route for every packet; a connected one keeps its route (sk_dst_cache).
func BenchmarkSendConnected(b *testing.B) {
	if os.Getenv(rtpIOEnv) == "epoll" {
		b.Skip("the epoll run")
	}
	tx := uringTxShared()
	if tx == nil {
		b.Fatalf("no io_uring sender: %v", sharedUTx.err)
	}
	if !tx.sendTo {
		b.Skip("this kernel's IORING_OP_SEND takes no destination")
	}
	sink := drainingSink(b, 8<<20)
	port := sink.LocalAddr().(*net.UDPAddr).Port
	var sa unix.RawSockaddrInet6
	in4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&sa))
	in4.Family = unix.AF_INET
	in4.Port = uint16(port>>8) | uint16(port&0xff)<<8
	in4.Addr = [4]byte{127, 0, 0, 1}
	pkt := make([]byte, 172)
	for _, n := range []int{200, 1000} {
		open := func(b *testing.B, connect bool) []*rawSock {
			var ss []*rawSock
			for range n {
				c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
				if err != nil {
					b.Fatal(err)
				}
				s, err := takeSocket(c)
				if err != nil {
					b.Fatal(err)
				}
				if connect {
					if err := unix.Connect(s.fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
						b.Fatal(err)
					}
				}
				ss = append(ss, s)
			}
			b.Cleanup(func() {
				for _, s := range ss {
					s.close()
				}
			})
			return ss
		}
		run := func(b *testing.B, ss []*rawSock, send func(s *rawSock), flush func()) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			t0 := threadCPU()
			for b.Loop() {
				for _, s := range ss {
					send(s)
				}
				flush()
			}
			b.ReportMetric(float64(threadCPU()-t0)/float64(b.N*len(ss)), "cpu-ns/pkt")
		}
		queue := func(size uintptr) func(s *rawSock) {
			return func(s *rawSock) {
				s.mu.Lock()
				ok := tx.queue(s, pkt, &sa, size)
				s.mu.Unlock()
				if !ok {
					b.Fatal("the sender did not take the packet")
				}
			}
		}
		syscall := func(dst bool) func(s *rawSock) {
			return func(s *rawSock) {
				var name, size uintptr
				if dst {
					name, size = uintptr(unsafe.Pointer(&sa)), unix.SizeofSockaddrInet4
				}
				if _, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(s.fd), uintptr(unsafe.Pointer(&pkt[0])), uintptr(len(pkt)),
					unix.MSG_DONTWAIT, name, size); e != 0 && e != unix.EAGAIN {
					b.Fatal(e)
				}
			}
		}
		b.Run(fmt.Sprintf("uring-dst/socks=%d", n), func(b *testing.B) {
			run(b, open(b, false), queue(unix.SizeofSockaddrInet4), tx.flush)
		})
		b.Run(fmt.Sprintf("uring-conn/socks=%d", n), func(b *testing.B) {
			run(b, open(b, true), queue(0), tx.flush)
		})
		// registered files (IORING_REGISTER_FILES, IOSQE_FIXED_FILE): the kernel takes no
		// reference of the socket's file per packet; a private ring, the shared one untouched
		fixed := func(b *testing.B, ss []*rawSock, size uintptr) {
			ft := newTestTx(b)
			fds := make([]int32, len(ss))
			for i, s := range ss {
				fds[i] = int32(s.fd)
			}
			if err := ft.ring.register(uringRegisterFiles, unsafe.Pointer(&fds[0]), uintptr(len(fds))); err != nil {
				b.Fatalf("IORING_REGISTER_FILES: %v", err)
			}
			ft.sendTo = true
			idx := make(map[*rawSock]int, len(ss))
			for i, s := range ss {
				idx[s] = i
			}
			run(b, ss, func(s *rawSock) {
				ft.mu.Lock()
				if ft.queued == uringTxSlots {
					ft.flushLocked()
				}
				e := ft.ring.sqe()
				ft.prep(e, ft.queued, idx[s], pkt, &sa, size)
				e.flags |= uringSQEFixedFile
				ft.queued++
				ft.mu.Unlock()
			}, ft.flush)
		}
		b.Run(fmt.Sprintf("uring-fixed-dst/socks=%d", n), func(b *testing.B) {
			fixed(b, open(b, false), unix.SizeofSockaddrInet4)
		})
		b.Run(fmt.Sprintf("uring-fixed-conn/socks=%d", n), func(b *testing.B) {
			fixed(b, open(b, true), 0)
		})
		b.Run(fmt.Sprintf("sendto-dst/socks=%d", n), func(b *testing.B) {
			run(b, open(b, false), syscall(true), func() {})
		})
		b.Run(fmt.Sprintf("send-conn/socks=%d", n), func(b *testing.B) {
			run(b, open(b, true), syscall(false), func() {})
		})
	}
}

// newTestTx is a private io_uring sender, as uringTxShared sets up the process's, closed with
// the test.
func newTestTx(b *testing.B) *uringTx {
	r, err := newIORing(uringTxSlots, 2*uringTxSlots, uringSetupSubmitAll|uringSetupCoopTaskrun)
	if err != nil {
		b.Fatal(err)
	}
	slots, err := unix.Mmap(-1, 0, uringTxSlots*uringTxSlotSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		r.close()
		b.Fatal(err)
	}
	b.Cleanup(func() {
		r.close()
		unix.Munmap(slots)
	})
	return &uringTx{ring: r, slots: slots}
}

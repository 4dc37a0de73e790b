//go:build linux && (amd64 || arm64)

package media

import (
	"os"
	"sync"
)

// rtpIOEnv names the environment variable that chooses how started sessions' sockets are
// read and written on Linux (docs/sip.md, RTP on io_uring): unset, "uring" or anything but
// "epoll" — io_uring (uringrx_linux.go, uringtx_linux.go) where the kernel allows it, the
// epoll path when it cannot be set up (a kernel before 6.1, a seccomp filter,
// kernel.io_uring_disabled); "epoll" — the epoll path always (rxpoll_linux.go: epoll,
// recvmmsg, sendto). The media tests run both ways (make test: test-media-io is the epoll run).
const rtpIOEnv = "PAYBRIDGE_RTP_IO"

const (
	rtpIOEpoll = iota
	rtpIOUring
)

var rtpIO struct {
	once sync.Once
	v    int
}

// rtpIOFor is the path the variable's value v chooses.
func rtpIOFor(v string) int {
	if v == "epoll" {
		return rtpIOEpoll
	}
	return rtpIOUring
}

func rtpIOChoice() int {
	rtpIO.once.Do(func() { rtpIO.v = rtpIOFor(os.Getenv(rtpIOEnv)) })
	return rtpIO.v
}

// RTPIO names the path that reads and writes started sessions' sockets in this process:
// "io_uring" (the default, set up), or "epoll" (chosen with PAYBRIDGE_RTP_IO=epoll, or io_uring
// could not be set up: an old kernel, a seccomp filter, kernel.io_uring_disabled). It sets the
// receiver up if it was not.
func RTPIO() string {
	if uringRxShared() != nil {
		return "io_uring"
	}
	return "epoll"
}

//go:build linux && (amd64 || arm64)

package media

import (
	"os"
	"sync"
)

// rtpIOEnv names the environment variable that chooses how started sessions' sockets are
// read and written on Linux (docs/sip.md): "uring" or unset — io_uring (uringrx_linux.go,
// uringtx_linux.go) when the kernel allows it, epoll and recvmmsg/sendto otherwise —, "epoll"
// — always the epoll path. The media tests run both ways (make test).
const rtpIOEnv = "PAYBRIDGE_RTP_IO"

const (
	rtpIOAuto = iota
	rtpIOEpoll
)

var rtpIO struct {
	once sync.Once
	v    int
}

func rtpIOChoice() int {
	rtpIO.once.Do(func() {
		if os.Getenv(rtpIOEnv) == "epoll" {
			rtpIO.v = rtpIOEpoll
		}
	})
	return rtpIO.v
}

// RTPIO names the path that reads and writes started sessions' sockets in this process:
// "io_uring", or "epoll" (the environment chose it, or io_uring could not be set up: an old
// kernel, a seccomp filter, kernel.io_uring_disabled). It sets the receiver up if it was not.
func RTPIO() string {
	if uringRxShared() != nil {
		return "io_uring"
	}
	return "epoll"
}

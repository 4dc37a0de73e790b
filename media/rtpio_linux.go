//go:build linux && (amd64 || arm64)

package media

import (
	"os"
	"sync"
)

// rtpIOEnv names the environment variable that chooses how started sessions' sockets are
// read and written on Linux (docs/sip.md): "uring" — io_uring (uringrx_linux.go,
// uringtx_linux.go) when the kernel allows it, epoll otherwise —; unset or anything else — the
// epoll path (rxpoll_linux.go: epoll, recvmmsg, sendto). io_uring is not the default: it
// measured no better than epoll here, and an end-to-end test of the sandbox's capture line
// (internal/e2e TestProviderCaptureLineE2E) lost a capture on it that it does not lose on epoll
// (docs/sip.md, RTP on io_uring). The media tests run both ways (make test).
const rtpIOEnv = "PAYBRIDGE_RTP_IO"

const (
	rtpIOEpoll = iota
	rtpIOUring
)

var rtpIO struct {
	once sync.Once
	v    int
}

func rtpIOChoice() int {
	rtpIO.once.Do(func() {
		if os.Getenv(rtpIOEnv) == "uring" {
			rtpIO.v = rtpIOUring
		}
	})
	return rtpIO.v
}

// RTPIO names the path that reads and writes started sessions' sockets in this process:
// "io_uring" (chosen by the environment and set up), or "epoll" (the default, or io_uring could
// not be set up: an old kernel, a seccomp filter, kernel.io_uring_disabled). It sets the
// receiver up if it was not.
func RTPIO() string {
	if uringRxShared() != nil {
		return "io_uring"
	}
	return "epoll"
}

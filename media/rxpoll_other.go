//go:build !(linux && (amd64 || arm64))

package media

import "net/netip"

// rawSock is not used on this platform: every session reads its net.UDPConn with a
// goroutine of its own (receive.go).
type rawSock struct{}

func (*rawSock) sendTo([]byte, netip.AddrPort) error { return nil }
func (*rawSock) state() (SocketState, error)         { return SocketState{}, nil }
func (*rawSock) close()                              {}

func (m *Session) startReceiving() bool { return false }
func (m *Session) stopReceiving()       {}
func (m *Session) receiverDone()        {}

func flushSends() {}

// RTPIO names the path that reads and writes started sessions' sockets: on this platform a
// goroutine per session with Go's net package.
func RTPIO() string { return "goroutine" }

func rxStats() (rounds, calls, datagrams int64) { return 0, 0, 0 }

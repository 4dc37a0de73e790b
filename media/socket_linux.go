package media

import (
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Indexes of the SO_MEMINFO array (linux/sock_diag.h).
const (
	skMeminfoRmemAlloc = 0
	skMeminfoDrops     = 8
	skMeminfoVars      = 9
)

func socketState(conn *net.UDPConn) (SocketState, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return SocketState{}, err
	}
	var st SocketState
	var serr error
	err = rc.Control(func(fd uintptr) { st, serr = fdState(fd) })
	if err == nil {
		err = serr
	}
	return st, err
}

// fdState reads SO_MEMINFO of a socket descriptor.
func fdState(fd uintptr) (SocketState, error) {
	var info [skMeminfoVars]uint32
	size := uint32(unsafe.Sizeof(info))
	_, _, e := syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, unix.SOL_SOCKET, unix.SO_MEMINFO,
		uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&size)), 0)
	if e != 0 {
		return SocketState{}, e
	}
	return SocketState{Queued: int(info[skMeminfoRmemAlloc]), Drops: int64(info[skMeminfoDrops])}, nil
}

func receiveBuffer(conn *net.UDPConn) (int, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var serr error
	err = rc.Control(func(fd uintptr) { n, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF) })
	if err == nil {
		err = serr
	}
	// Linux doubles the requested size for its bookkeeping and reports the doubled figure.
	return n / 2, err
}

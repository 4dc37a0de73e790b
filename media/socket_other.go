//go:build !linux

package media

import (
	"errors"
	"net"
)

func socketState(*net.UDPConn) (SocketState, error) { return SocketState{}, errors.ErrUnsupported }

func receiveBuffer(*net.UDPConn) (int, error) { return 0, errors.ErrUnsupported }

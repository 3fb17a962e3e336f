//go:build unix

package realtime

import (
	"errors"
	"net"
	"syscall"
)

// errWouldBlock reports that a write could not complete without waiting.
var errWouldBlock = errors.New("write would block")

// tryWrite writes as much of p to conn as it takes without waiting, in one
// system call, and returns how much it wrote: errWouldBlock when that was not
// all of it. Connections that do not expose their descriptor write nothing.
func tryWrite(conn net.Conn, p []byte) (int, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return 0, errWouldBlock
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, errWouldBlock
	}
	var n int
	var werr error
	if err := rc.Write(func(fd uintptr) bool {
		n, werr = syscall.Write(int(fd), p)
		return true
	}); err != nil {
		return 0, err
	}
	switch {
	case werr == syscall.EAGAIN || werr == syscall.EINTR:
		return 0, errWouldBlock
	case werr != nil:
		return 0, werr
	case n < len(p):
		return n, errWouldBlock
	}
	return n, nil
}

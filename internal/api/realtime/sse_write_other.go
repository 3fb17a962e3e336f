//go:build !unix

package realtime

import (
	"errors"
	"net"
)

// errWouldBlock reports that a write could not complete without waiting.
var errWouldBlock = errors.New("write would block")

// tryWrite writes nothing here: every write goes through a goroutine of the
// connection's own.
func tryWrite(net.Conn, []byte) (int, error) { return 0, errWouldBlock }

//go:build !linux

package launch

import "syscall"

// procAttr has nothing to add outside Linux, which alone has Pdeathsig: the
// tools still kill their servers on every exit path they control.
func procAttr() *syscall.SysProcAttr { return nil }

package launch

import "syscall"

// procAttr makes the kernel kill the server when the tool that started it
// dies, even by SIGKILL, so that no server outlives its tool.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel send SIGTERM to the child if this process
// dies without stopping it (for example on SIGKILL), so nothing is left behind.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}

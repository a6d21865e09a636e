//go:build !linux

package main

import "os/exec"

// dieWithParent has no portable equivalent outside Linux; Ctrl-C and SIGTERM
// still stop every child.
func dieWithParent(*exec.Cmd) {}

package main

import "syscall"

// motoProcAttr puts moto_server in a process group of its own, killed with this process even when it dies
// without cleaning up.
func motoProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

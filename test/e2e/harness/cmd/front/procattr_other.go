//go:build !linux

package main

import "syscall"

// motoProcAttr puts moto_server in a process group of its own (no Pdeathsig outside Linux).
func motoProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

//go:build !windows

package ocir

import "syscall"

// openNonBlock keeps opening a FIFO named as a token or secret file from
// blocking; the regular-file check then refuses it.
const openNonBlock = syscall.O_NONBLOCK

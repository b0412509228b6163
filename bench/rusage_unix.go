//go:build unix

package main

import (
	"os"
	"runtime"
	"syscall"
)

// maxRSSKiB is the child's peak resident set size from its rusage (bytes
// on darwin, KiB elsewhere).
func maxRSSKiB(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss) / 1024
	}
	return int64(ru.Maxrss)
}

// minorFaults is the child's count of page faults served without I/O: on
// a warm run nearly all of them are first touches of the binary's pages
// and of fresh memory, which is what a larger binary and more package
// initialisation cost.
func minorFaults(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	return int64(ru.Minflt)
}

//go:build !unix

package main

import "os"

// maxRSSKiB is unknown where there is no rusage.
func maxRSSKiB(*os.ProcessState) int64 { return 0 }

// minorFaults is unknown where there is no rusage.
func minorFaults(*os.ProcessState) int64 { return 0 }

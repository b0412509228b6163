// Package cmdline holds the command-line mechanisms both binaries share:
// exit statuses, the usage-error type, the version line, settings from
// the OCIR_* environment and global flags, the wiring of those settings
// into an ocir.Provider, and CacheOnly, through which the warm paths
// answer a cache hit. It imports no command-line library: flags reach it
// as a lookup function, so each binary parses its command line its own way
// (the docker helper with package flag, the kubelet plugin with urfave/cli).
//
// What each binary says and where it says it (stdout for the docker
// protocol, stderr for the kubelet plugin) stays with the binary; this
// package only removes the second copy of the same logic.
package cmdline

import (
	"errors"
	"fmt"
)

// Exit statuses of both binaries.
const (
	ExitOK      = 0
	ExitFailure = 1 // the lookup or the command failed
	ExitUsage   = 2 // bad command line or environment value
)

// UsageError marks a bad command line or environment value: exit status
// ExitUsage.
type UsageError struct {
	Err error // what is wrong, worded for the user
}

// Error returns the underlying message.
func (u UsageError) Error() string { return u.Err.Error() }

// Unwrap exposes the underlying error.
func (u UsageError) Unwrap() error { return u.Err }

// Usagef formats a UsageError.
func Usagef(format string, args ...any) error {
	return UsageError{fmt.Errorf(format, args...)}
}

// IsUsage reports whether err is, or wraps, a UsageError.
func IsUsage(err error) bool { return errors.As(err, new(UsageError)) }

// ExitCode ends a command with a status after it has printed everything
// it wanted to print.
type ExitCode int

// Error describes the status; it is never printed.
func (e ExitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

//go:build windows

package userfile

import "io/fs"

// No O_NONBLOCK or O_NOFOLLOW on Windows; a FIFO cannot be named there
// the way it can on Unix.
const (
	nonBlock = 0
	noFollow = 0
)

// Owner reports no owner on Windows, where files have ACLs instead.
func Owner(fs.FileInfo) (uid, gid int, ok bool) { return -1, -1, false }

// Trusted accepts every file on Windows, where ownership and ACLs do not
// map onto Unix permission bits.
func Trusted(fs.FileInfo) error { return nil }

// OthersCanRead is false on Windows, where the permission bits Go reports
// do not say who may read a file (see Trusted).
func OthersCanRead(fs.FileInfo) bool { return false }

// trustedDirs accepts every directory on Windows (see Trusted).
func trustedDirs(string) error { return nil }

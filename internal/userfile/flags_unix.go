//go:build !windows

package userfile

import (
	"io/fs"
	"os"
	"syscall"
)

const (
	nonBlock = syscall.O_NONBLOCK
	noFollow = syscall.O_NOFOLLOW
)

// Trusted reports why a file that decides who gets tokens must not be
// used, or nil: as ssh does, it must belong to the effective user or
// root and be writable by nobody else.
func Trusted(fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := int(st.Uid); uid != os.Geteuid() && uid != 0 {
		return errUntrusted("it belongs to uid %d, not to this user (uid %d) or root", uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return errUntrusted("it is writable by group or others (mode %04o); chmod go-w it", fi.Mode().Perm())
	}
	return nil
}

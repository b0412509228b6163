//go:build !windows

package ocir

import (
	"os"
	"syscall"
)

// ownedByMe reports whether fi belongs to the effective user: a cache file
// another user could have planted is never trusted.
func ownedByMe(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}

// privatePerm reports whether the permission bits keep group and others out.
func privatePerm(fi os.FileInfo) bool { return fi.Mode().Perm()&0o077 == 0 }

// ownedByMeOrRoot reports whether fi belongs to the effective user or root.
func ownedByMeOrRoot(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && (int(st.Uid) == os.Geteuid() || st.Uid == 0)
}

//go:build !windows

package userfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

const (
	nonBlock = syscall.O_NONBLOCK
	noFollow = syscall.O_NOFOLLOW
)

// Owner returns the uid and gid that own fi (ok false where the platform
// has no such owners).
func Owner(fi fs.FileInfo) (uid, gid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, -1, false
	}
	return int(st.Uid), int(st.Gid), true
}

// Trusted reports why a file that decides who gets tokens must not be
// used, or nil: as ssh does, it must belong to the effective user or
// root and be writable by nobody else.
func Trusted(fi fs.FileInfo) error {
	uid, _, ok := Owner(fi)
	if !ok {
		return nil
	}
	if uid != os.Geteuid() && uid != 0 {
		return errUntrusted("it belongs to uid %d, not to this user (uid %d) or root", uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return errUntrusted("it is writable by group or others (mode %04o); chmod go-w it", fi.Mode().Perm())
	}
	return nil
}

// OthersCanRead reports whether users other than the file's owner may
// read it (its group or other read bit is set): for a private key or a
// token, the OCI CLI and ssh warn about that.
func OthersCanRead(fi fs.FileInfo) bool { return fi.Mode().Perm()&0o044 != 0 }

// trustedDirs reports why the directories holding path make it unsafe,
// or nil: whoever can write a directory can replace the file in it,
// whatever the file's own mode, so each directory up to the root must, as
// ssh requires, belong to the effective user or root and be writable by
// nobody else — unless it has the sticky bit (/tmp), which keeps others
// from renaming or removing what is not theirs. Symlinks are resolved
// first, so the directories checked are the ones the file is in.
func trustedDirs(path string) error {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return err
	}
	if real, err = filepath.Abs(real); err != nil {
		return err
	}
	for dir := filepath.Dir(real); ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil {
			return err
		}
		if uid, _, ok := Owner(fi); ok {
			if uid != os.Geteuid() && uid != 0 {
				return errUntrusted("its directory %s belongs to uid %d, not to this user (uid %d) or root", dir, uid, os.Geteuid())
			}
		}
		if fi.Mode().Perm()&0o022 != 0 && fi.Mode()&fs.ModeSticky == 0 {
			return errUntrusted("its directory %s is writable by group or others (mode %04o), so they could replace it; chmod go-w that directory", dir, fi.Mode().Perm())
		}
		if filepath.Dir(dir) == dir {
			return nil
		}
	}
}

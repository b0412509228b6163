//go:build unix

package dockerconfig

import (
	"io/fs"
	"os"
	"syscall"
)

// owner is a file's original owner.
type owner struct {
	uid, gid int
	known    bool
}

func ownerOf(st fs.FileInfo) owner {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return owner{uid: int(s.Uid), gid: int(s.Gid), known: true}
	}
	return owner{}
}

// restore gives the replacement file the original owner, so `sudo
// docker-credential-ocir configure-docker` on a user's file does not leave
// it owned by root. Failure (not root) is fine: then the owner is already
// the current user.
func (o owner) restore(f *os.File) {
	if o.known && os.Geteuid() == 0 {
		_ = f.Chown(o.uid, o.gid)
	}
}

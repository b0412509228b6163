//go:build !unix

package dockerconfig

import (
	"io/fs"
	"os"
)

// owner is a file's original owner; not tracked on this platform.
type owner struct{}

func ownerOf(fs.FileInfo) owner { return owner{} }

func (owner) restore(*os.File) {}

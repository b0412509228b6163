//go:build windows

package ocir

import "os"

// On Windows the per-user profile directory ACLs protect the cache; POSIX
// ownership and mode bits carry no meaning there.
func ownedByMe(os.FileInfo) bool       { return true }
func privatePerm(os.FileInfo) bool     { return true }
func ownedByMeOrRoot(os.FileInfo) bool { return true }

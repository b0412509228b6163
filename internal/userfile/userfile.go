// Package userfile opens the files a user names (OCIR_CONFIG,
// OCI_CLI_CONFIG_FILE, key and token files, OCIR_LOG_FILE, region
// metadata, the paths given to validate-config) without letting a wrong
// name hang or exhaust the process: only regular files, opened
// non-blocking (a FIFO would block the open or the read forever), reads
// capped (/dev/zero would otherwise grow memory without bound).
package userfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Limits for Read callers. Every file we read is small; the caps leave
// plenty of room while keeping a wrong name from costing memory.
const (
	// ConfigLimit caps config files (YAML, OCI config, region metadata).
	ConfigLimit = 1 << 20
	// SecretLimit caps keys, certificates and tokens.
	SecretLimit = 1 << 20
)

// NoFollowNonBlock is added to the flags of an open that must neither
// follow a symlink at the last component nor block on a FIFO planted
// there (0 on Windows, which has neither); the caller then checks that it
// got a regular file.
const NoFollowNonBlock = noFollow | nonBlock

// ErrNotRegular is returned for a path that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is returned when a file exceeds the read limit.
var ErrTooLarge = errors.New("file too large")

// Read reads a regular file of at most limit bytes.
func Read(path string, limit int64) ([]byte, error) {
	raw, _, err := ReadInfo(path, limit)
	return raw, err
}

// ReadInfo is Read that also returns the file's FileInfo, taken from the
// descriptor it read, for callers that judge its mode (OthersCanRead):
// a Stat of the path could describe another file by then.
func ReadInfo(path string, limit int64) ([]byte, fs.FileInfo, error) {
	f, fi, err := Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	raw, err := ReadAtMost(f, limit)
	switch {
	case errors.Is(err, ErrTooLarge):
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	case err != nil:
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	return raw, fi, nil
}

// ReadAtMost reads f to its end, or fails with ErrTooLarge past limit
// bytes: for a file a caller opened and checked itself.
func ReadAtMost(f io.Reader, limit int64) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > limit {
		return nil, fmt.Errorf("%w (more than %d bytes)", ErrTooLarge, limit)
	}
	return raw, nil
}

// ReadTrusted is Read for a file that decides where tokens go (the config
// file, region metadata): it is refused unless nobody but its owner, this
// user or root, can have written it or replaced it (Trusted, and the same
// of every directory above it). Its errors do not repeat the path;
// callers name the file.
func ReadTrusted(path string, limit int64) ([]byte, error) {
	f, fi, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := Trusted(fi); err != nil {
		return nil, fmt.Errorf("refusing to use it: %w", err)
	}
	if err := trustedDirs(path); err != nil {
		return nil, fmt.Errorf("refusing to use it: %w", err)
	}
	return ReadAtMost(f, limit)
}

// Open opens path for reading, non-blocking, and returns it only if it is
// a regular file (checked on the open descriptor, so a swap between check
// and open cannot matter). The errors wrap fs.ErrNotExist for a missing
// file.
func Open(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|nonBlock, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, Kind(fi.Mode()))
	}
	return f, fi, nil
}

// OpenAppend opens (creating it 0600 if needed) a file to append to, such
// as a log file: never through a symlink, never blocking on a FIFO, and
// only a regular file.
func OpenAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND|noFollow|nonBlock, 0o600)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, Kind(fi.Mode()))
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Kind names what a file is, for messages: "a directory", "a FIFO",
// "a symlink", "a regular file", …
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	}
	return "mode " + m.String()
}

// ErrNotAbsolute is returned (wrapped) by Absolute.
var ErrNotAbsolute = errors.New("not an absolute path")

// Absolute refuses a relative path for a file or directory a setting
// names (OCIR_LOG_FILE, OCIR_CACHE_DIR): clients run the helper from
// whatever directory they happen to be in, so a relative one would scatter
// logs and tokens across the user's working directories.
func Absolute(path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("%q is %w", path, ErrNotAbsolute)
	}
	return nil
}

// ErrUntrusted is returned by Trusted (wrapped) for a file that another
// user could have written.
var ErrUntrusted = errors.New("file is not trusted")

func errUntrusted(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUntrusted, fmt.Sprintf(format, args...))
}

package dockerconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Modes docker uses for a config it creates: the directory and the file
// are private to the user because the file may hold registry passwords.
const (
	NewDirMode  fs.FileMode = 0o700
	NewFileMode fs.FileMode = 0o600
)

// maxSymlinks bounds symlink resolution, as the kernel does (ELOOP).
const maxSymlinks = 40

// File is a config file on disk.
type File struct {
	Path   string      // the path as given
	Target string      // the file written to, after following symlinks
	Exists bool        // whether Target existed when read
	Mode   fs.FileMode // permission bits of Target, or NewFileMode
	Raw    []byte      // content when read

	owner owner // original owner, restored when running as root
}

// Read loads path, following symlinks so that an edit replaces the file a
// link points at rather than the link itself (dotfile managers symlink
// config.json into a repository). A missing file is not an error.
func Read(path string) (*File, error) {
	target, err := resolve(path)
	if err != nil {
		return nil, err
	}
	f := &File{Path: path, Target: target, Mode: NewFileMode}
	st, err := os.Stat(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return f, nil
	case err != nil:
		return nil, fmt.Errorf("stat %s: %w", target, err)
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("%s is not a regular file", target)
	}
	raw, err := os.ReadFile(target)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", target, err)
	}
	f.Exists, f.Mode, f.Raw, f.owner = true, st.Mode().Perm(), raw, ownerOf(st)
	return f, nil
}

// resolve follows symlinks at path (not in its directories, which the
// kernel follows anyway) and returns the final path, which may not exist.
func resolve(path string) (string, error) {
	p := path
	for range maxSymlinks {
		st, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return p, nil
		}
		if err != nil {
			return "", fmt.Errorf("stat %s: %w", p, err)
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			return p, nil
		}
		dest, err := os.Readlink(p)
		if err != nil {
			return "", fmt.Errorf("read link %s: %w", p, err)
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(p), dest)
		}
		p = dest
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", path)
}

// Write replaces the target's content atomically: a temporary file in the
// same directory, synced, given the original mode (and owner, when root
// edits a user's file), then renamed over the target. A crash leaves
// either the old or the new file, never a truncated one.
func (f *File) Write(data []byte) (err error) {
	dir := filepath.Dir(f.Target)
	if !f.Exists {
		if err := os.MkdirAll(dir, NewDirMode); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.Target)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file in %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(f.Mode); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if f.Exists {
		f.owner.restore(tmp)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), f.Target); err != nil {
		return fmt.Errorf("replace %s: %w", f.Target, err)
	}
	f.Exists, f.Raw = true, data
	return nil
}

package dockerconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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

// resolve follows a symlink at path and returns the file it finally names,
// which may not exist yet. A path that is not a symlink is returned as
// given: the kernel follows symlinked directories anyway.
//
// A relative link target is relative to the directory that really holds
// the link, not to the path as written: with ~/.docker -> dotfiles/docker
// and config.json -> ../shared.json the file is dotfiles/shared.json, not
// ~/shared.json. So the resolution works on real directories
// (filepath.EvalSymlinks), never by joining link text to the path.
func resolve(path string) (string, error) {
	st, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return path, nil
	case err != nil:
		return "", fmt.Errorf("stat %s: %w", path, err)
	case st.Mode()&fs.ModeSymlink == 0:
		return path, nil
	}
	final, err := filepath.EvalSymlinks(path)
	if err == nil {
		return final, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("resolve symlink %s: %w", path, err)
	}
	return resolveDangling(path)
}

// resolveDangling resolves a symlink chain that ends at a file that does
// not exist (yet). It starts from the real directory of the link and walks
// the link targets one component at a time, as the kernel does, so ".."
// after a symlinked directory goes to that directory's real parent. The
// first missing component ends the walk; the rest is appended as written
// (Write creates the missing directories).
func resolveDangling(path string) (string, error) {
	dir, err := filepath.EvalSymlinks(filepath.Dir(path))
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", filepath.Dir(path), err)
	}
	resolved := dir // a real directory: no symlinks in it
	rest := []string{filepath.Base(path)}
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			resolved = filepath.Dir(resolved)
			continue
		}
		next := filepath.Join(resolved, c)
		st, err := os.Lstat(next)
		if errors.Is(err, fs.ErrNotExist) {
			return filepath.Join(append([]string{next}, rest...)...), nil
		}
		if err != nil {
			return "", fmt.Errorf("stat %s: %w", next, err)
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			resolved = next
			continue
		}
		if links++; links > maxSymlinks {
			return "", fmt.Errorf("%s: too many levels of symbolic links", path)
		}
		dest, err := os.Readlink(next)
		if err != nil {
			return "", fmt.Errorf("read link %s: %w", next, err)
		}
		if filepath.IsAbs(dest) {
			vol := filepath.VolumeName(dest)
			resolved = vol + string(filepath.Separator)
			dest = dest[len(vol):]
		}
		rest = append(strings.Split(filepath.ToSlash(dest), "/"), rest...)
	}
	return resolved, nil
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

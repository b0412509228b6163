package dockerconfig

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/ocir-credential-helper/ocir-credential-helper/internal/filelock"
	"github.com/ocir-credential-helper/ocir-credential-helper/internal/userfile"
)

// Modes docker uses for a config it creates: the directory and the file
// are private to the user because the file may hold registry passwords.
const (
	NewDirMode  fs.FileMode = 0o700
	NewFileMode fs.FileMode = 0o600
)

// MaxFileSize bounds what Read reads: docker's config.json and
// containers' auth.json are kilobytes, so a larger file is the wrong one.
const MaxFileSize = 16 << 20

// maxSymlinks bounds symlink resolution, as the kernel does (ELOOP).
const maxSymlinks = 40

// ErrRefused is returned (wrapped) for an edit that running as root must
// not make: one that would follow another user's symlink to a place that
// user does not own.
var ErrRefused = errors.New("refusing to edit as root")

// File is a config file on disk.
//
// When the process runs as root (sudo with the user's HOME), the file is
// edited on behalf of the owner of its place — the file itself, or when it
// does not exist yet, the nearest existing directory that will hold it —
// and nothing that owner could not have done is done for them: a symlink
// on the way, in the file name or in a directory, is followed only when it
// belongs to root or to that owner. Otherwise a user could point
// ~/.docker/config.json (or ~/.docker) at /etc and have root write there.
// The write then goes through the directory that was checked, opened once,
// so that a symlink swapped in afterwards cannot redirect it. For the same
// reason what root creates — missing directories, a new file, the lock
// file — is given to that owner too (newOwner): `sudo configure-docker`
// with no ~/.docker yet must not leave the user a ~/.docker of root's.
type File struct {
	Path   string      // the path as given
	Target string      // the file written to, after following a symlink at Path
	Exists bool        // whether Target existed when read
	Mode   fs.FileMode // permission bits of Target, or NewFileMode
	Raw    []byte      // content when read

	real    string      // Target with every symlink resolved, in its directories too
	dir     string      // the deepest existing directory on the way to real: its parent when the file exists
	dirInfo fs.FileInfo // dir as checked
	owner   owner       // the file's owner, restored when root replaces it
}

// owner is a file's owner, when the platform has one.
type owner struct {
	uid, gid int
	known    bool
}

func ownerOf(fi fs.FileInfo) owner {
	uid, gid, ok := userfile.Owner(fi)
	return owner{uid: uid, gid: gid, known: ok}
}

// give makes o the owner of what, through chown (an open file's Chown,
// or a directory's Lchown, which does not follow a symlink swapped in): the
// original owner of a file root replaces, or newOwner of what root
// creates, so that `sudo docker-credential-ocir configure-docker` does not
// leave a user's files owned by root. Only root can, and only root needs
// to: for anyone else what they create is theirs already.
func (o owner) give(what string, chown func(uid, gid int) error) error {
	if !o.known || os.Geteuid() != 0 {
		return nil
	}
	if err := chown(o.uid, o.gid); err != nil {
		return fmt.Errorf("give %s to uid %d: %w", what, o.uid, err)
	}
	return nil
}

// newOwner is who gets what an edit creates (directories, the file, the
// lock file) when euid is root: the owner of dir, the nearest existing
// directory above them — the user's HOME under sudo —, with the sudo
// user's group (SUDO_GID) when that owner is the sudo user (SUDO_UID). It
// is never simply the sudo user: under `sudo -i` HOME is root's, and root's
// ~/.docker must stay root's. For anyone but root it is the unknown owner:
// nothing is given away.
func newOwner(euid int, sudoUID, sudoGID string, dir owner) owner {
	if euid != 0 || !dir.known {
		return owner{}
	}
	if uid, err := strconv.Atoi(sudoUID); err == nil && uid == dir.uid {
		if gid, err := strconv.Atoi(sudoGID); err == nil && gid >= 0 {
			dir.gid = gid
		}
	}
	return dir
}

// link is a symlink followed on the way to the file.
type link struct {
	path  string
	owner owner
}

// followRule is the rule for symlinks when euid is root: each link
// followed on the way to place (the file, or when it does not exist yet,
// the nearest existing directory that will hold it) must belong to root or
// to whoever owns place. A link of the user's own that leads to the user's
// own dotfiles is fine; one that leads to root's or another user's file or
// directory would have root write what its owner cannot, and is refused.
// For anyone but root the kernel's permissions are the rule, and there is
// nothing to check.
func followRule(euid int, links []link, place string, placeOwner owner) error {
	if euid != 0 || !placeOwner.known {
		return nil
	}
	for _, l := range links {
		if l.owner.known && l.owner.uid != 0 && l.owner.uid != placeOwner.uid {
			return fmt.Errorf("%w: the symlink %s belongs to uid %d but leads to %s, which belongs to uid %d (as root, a symlink is followed only when it belongs to root or to the owner of what it leads to); run the command as uid %d instead of root, or replace the link",
				ErrRefused, l.path, l.owner.uid, place, placeOwner.uid, l.owner.uid)
		}
	}
	return nil
}

// Read loads path, following symlinks so that an edit replaces the file a
// link points at rather than the link itself (dotfile managers symlink
// config.json into a repository). A missing file is not an error. As root,
// links are followed only as File describes.
func Read(path string) (*File, error) {
	// The file read must be the one resolved and checked. Without the lock
	// another edit may replace it (rename) in between: then resolve again.
	for try := 1; ; try++ {
		f, err := readOnce(path)
		if !errors.Is(err, errReplaced) || try == maxReadTries {
			return f, err
		}
	}
}

// maxReadTries bounds how often Read resolves again a file replaced while
// being read: concurrent edits take milliseconds each.
const maxReadTries = 20

// errReplaced is returned by readOnce for a file replaced between its
// resolution and its opening.
var errReplaced = errors.New("changed while being read")

func readOnce(path string) (*File, error) {
	r, err := walk(path)
	if err != nil {
		return nil, err
	}
	f := &File{Path: path, Target: path, Mode: NewFileMode, real: r.real, dir: r.dir, dirInfo: r.dirInfo}
	// Only a symlink at the name itself is shown as one; symlinked
	// directories are the kernel's business, as they would be for docker.
	if st, err := os.Lstat(path); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		f.Target = r.real
	}
	place, placeInfo := r.dir, r.dirInfo
	if r.file != nil {
		place, placeInfo = r.real, r.file
	}
	if err := followRule(os.Geteuid(), r.links, place, ownerOf(placeInfo)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.file == nil {
		return f, nil
	}
	if !r.file.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file but %s", f.Target, userfile.Kind(r.file.Mode()))
	}
	raw, err := readChecked(r.real, r.file)
	if err != nil {
		return nil, err
	}
	f.Exists, f.Mode, f.Raw, f.owner = true, r.file.Mode().Perm(), raw, ownerOf(r.file)
	return f, nil
}

// readChecked reads the file at path only if it is still checked, the
// file whose owner the rule was applied to: not swapped since, and never
// a symlink or a FIFO (which would block the open).
func readChecked(path string, checked fs.FileInfo) ([]byte, error) {
	fh, err := os.OpenFile(path, os.O_RDONLY|userfile.NoFollowNonBlock, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s %w (removed); run the command again", path, errReplaced)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer fh.Close()
	if st, err := fh.Stat(); err != nil || !os.SameFile(st, checked) {
		return nil, fmt.Errorf("%s %w; run the command again", path, errReplaced)
	}
	// The size is checked before reading, so a huge file costs nothing,
	// and while reading, as it may have grown since.
	var raw []byte
	if checked.Size() > MaxFileSize {
		err = userfile.ErrTooLarge
	} else {
		raw, err = userfile.ReadAtMost(fh, MaxFileSize)
	}
	switch {
	case errors.Is(err, userfile.ErrTooLarge):
		return nil, fmt.Errorf("%s is larger than %d MiB, more than any config file", path, MaxFileSize>>20)
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return raw, nil
}

// resolution is where a path leads.
type resolution struct {
	real    string      // the path with every symlink resolved; may not exist
	file    fs.FileInfo // real, when it exists
	dir     string      // the deepest existing directory on the way to real
	dirInfo fs.FileInfo
	links   []link // every symlink followed, in order
}

// walk resolves path one component at a time, as the kernel does, and
// notes every symlink it follows (in directories as well as at the end)
// with its owner, for followRule. A relative link target is relative to
// the directory that really holds the link, not to the path as written:
// with ~/.docker -> dotfiles/docker and config.json -> ../shared.json the
// file is dotfiles/shared.json, and ".." after a symlinked directory goes
// to that directory's real parent. The first missing component ends the
// walk; the rest is appended as written (the write creates the missing
// directories).
func walk(path string) (*resolution, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", path, err)
	}
	vol := filepath.VolumeName(abs)
	top := vol + string(filepath.Separator)
	resolved := top // a real directory: no symlinks in it
	rest := split(abs[len(vol):])
	r := &resolution{}
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
			r.real = filepath.Join(append([]string{next}, rest...)...)
			return r.finish(resolved)
		}
		if err != nil {
			return nil, fmt.Errorf("stat %s: %w", next, err)
		}
		if st.Mode()&fs.ModeSymlink == 0 {
			if len(rest) > 0 && !st.IsDir() {
				return nil, fmt.Errorf("%s: %s is not a directory", path, next)
			}
			resolved = next
			continue
		}
		if len(r.links) == maxSymlinks {
			return nil, fmt.Errorf("%s: too many levels of symbolic links", path)
		}
		dest, err := os.Readlink(next)
		if err != nil {
			return nil, fmt.Errorf("read link %s: %w", next, err)
		}
		r.links = append(r.links, link{path: next, owner: ownerOf(st)})
		if filepath.IsAbs(dest) {
			vol := filepath.VolumeName(dest)
			resolved = vol + string(filepath.Separator)
			dest = dest[len(vol):]
		}
		rest = append(split(dest), rest...)
	}
	r.real = resolved
	st, err := os.Lstat(resolved)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", resolved, err)
	}
	r.file = st
	if resolved == top {
		return nil, fmt.Errorf("%s is not a regular file but %s", path, userfile.Kind(st.Mode()))
	}
	return r.finish(filepath.Dir(resolved))
}

// finish records dir, the deepest existing directory on the way.
func (r *resolution) finish(dir string) (*resolution, error) {
	st, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory but %s", dir, userfile.Kind(st.Mode()))
	}
	r.dir, r.dirInfo = dir, st
	return r, nil
}

func split(p string) []string { return strings.Split(filepath.ToSlash(p), "/") }

// DefaultLockWait is how long Edit waits for another edit of the same
// file to finish. An edit holds the lock for milliseconds and a lock dies
// with its process, so running out of it means a holder that is stuck.
const DefaultLockWait = 30 * time.Second

// Options tune Edit. The zero value is fine.
type Options struct {
	// LockWait bounds the wait for another edit of the same file;
	// 0 means DefaultLockWait.
	LockWait time.Duration
	// Getenv reads SUDO_UID and SUDO_GID; nil means os.Getenv.
	Getenv func(string) string
}

// Edit changes the config file at path: edit gets the file as read
// (Read) and returns its new content, or nil when there is nothing to
// write. Concurrent Edits of one file, in this process or others, take
// turns: each reads, edits and writes while holding an exclusive lock on
// a sibling lock file (<file>.lock next to the file a symlink leads to),
// so none loses another's change. The wait is bounded by ctx and
// o.LockWait.
//
// edit may run twice, so it must do nothing but compute: first on the
// file as it is, without the lock, so that an edit that changes nothing
// (or a dry run, whose edit returns nil) writes, creates and locks
// nothing; then, when there is something to write, again under the lock
// on what the file holds by then. The File returned is the one edit saw
// last.
func Edit(ctx context.Context, path string, o Options, edit func(*File) ([]byte, error)) (*File, error) {
	f, err := Read(path)
	if err != nil {
		return nil, err
	}
	if data, err := edit(f); err != nil || data == nil {
		return f, err
	}
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	create := newOwner(os.Geteuid(), getenv("SUDO_UID"), getenv("SUDO_GID"), ownerOf(f.dirInfo))
	dir, err := f.openDir(create)
	if err != nil {
		return f, err
	}
	defer dir.Close()
	wait := o.LockWait
	if wait <= 0 {
		wait = DefaultLockWait
	}
	unlock, err := lockIn(ctx, dir, filepath.Base(f.real), wait, create)
	if err != nil {
		return f, err
	}
	defer unlock()
	// Another edit may have written the file since it was read: edit what
	// it holds now, in the directory that is locked.
	locked, err := Read(path)
	if err != nil {
		return f, err
	}
	if st, err := dir.Stat("."); err != nil || locked.real != f.real || !os.SameFile(st, locked.dirInfo) {
		return f, fmt.Errorf("%s changed while being edited; run the command again", path)
	}
	data, err := edit(locked)
	if err != nil || data == nil {
		return locked, err
	}
	return locked, locked.writeIn(dir, data, create)
}

// lockIn takes the exclusive lock on name+".lock", the lock file of the
// file name in dir, waiting at most wait for another holder. The lock
// file is created through dir, so it
// lands in the directory that was checked whatever is swapped into the
// path, and given to create; it is only ever opened read-only, without
// following a symlink and without blocking on a FIFO, and used only if it
// is a regular file.
func lockIn(ctx context.Context, dir *os.Root, name string, wait time.Duration, create owner) (unlock func(), err error) {
	lockName := name + ".lock"
	path := filepath.Join(dir.Name(), lockName)
	// O_EXCL: a new file is never created through a symlink.
	lf, err := dir.OpenFile(lockName, os.O_RDONLY|os.O_CREATE|os.O_EXCL, NewFileMode)
	switch {
	case err == nil:
		err = create.give(path, lf.Chown)
		_ = lf.Close()
		if err != nil {
			return nil, err
		}
	case !errors.Is(err, fs.ErrExist):
		return nil, fmt.Errorf("create lock file %s: %w", path, err)
	}
	st, err := dir.Lstat(lockName)
	if err != nil {
		return nil, fmt.Errorf("stat lock file %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("lock file %s is not a regular file but %s; remove it", path, userfile.Kind(st.Mode()))
	}
	// flock opens by name; without O_CREATE it cannot create anything
	// elsewhere, and what it opened is checked to be st below.
	l := flock.New(path, flock.SetFlag(os.O_RDONLY|userfile.NoFollowNonBlock))
	ok, err := l.TryLock()
	if err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		ctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		// On failure Wait has handed l to its background call, which
		// closes it: l must not be touched here any more.
		if err := filelock.Wait(ctx, l); errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%s is being edited by another process: its lock %s was not released within %s; run the command again once that process has finished", filepath.Join(dir.Name(), name), path, wait)
		} else if err != nil {
			return nil, fmt.Errorf("wait for lock %s: %w", path, err)
		}
	}
	if lst, err := l.Stat(); err != nil || !os.SameFile(st, lst) {
		_ = l.Close()
		return nil, fmt.Errorf("lock file %s changed while being opened; run the command again", path)
	}
	return func() { _ = l.Close() }, nil
}

// openDir opens the directory that will hold the file, creating the
// missing ones (given to create), as an os.Root: every later step goes through it, so a
// symlink swapped into the path after Read cannot redirect the write or
// the lock file. It
// must still be the directory Read checked.
func (f *File) openDir(create owner) (*os.Root, error) {
	dir, err := os.OpenRoot(f.dir)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", f.dir, err)
	}
	if st, err := dir.Stat("."); err != nil || !os.SameFile(st, f.dirInfo) {
		dir.Close()
		return nil, fmt.Errorf("%s changed while being edited; run the command again", f.dir)
	}
	rel, err := filepath.Rel(f.dir, filepath.Dir(f.real))
	if err != nil || !filepath.IsLocal(rel) {
		dir.Close()
		return nil, fmt.Errorf("%s is not below %s", f.real, f.dir)
	}
	if rel == "." {
		return dir, nil
	}
	for _, c := range split(rel) {
		err := dir.Mkdir(c, NewDirMode)
		switch {
		case err == nil:
			err = create.give(filepath.Join(dir.Name(), c), func(uid, gid int) error { return dir.Lchown(c, uid, gid) })
		case errors.Is(err, fs.ErrExist):
			err = nil
		}
		if err != nil {
			dir.Close()
			return nil, fmt.Errorf("create %s: %w", filepath.Join(dir.Name(), c), err)
		}
		sub, err := dir.OpenRoot(c)
		dir.Close()
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", filepath.Join(f.dir, rel), err)
		}
		dir = sub
	}
	return dir, nil
}

// writeIn replaces the target's content atomically, in dir (the directory
// openDir returned): a temporary file in the same directory, synced, given
// the original mode (and owner, when root edits a user's file; create, when
// the file is new), then renamed over the target. A crash leaves either
// the old or the new file, never a truncated one.
func (f *File) writeIn(dir *os.Root, data []byte, create owner) (err error) {
	name := filepath.Base(f.real)
	tmp, tmpName, err := createTemp(dir, "."+name+".tmp-")
	if err != nil {
		return fmt.Errorf("create temporary file in %s: %w", dir.Name(), err)
	}
	shown := filepath.Join(dir.Name(), tmpName)
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = dir.Remove(tmpName)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", shown, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", shown, err)
	}
	own := create
	if f.Exists {
		own = f.owner
	}
	if err := own.give(shown, tmp.Chown); err != nil {
		return err
	}
	if err := tmp.Chmod(f.Mode); err != nil {
		return fmt.Errorf("chmod %s: %w", shown, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", shown, err)
	}
	if err := dir.Rename(tmpName, name); err != nil {
		return fmt.Errorf("replace %s: %w", f.real, err)
	}
	f.Exists, f.Raw = true, data
	return nil
}

// createTemp is os.CreateTemp inside dir: a new file (O_EXCL, so never
// through a symlink or over a planted file), private until chmod.
func createTemp(dir *os.Root, prefix string) (*os.File, string, error) {
	for try := 0; ; try++ {
		name := prefix + strconv.FormatUint(rand.Uint64(), 36)
		fh, err := dir.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, NewFileMode)
		if errors.Is(err, fs.ErrExist) && try < 100 {
			continue
		}
		return fh, name, err
	}
}

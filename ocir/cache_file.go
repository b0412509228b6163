package ocir

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"

	"github.com/ocir-credential-helper/ocir-credential-helper/internal/filelock"
	"github.com/ocir-credential-helper/ocir-credential-helper/internal/userfile"
)

// fileCache is the cache when caching is on: entries and memos in memory
// and, when dir is set and usable (an absolute path, a directory of this
// user's that nobody else can enter), as private files there, so that the
// next process finds them; federated sessions only there (the Provider
// keeps this process's sessions itself). A directory that cannot be used
// leaves the cache working from memory only.
type fileCache struct {
	dir string // "" means memory only
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*cacheEntry // by entry file name
	memos   map[string]memo        // by memo file name

	dirOnce sync.Once
	dirOK   bool
}

func newFileCache(dir string, log *slog.Logger, now func() time.Time) *fileCache {
	return &fileCache{dir: dir, log: log, now: now, entries: map[string]*cacheEntry{}, memos: map[string]memo{}}
}

// usable prepares the cache directory (0700). It returns false when
// the directory cannot be used; callers then work from memory only.
func (c *fileCache) usable() bool {
	if c.dir == "" {
		return false
	}
	c.dirOnce.Do(func() {
		c.dirOK = c.prepare()
	})
	return c.dirOK
}

func (c *fileCache) prepare() bool {
	if err := userfile.Absolute(c.dir); err != nil {
		c.log.Warn("token cache directory unusable, caching in memory only", "dir", c.dir, "err", err)
		return false
	}
	// Only a directory we create is ours to shape; an existing one with
	// loose permissions (say OCIR_CACHE_DIR=/tmp) is used for nothing.
	if err := mkdirOwned(c.dir); err != nil {
		c.log.Info("token cache directory unusable, caching in memory only", "dir", c.dir, "err", err)
		return false
	}
	// Lstat: a symlink in place of the cache directory is not followed.
	fi, err := os.Lstat(c.dir)
	if err == nil && !fi.IsDir() {
		err = fmt.Errorf("not a directory but %s", userfile.Kind(fi.Mode()))
	}
	if err != nil {
		c.log.Info("token cache directory unusable, caching in memory only", "dir", c.dir, "err", err)
		return false
	}
	if !ownedByMe(fi) {
		c.log.Warn("token cache directory belongs to another user, caching in memory only", "dir", c.dir)
		return false
	}
	if !privatePerm(fi) {
		c.log.Warn("token cache directory is accessible to other users, caching in memory only; chmod 700 it or choose another OCIR_CACHE_DIR", "dir", c.dir, "mode", fi.Mode().Perm())
		return false
	}
	return true
}

// mkdirOwned creates dir (0700) and any missing parents, but only inside a
// directory that belongs to this user or to root: under sudo with the
// user's HOME, creating the user's ~/.cache owned by root would break it
// for the user.
func mkdirOwned(dir string) error {
	if _, err := os.Lstat(dir); err == nil {
		return nil
	}
	anc := filepath.Dir(dir)
	for {
		fi, err := os.Stat(anc)
		if err == nil {
			if !ownedByMeOrRoot(fi) {
				return fmt.Errorf("not creating %s inside %s, which belongs to another user", dir, anc)
			}
			break
		}
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		next := filepath.Dir(anc)
		if next == anc {
			break
		}
		anc = next
	}
	return os.MkdirAll(dir, 0o700)
}

// readPrivateFile reads a cache file only if it is a regular file of ours
// that nobody else can read; anything else is treated as absent.
func readPrivateFile(path string) ([]byte, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || !ownedByMe(fi) || !privatePerm(fi) || fi.Size() > 1<<20 {
		return nil, fmt.Errorf("%s: not a private regular file", path)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|userfile.NoFollowNonBlock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The path may have been swapped between Lstat and Open.
	if ofi, err := f.Stat(); err != nil || !os.SameFile(fi, ofi) {
		return nil, fmt.Errorf("%s changed while being opened", path)
	}
	return io.ReadAll(io.LimitReader(f, 1<<20))
}

// write writes atomically (temp file + rename, 0600) so a reader
// never sees half a token and a crash never leaves a corrupt entry.
func (c *fileCache) write(name string, data []byte) error {
	if !c.usable() {
		return errors.New("cache directory unusable")
	}
	tmp, err := os.CreateTemp(c.dir, "."+name+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if err := tmp.Chmod(0o600); err != nil && !isWindows() {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return renameReplace(tmp.Name(), filepath.Join(c.dir, name))
}

// renameReplace renames over an existing file. On Windows a concurrent
// reader makes the rename fail with a sharing violation for a moment, so it
// is retried briefly there.
func renameReplace(from, to string) error {
	err := os.Rename(from, to)
	for i := 0; err != nil && isWindows() && i < 10; i++ {
		time.Sleep(20 * time.Millisecond)
		err = os.Rename(from, to)
	}
	return err
}

// load returns the cached entry for (key, registry) from memory or
// disk, or nil. Corrupt, foreign or mismatched files are ignored.
func (c *fileCache) load(key, registry string) *cacheEntry {
	name := entryName(key, registry)
	c.mu.Lock()
	mem := c.entries[name]
	c.mu.Unlock()
	if mem != nil && mem.fresh(c.now()) {
		return mem // another process can only have a newer token, not a better one
	}
	disk := c.loadDisk(name, key, registry)
	switch {
	case disk == nil:
		return mem
	case mem == nil || disk.ExpiresAt.After(mem.ExpiresAt):
		c.remember(name, disk)
		return disk
	}
	return mem
}

func (c *fileCache) loadDisk(name, key, registry string) *cacheEntry {
	if !c.usable() {
		return nil
	}
	raw, err := readPrivateFile(filepath.Join(c.dir, name))
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			c.log.Info("ignoring cache file", "file", name, "err", err)
		}
		return nil
	}
	e, err := decodeEntry(raw)
	if err != nil || e.Key != key || e.Registry != registry {
		c.log.Info("ignoring corrupt cache file", "file", name, "err", err)
		return nil
	}
	return e
}

func (c *fileCache) remember(name string, e *cacheEntry) {
	c.mu.Lock()
	c.entries[name] = e
	c.mu.Unlock()
}

func (c *fileCache) store(e *cacheEntry) {
	name := entryName(e.Key, e.Registry)
	c.remember(name, e)
	if !c.usable() {
		return
	}
	raw, err := json.Marshal(e)
	if err == nil {
		err = c.write(name, raw)
	}
	if err != nil {
		c.log.Info("cannot write token cache, continuing without it", "dir", c.dir, "err", err)
	}
}

// lock takes the cross-process lock of one entry, waiting until ctx
// ends. It returns (nil, nil) when locking is impossible (no usable cache
// dir, or a lock file that is not ours): the caller then just does the work
// itself.
//
// A waiter sleeps in the kernel (a blocking flock) and wakes the moment the
// holder releases the lock — after storing its token — or dies; it never
// polls and never gives up on a live holder to send its own signed
// request. A holder is bounded by its own deadline, so the wait is too.
func (c *fileCache) lock(ctx context.Context, key, registry string) (*flock.Flock, error) {
	if !c.usable() {
		return nil, nil
	}
	path := filepath.Join(c.dir, strings.TrimSuffix(entryName(key, registry), ".json")+".lock")
	l := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDONLY|userfile.NoFollowNonBlock), flock.SetPermissions(0o600))
	ok, err := l.TryLock()
	if err != nil {
		c.log.Info("cannot lock token cache entry, fetching without it", "file", path, "err", err)
		_ = l.Close()
		return nil, nil
	}
	if !ok {
		c.log.Debug("waiting for another process fetching the same token", "registry", registry)
		if err := filelock.Wait(ctx, l); err != nil {
			return nil, err
		}
	}
	if err := checkLockFile(l); err != nil {
		c.log.Warn("ignoring token cache lock file", "file", path, "err", err)
		_ = l.Unlock()
		return nil, nil
	}
	return l, nil
}

// checkLockFile re-checks a lock file after opening it: a regular file of
// ours, private. A file left with loose permissions by an older version is
// made private.
func checkLockFile(l *flock.Flock) error {
	fi, err := l.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || !ownedByMe(fi) {
		return fmt.Errorf("%s is not a regular file of this user", l.Path())
	}
	if privatePerm(fi) || isWindows() {
		return nil
	}
	// Chmod goes by name: make sure the name is still the file we hold.
	if lfi, err := os.Lstat(l.Path()); err != nil || !os.SameFile(fi, lfi) {
		return fmt.Errorf("%s changed while being opened", l.Path())
	}
	return os.Chmod(l.Path(), 0o600)
}

// list returns valid cached entries, from disk and memory, without tokens.
func (c *fileCache) list() []CacheEntry {
	now := c.now()
	seen := map[string]CacheEntry{}
	c.mu.Lock()
	for name, e := range c.entries {
		if e.valid(now) {
			seen[name] = CacheEntry{Registry: e.Registry, Identity: e.Identity, ExpiresAt: e.ExpiresAt}
		}
	}
	c.mu.Unlock()
	if c.dir != "" {
		names, _ := filepath.Glob(filepath.Join(c.dir, "*.json"))
		for _, path := range names {
			raw, err := readPrivateFile(path)
			if err != nil {
				continue
			}
			e, err := decodeEntry(raw)
			if err != nil || !e.valid(now) || filepath.Base(path) != entryName(e.Key, e.Registry) {
				continue
			}
			seen[filepath.Base(path)] = CacheEntry{Registry: e.Registry, Identity: e.Identity, ExpiresAt: e.ExpiresAt, Path: path}
		}
	}
	out := make([]CacheEntry, 0, len(seen))
	for _, e := range seen {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Registry != out[j].Registry {
			return out[i].Registry < out[j].Registry
		}
		return out[i].Identity < out[j].Identity
	})
	return out
}

func (c *fileCache) remove(match func(*cacheEntry) bool, all bool) error {
	c.mu.Lock()
	for name, e := range c.entries {
		if match(e) {
			delete(c.entries, name)
		}
	}
	if all {
		c.memos = map[string]memo{}
	}
	c.mu.Unlock()
	return removeFiles(c.dir, match, all)
}

// recall returns the memo stored under name for key while it holds. A memo
// dated more than slack in the future (the clock moved back) is ignored.
func (c *fileCache) recall(name, key string, slack time.Duration) (memo, bool) {
	c.mu.Lock()
	m, ok := c.memos[name]
	c.mu.Unlock()
	if !ok && c.usable() {
		raw, err := readPrivateFile(filepath.Join(c.dir, name))
		ok = err == nil && json.Unmarshal(raw, &m) == nil
	}
	now := c.now()
	if !ok || m.Key != key || !now.Before(m.Until) || m.Since.After(now.Add(slack)) {
		return memo{}, false
	}
	return m, true
}

// memorize stores a memo for ttl, in memory and on disk.
func (c *fileCache) memorize(name, key string, ttl time.Duration, cause error) {
	now := c.now()
	m := memo{Key: key, Since: now, Until: now.Add(ttl), Err: cause.Error()}
	c.mu.Lock()
	c.memos[name] = m
	c.mu.Unlock()
	if c.usable() {
		raw, _ := json.Marshal(m)
		if err := c.write(name, raw); err != nil {
			c.log.Debug("cannot write memo", "file", name, "err", err)
		}
	}
}

// forget drops a memo.
func (c *fileCache) forget(name string) {
	c.mu.Lock()
	delete(c.memos, name)
	c.mu.Unlock()
	if c.usable() {
		_ = os.Remove(filepath.Join(c.dir, name))
	}
}

func (c *fileCache) loadSession(key string) *session {
	if !c.usable() {
		return nil
	}
	name := sessionFileName(key)
	raw, err := readPrivateFile(filepath.Join(c.dir, name))
	if err != nil {
		return nil
	}
	s, err := decodeSession(raw)
	if err != nil || s.Identity != key {
		c.log.Info("ignoring session file", "file", name, "err", err)
		return nil
	}
	if !s.usable(c.now()) {
		return nil
	}
	return s
}

// storeSession writes s to the cache directory (0600, atomic) for the
// next processes.
func (c *fileCache) storeSession(s *session) {
	if !c.usable() {
		return
	}
	der, err := x509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		return
	}
	out := *s
	out.KeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	raw, err := json.Marshal(&out)
	if err == nil {
		err = c.write(sessionFileName(s.Identity), raw)
	}
	if err != nil {
		c.log.Info("cannot write the session to the cache, continuing without it", "dir", c.dir, "err", err)
	}
}

// removeSession deletes the session file of identity key.
func (c *fileCache) removeSession(key string) {
	if c.usable() {
		_ = os.Remove(filepath.Join(c.dir, sessionFileName(key)))
	}
}

// removeFiles removes from dir the entry files match selects and, with
// all, every memo and session file. Only files that are provably ours are
// removed, whatever directory OCIR_CACHE_DIR points at; lock files stay:
// another process may hold one.
func removeFiles(dir string, match func(*cacheEntry) bool, all bool) error {
	if dir == "" {
		return nil
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return err
	}
	var errs []error
	for _, path := range names {
		// Only files that are provably ours are removed, whatever
		// directory OCIR_CACHE_DIR points at.
		raw, err := readPrivateFile(path)
		if err != nil {
			continue
		}
		if all && isMemoFile(filepath.Base(path)) {
			var m memo
			if json.Unmarshal(raw, &m) != nil || m.Key == "" {
				continue
			}
		} else if all && isSessionFile(filepath.Base(path)) {
			if _, err := decodeSession(raw); err != nil {
				continue
			}
		} else {
			e, err := decodeEntry(raw)
			if err != nil || filepath.Base(path) != entryName(e.Key, e.Registry) || !match(e) {
				continue
			}
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("clear token cache in %s: %w", dir, err)
	}
	return nil
}

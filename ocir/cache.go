package ocir

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/gofrs/flock"
)

// cacheFormat is bumped whenever the file layout changes; files of another
// format are ignored and replaced.
const cacheFormat = 1

// cacheEntry is one cached OCIR token, one file per (identity, registry).
type cacheEntry struct {
	Format    int       `json:"format"`
	Key       string    `json:"key"` // identity cache key, never a secret
	Registry  string    `json:"registry"`
	Identity  string    `json:"identity"`
	Token     string    `json:"token"`
	IssuedAt  time.Time `json:"issuedAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// RefreshMargin is how long before expiry a cached token is replaced:
// max(5 minutes, 25% of the token's lifetime), but never more than half the
// lifetime, so a short-lived token (OCIR may omit expires_in: 60 s) is
// still cached for a while instead of being fetched on every call. Front
// ends use it to tell their callers how long an answer may be cached.
func RefreshMargin(lifetime time.Duration) time.Duration {
	m := lifetime / 4
	if m < 5*time.Minute {
		m = 5 * time.Minute
	}
	if m > lifetime/2 {
		m = lifetime / 2
	}
	return m
}

// maxTokenLifetime caps the lifetime of a token, from the network or from
// disk: OCIR issues tokens for an hour; anything beyond a week is not a
// token to trust (and would have the kubelet cache it for years).
const maxTokenLifetime = 7 * 24 * time.Hour

// futureSlack is how far in the future an entry's issue time may lie (a
// clock stepped back a little) before the entry is distrusted.
const futureSlack = time.Minute

func (e *cacheEntry) fresh(now time.Time) bool {
	return e.valid(now) && e.ExpiresAt.Sub(now) > RefreshMargin(e.ExpiresAt.Sub(e.IssuedAt))
}

// valid: still accepted by OCIR (with a little slack for the request in
// flight), though maybe due for refresh. An entry issued in the future or
// living longer than maxTokenLifetime was not written by a sane clock or by
// us, and is never valid.
func (e *cacheEntry) valid(now time.Time) bool {
	return e.ExpiresAt.Sub(now) > 10*time.Second && !e.IssuedAt.After(now.Add(futureSlack)) &&
		e.ExpiresAt.Sub(e.IssuedAt) <= maxTokenLifetime
}

// entryName is the file name of an entry: readable host prefix, then a hash
// of identity key and registry so different identities never collide.
func entryName(key, registry string) string {
	sum := sha256.Sum256([]byte(key + "\x00" + registry))
	return strings.NewReplacer(":", "_", "[", "", "]", "").Replace(registry) + "-" + hex.EncodeToString(sum[:12]) + ".json"
}

// cacheDirUsable prepares the cache directory (0700). It returns false when
// the directory cannot be used; callers then work from memory only.
func (p *Provider) cacheDirUsable() bool {
	if !p.cacheOn || p.cacheDir == "" {
		return false
	}
	p.state.dirOnce.Do(func() {
		p.state.dirOK = p.prepareCacheDir()
	})
	return p.state.dirOK
}

func (p *Provider) prepareCacheDir() bool {
	if !filepath.IsAbs(p.cacheDir) {
		p.log.Warn("token cache directory is not an absolute path, caching in memory only", "dir", p.cacheDir)
		return false
	}
	// Only a directory we create is ours to shape; an existing one with
	// loose permissions (say OCIR_CACHE_DIR=/tmp) is used for nothing.
	if err := mkdirOwned(p.cacheDir); err != nil {
		p.log.Info("token cache directory unusable, caching in memory only", "dir", p.cacheDir, "err", err)
		return false
	}
	// Lstat: a symlink in place of the cache directory is not followed.
	fi, err := os.Lstat(p.cacheDir)
	if err != nil || !fi.IsDir() {
		p.log.Info("token cache directory unusable, caching in memory only", "dir", p.cacheDir, "err", err)
		return false
	}
	if !ownedByMe(fi) {
		p.log.Warn("token cache directory belongs to another user, caching in memory only", "dir", p.cacheDir)
		return false
	}
	if !privatePerm(fi) {
		p.log.Warn("token cache directory is accessible to other users, caching in memory only; chmod 700 it or choose another OCIR_CACHE_DIR", "dir", p.cacheDir, "mode", fi.Mode().Perm())
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
	f, err := os.Open(path)
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

// writeCacheFile writes atomically (temp file + rename, 0600) so a reader
// never sees half a token and a crash never leaves a corrupt entry.
func (p *Provider) writeCacheFile(name string, data []byte) error {
	if !p.cacheDirUsable() {
		return errors.New("cache directory unusable")
	}
	tmp, err := os.CreateTemp(p.cacheDir, "."+name+".tmp-*")
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
	return renameReplace(tmp.Name(), filepath.Join(p.cacheDir, name))
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

// loadEntry returns the cached entry for (key, registry) from memory or
// disk, or nil. Corrupt, foreign or mismatched files are ignored.
func (p *Provider) loadEntry(key, registry string) *cacheEntry {
	if !p.cacheOn {
		return nil
	}
	name := entryName(key, registry)
	p.state.mu.Lock()
	mem := p.state.entries[name]
	p.state.mu.Unlock()
	if mem != nil && mem.fresh(p.now()) {
		return mem // another process can only have a newer token, not a better one
	}
	disk := p.loadDiskEntry(name, key, registry)
	switch {
	case disk == nil:
		return mem
	case mem == nil || disk.ExpiresAt.After(mem.ExpiresAt):
		p.remember(name, disk)
		return disk
	}
	return mem
}

func (p *Provider) loadDiskEntry(name, key, registry string) *cacheEntry {
	if !p.cacheDirUsable() {
		return nil
	}
	raw, err := readPrivateFile(filepath.Join(p.cacheDir, name))
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			p.log.Info("ignoring cache file", "file", name, "err", err)
		}
		return nil
	}
	e, err := decodeEntry(raw)
	if err != nil || e.Key != key || e.Registry != registry {
		p.log.Info("ignoring corrupt cache file", "file", name, "err", err)
		return nil
	}
	return e
}

// decodeEntry parses and sanity-checks a cache file.
func decodeEntry(raw []byte) (*cacheEntry, error) {
	var e cacheEntry
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, err
	}
	switch {
	case e.Format != cacheFormat:
		return nil, fmt.Errorf("format %d, want %d", e.Format, cacheFormat)
	case e.Token == "" || e.Registry == "" || e.Key == "":
		return nil, errors.New("incomplete entry")
	case !e.ExpiresAt.After(e.IssuedAt):
		return nil, errors.New("expiry before issue time")
	case e.ExpiresAt.Sub(e.IssuedAt) > maxTokenLifetime:
		return nil, fmt.Errorf("lifetime %s exceeds %s", e.ExpiresAt.Sub(e.IssuedAt), maxTokenLifetime)
	}
	return &e, nil
}

func (p *Provider) remember(name string, e *cacheEntry) {
	p.state.mu.Lock()
	p.state.entries[name] = e
	p.state.mu.Unlock()
}

func (p *Provider) storeEntry(e *cacheEntry) {
	if !p.cacheOn {
		return
	}
	name := entryName(e.Key, e.Registry)
	p.remember(name, e)
	if !p.cacheDirUsable() {
		return
	}
	raw, err := json.Marshal(e)
	if err == nil {
		err = p.writeCacheFile(name, raw)
	}
	if err != nil {
		p.log.Info("cannot write token cache, continuing without it", "dir", p.cacheDir, "err", err)
	}
}

// lockEntry takes the cross-process lock of one entry, waiting until ctx
// ends. It returns (nil, nil) when locking is impossible (no usable cache
// dir, or a lock file that is not ours): the caller then just does the work
// itself.
//
// A waiter sleeps in the kernel (a blocking flock) and wakes the moment the
// holder releases the lock — after storing its token — or dies; it never
// polls and never gives up on a live holder to send its own signed
// request. A holder is bounded by its own deadline, so the wait is too.
func (p *Provider) lockEntry(ctx context.Context, key, registry string) (*flock.Flock, error) {
	if !p.cacheDirUsable() {
		return nil, nil
	}
	path := filepath.Join(p.cacheDir, strings.TrimSuffix(entryName(key, registry), ".json")+".lock")
	l := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDONLY|lockNoFollow), flock.SetPermissions(0o600))
	ok, err := l.TryLock()
	if err != nil {
		p.log.Info("cannot lock token cache entry, fetching without it", "file", path, "err", err)
		_ = l.Close()
		return nil, nil
	}
	if !ok {
		p.log.Debug("waiting for another process fetching the same token", "registry", registry)
		if err := waitLock(ctx, l); err != nil {
			return nil, withRegistry(deadlineError(ctx, registry, p.timeout, errors.New("waited for another process fetching the same token")), registry)
		}
	}
	if err := checkLockFile(l); err != nil {
		p.log.Warn("ignoring token cache lock file", "file", path, "err", err)
		_ = l.Unlock()
		return nil, nil
	}
	return l, nil
}

// waitLock blocks in the kernel until l is locked or ctx ends. On ctx's
// end the blocked call is left to finish in the background and releases
// the lock at once when it gets it.
func waitLock(ctx context.Context, l *flock.Flock) error {
	got := make(chan error, 1)
	go func() {
		var err error
		for {
			// A blocking flock can be interrupted by a signal the Go
			// runtime uses for itself; that is no reason to stop waiting.
			if err = l.Lock(); !errors.Is(err, syscall.EINTR) {
				break
			}
		}
		got <- err
	}()
	select {
	case err := <-got:
		return err
	case <-ctx.Done():
		go func() {
			if <-got == nil {
				_ = l.Unlock()
			}
			_ = l.Close()
		}()
		return ctx.Err()
	}
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
func (p *Provider) list() ([]CacheEntry, error) {
	now := p.now()
	seen := map[string]CacheEntry{}
	p.state.mu.Lock()
	for name, e := range p.state.entries {
		if e.valid(now) {
			seen[name] = CacheEntry{Registry: e.Registry, Identity: e.Identity, ExpiresAt: e.ExpiresAt}
		}
	}
	p.state.mu.Unlock()
	if p.cacheOn && p.cacheDir != "" {
		names, _ := filepath.Glob(filepath.Join(p.cacheDir, "*.json"))
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
	return out, nil
}

// clear removes every cached token (memory and disk), the federated
// sessions and the remembered metadata probe result. Lock files stay: another process may hold one.
func (p *Provider) clear() error {
	return p.removeEntries(func(*cacheEntry) bool { return true }, true)
}

func (p *Provider) drop(serverURL string) error {
	reg, err := p.recognize(serverURL)
	if err != nil {
		return err
	}
	return p.removeEntries(func(e *cacheEntry) bool { return e.Registry == reg.Host }, false)
}

func (p *Provider) removeEntries(match func(*cacheEntry) bool, all bool) error {
	p.state.mu.Lock()
	for name, e := range p.state.entries {
		if match(e) {
			delete(p.state.entries, name)
		}
	}
	if all {
		p.state.memos = map[string]memo{}
		p.state.sessions = map[string]*session{}
	}
	p.state.mu.Unlock()
	if p.cacheDir == "" {
		return nil
	}
	names, err := filepath.Glob(filepath.Join(p.cacheDir, "*.json"))
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
		return fmt.Errorf("clear token cache in %s: %w", p.cacheDir, err)
	}
	return nil
}

//go:build !windows

package ocir

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Lock files are private, never followed through a symlink, and a loose
// one from an older version is tightened.
func TestLockFilesArePrivate(t *testing.T) {
	w := startWorld(t)
	p := w.provider()
	if !w.cache().usable() {
		t.Fatal("cache dir unusable")
	}
	name := strings.TrimSuffix(entryName("k", "iad.ocir.io"), ".json") + ".lock"
	path := filepath.Join(w.cacheDir, name)
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o644)
	l, err := p.lockEntry(context.Background(), "k", "iad.ocir.io")
	if err != nil || l == nil {
		t.Fatalf("lock: %v", err)
	}
	l.Unlock()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("loose lock file stays %v", fi.Mode().Perm())
	}
	// A symlink planted in place of a lock file is not followed.
	target := filepath.Join(t.TempDir(), "target")
	os.WriteFile(target, nil, 0o644)
	name2 := strings.TrimSuffix(entryName("k2", "iad.ocir.io"), ".json") + ".lock"
	if err := os.Symlink(target, filepath.Join(w.cacheDir, name2)); err != nil {
		t.Fatal(err)
	}
	if l, err := p.lockEntry(context.Background(), "k2", "iad.ocir.io"); err != nil || l != nil {
		t.Errorf("symlinked lock: %v, %v; want no lock and no error", l, err)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o644 {
		t.Error("the symlink target was changed")
	}
	// A freshly created lock file is 0600 whatever the umask.
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	l, err = p.lockEntry(context.Background(), "k3", "iad.ocir.io")
	if err != nil || l == nil {
		t.Fatal(err)
	}
	l.Unlock()
	fi, _ := os.Stat(filepath.Join(w.cacheDir, strings.TrimSuffix(entryName("k3", "iad.ocir.io"), ".json")+".lock"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("new lock file mode %v", fi.Mode().Perm())
	}
}

// The cache directory is never created inside another user's directory,
// and a symlink in its place is not used.
func TestCacheDirNeverCreatedInsideAnotherUsersDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root to make a directory belong to another user")
	}
	w := startWorld(t)
	userHome := filepath.Join(t.TempDir(), "user")
	os.Mkdir(userHome, 0o755)
	if err := os.Chown(userHome, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(userHome, ".cache", "ocir-credential-helper")
	p := w.provider(WithCacheDir(dir))
	mustCredential(t, p, "iad.ocir.io")
	if _, err := os.Lstat(filepath.Join(userHome, ".cache")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the user's ~/.cache was created by root: %v", err)
	}
	// A symlink in place of the cache directory is not used.
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "cache")
	os.Symlink(real, link)
	p = w.provider(WithCacheDir(link))
	mustCredential(t, p, "iad.ocir.io")
	if files, _ := filepath.Glob(filepath.Join(real, "*.json")); len(files) != 0 {
		t.Errorf("wrote through the symlinked cache dir: %v", files)
	}
}

// A FIFO planted where a lock file or a cache entry belongs is neither
// waited on nor read: opening it would block until a writer comes, past
// every deadline and signal. The lookup goes on without the cache.
func TestFIFOsInTheCacheDirNeverBlock(t *testing.T) {
	w := startWorld(t)
	mustCredential(t, w.provider(), "iad.ocir.io")
	locks, _ := filepath.Glob(filepath.Join(w.cacheDir, "*.lock"))
	if len(locks) == 0 {
		t.Fatal("the lookup left no lock file to replace")
	}
	for _, lock := range locks {
		entry := strings.TrimSuffix(lock, ".lock") + ".json"
		for _, path := range []string{lock, entry} {
			os.Remove(path)
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := w.e.Count("token")
	done := make(chan error, 1)
	go func() {
		_, err := w.provider().Credential(context.Background(), "iad.ocir.io")
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("lookup with FIFOs in the cache dir: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocked on a FIFO in the cache directory")
	}
	if got := w.e.Count("token") - before; got != 1 {
		t.Errorf("token requests = %d, want 1 (fetched without the cache)", got)
	}
}

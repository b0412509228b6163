package ocir

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gofrs/flock"
)

// tokenCache keeps OCIR tokens, remembered negative answers (memos) and
// federated sessions between calls and processes. Whether caching is on is
// decided once, in New: a fileCache (memory, and a private directory when
// one is set) or a nullCache that keeps nothing.
type tokenCache interface {
	// load returns the entry of (identity key, registry), or nil.
	load(key, registry string) *cacheEntry
	// store keeps e.
	store(e *cacheEntry)
	// lock takes the cross-process lock of (key, registry), waiting until
	// ctx ends; (nil, nil) means locking is impossible and the caller does
	// the work itself. err is ctx's end while waiting.
	lock(ctx context.Context, key, registry string) (*flock.Flock, error)
	// recall returns the memo stored under name for key while it holds; a
	// memo dated more than slack in the future is ignored.
	recall(name, key string, slack time.Duration) (memo, bool)
	// memorize stores a memo for ttl.
	memorize(name, key string, ttl time.Duration, cause error)
	// forget drops a memo.
	forget(name string)
	// loadSession returns a usable stored session of identity key, or nil.
	loadSession(key string) *session
	// storeSession keeps s for the next processes.
	storeSession(s *session)
	// removeSession drops the stored session of identity key.
	removeSession(key string)
	// list returns the valid entries, without tokens.
	list() []CacheEntry
	// remove drops the entries match selects and, with all, every memo and
	// session, from memory and from the directory.
	remove(match func(*cacheEntry) bool, all bool) error
}

// newCache is the cache for the cache setting: on (memory, plus dir when
// not "") or off.
func newCache(on bool, dir string, log *slog.Logger, now func() time.Time) tokenCache {
	if !on {
		return nullCache{dir: dir}
	}
	return newFileCache(dir, log, now)
}

// nullCache is the cache when caching is off: nothing is kept, nothing is
// read back, no lock is taken. Clearing still removes what an earlier run
// with caching on left in dir, so that "cache clear" works either way.
type nullCache struct{ dir string }

func (nullCache) load(string, string) *cacheEntry { return nil }
func (nullCache) store(*cacheEntry)               {}
func (nullCache) lock(context.Context, string, string) (*flock.Flock, error) {
	return nil, nil
}
func (nullCache) recall(string, string, time.Duration) (memo, bool) { return memo{}, false }
func (nullCache) memorize(string, string, time.Duration, error)     {}
func (nullCache) forget(string)                                     {}
func (nullCache) loadSession(string) *session                       { return nil }
func (nullCache) storeSession(*session)                             {}
func (nullCache) removeSession(string)                              {}
func (nullCache) list() []CacheEntry                                { return []CacheEntry{} }
func (c nullCache) remove(match func(*cacheEntry) bool, all bool) error {
	return removeFiles(c.dir, match, all)
}

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
	return fileSafeHost(registry) + "-" + hex.EncodeToString(sum[:12]) + ".json"
}

// fileSafeHost makes a canonical host usable in a file name on every
// platform: a port's ":" becomes "_" and an IPv6 literal's brackets go.
// (A loop, not a strings.Replacer: this runs once per process, and
// building a Replacer costs more than the whole replacement.)
func fileSafeHost(host string) string {
	b := make([]byte, 0, len(host))
	for i := 0; i < len(host); i++ {
		switch c := host[i]; c {
		case ':':
			b = append(b, '_')
		case '[', ']':
		default:
			b = append(b, c)
		}
	}
	return string(b)
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

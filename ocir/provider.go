// Package ocir turns an OCI identity into short-lived OCIR bearer
// credentials. It is the one token provider behind both front ends
// (docker-credential-ocir and ocir-credential-provider) and knows nothing
// about either; Go programs use it directly or through ocir/keychain.
//
// Build a Provider with NewFromEnv (the binaries' environment contract) or
// New with options, ask it for a Credential, and branch on the error kinds
// (ErrNotOCIRHost, ErrNoIdentity, ErrIdentityBroken, ErrAuth,
// ErrTransient) with errors.Is. List, Clear and Drop manage the token
// cache; Explain says which identity a call would use, for diagnostics.
//
// New has no side effects: the Provider reads no files, makes no network
// calls and writes nothing until it is asked for something. NewFromEnv and
// NewFromSettings read the config file and open OCIR_LOG_FILE before they
// return, so that a bad setup is reported at once; they make no network
// call either.
package ocir

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/gofrs/flock"
	"github.com/oracle/oci-go-sdk/v65/common"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

// Username is the fixed user name OCIR expects with a bearer token.
const Username = "BEARER_TOKEN"

// Credential is a registry login obtained from OCIR.
type Credential struct {
	Registry  string    // canonical registry host the credential is for
	Username  string    // always BEARER_TOKEN
	Secret    string    // the OCIR token
	IssuedAt  time.Time // when OCIR issued Secret (with ExpiresAt: its lifetime)
	ExpiresAt time.Time // when OCIR stops accepting Secret
}

// ErrCacheMiss is returned by a WithCacheOnly call when no fresh token is
// cached. It is no failure of the identity; the caller goes on the normal way.
var ErrCacheMiss = errors.New("no fresh token cached")

// Provider obtains OCIR credentials. It is safe for concurrent use. It is
// a thin orchestrator: host recognition (recognize.go), identities
// (identity*.go), the token cache (cache*.go), federated sessions
// (session.go) and the signed token call (token.go) are parts of their own.
type Provider struct {
	log       *slog.Logger
	http      *http.Client
	proxy     func(*url.URL) (*url.URL, error) // nil: the process environment's
	now       func() time.Time
	cacheDir  string
	cacheOn   bool
	timeout   time.Duration
	cfg       *config.File
	getenv    func(string) string
	userAgent string
	dmiPath   string      // firmware file naming an OCI instance
	closer    *onceCloser // what NewFromSettings opened; see Close

	// cache keeps tokens, memos and sessions; whether caching is on is
	// decided here, once, when New picks its kind.
	cache tokenCache

	mu       sync.Mutex
	keys     map[string]common.KeyProvider // built token-based principals by identity key
	sessions map[string]*session           // federated sessions by identity key

	// newSessionKey generates an instance principal's session key (tests
	// count the calls); spareKey is one generated (or being generated) for
	// a federation that failed before sending it, see keepSessionKey.
	newSessionKey func() (*rsa.PrivateKey, error)
	spareKey      chan sessionKeyResult

	clientOnce sync.Once
	client     *http.Client
	clientErr  error

	regionsOnce sync.Once
	loaded      *registry.Table // see table

	// warnedSecrets holds the secret files others can read that the log
	// has warned about (see readSecret).
	warnedSecrets sync.Map
}

// New returns a Provider. It does nothing else. A Provider must come from
// New (or NewFromEnv, NewFromSettings): the methods of the zero value or of
// a nil *Provider fail with ErrIdentityBroken.
func New(opts ...Option) *Provider {
	p := &Provider{
		log:       slog.New(slog.DiscardHandler),
		now:       time.Now,
		cacheOn:   true,
		timeout:   config.DefaultTimeout,
		cfg:       &config.File{},
		getenv:    os.Getenv,
		userAgent: "ocir-credential-helper",
		dmiPath:   chassisAssetTagPath,
		newSessionKey: func() (*rsa.PrivateKey, error) {
			return rsa.GenerateKey(rand.Reader, sessionKeyBits)
		},
	}
	applyOptions(p, opts)
	p.cache = newCache(p.cacheOn, p.cacheDir, p.log, p.now)
	p.keys = map[string]common.KeyProvider{}
	p.sessions = map[string]*session{}
	return p
}

// Registry resolves serverURL to a recognised OCIR host (or configured
// mirror) without any network call. The error matches ErrNotOCIRHost, or
// ErrIdentityBroken when the config file declares the host with a region
// that is not known.
func (p *Provider) Registry(serverURL string) (registry.Registry, error) {
	return p.recognize(serverURL)
}

// Credential returns OCIR credentials for serverURL, from the cache when a
// token with enough life is cached, otherwise from OCIR. The host is
// recognised first: one that is not OCIR fails with ErrNotOCIRHost before
// anything is signed or sent. The identity, which keys the cache, is then
// resolved from local files and the environment only, so a cache hit makes
// no network call.
func (p *Provider) Credential(ctx context.Context, serverURL string, opts ...RequestOption) (Credential, error) {
	req := &request{}
	for _, o := range opts {
		if o != nil { // as with Option, nil is no change
			o(req)
		}
	}
	reg, err := p.recognize(serverURL)
	if err != nil {
		return Credential{}, err
	}
	id, err := p.resolveIdentity(reg, req)
	if err != nil {
		return Credential{}, withRegistry(err, reg.Host)
	}
	// The cause tells our own deadline (OCIR_TIMEOUT) from the caller's
	// cancellation (a signal) in the error the user reads.
	ctx, cancel := context.WithTimeoutCause(ctx, p.timeout, errOwnDeadline)
	defer cancel()

	if !req.forceRefresh {
		if e := p.cache.load(id.cacheKey, reg.Host); e != nil && e.fresh(p.now()) {
			p.log.Debug("token from cache", "registry", reg.Host, "identity", id.describe, "expires", e.ExpiresAt)
			return toCredential(e), nil
		}
	}
	if req.cacheOnly {
		return Credential{}, ErrCacheMiss
	}
	if m, ok := p.recentFailure(id.cacheKey, reg.Host); ok && !req.forceRefresh {
		return p.staleOr(id, reg, failureError(m, reg.Host))
	}
	// One process fetches; the others wait here and then find its result.
	lock, err := p.lockEntry(ctx, id.cacheKey, reg.Host)
	if err != nil {
		return p.staleOr(id, reg, err)
	}
	if lock != nil {
		defer lock.Unlock()
	}
	// Whoever held the lock has stored a token, or failed slowly: either
	// way its answer is ours, without a signed request of our own.
	if !req.forceRefresh {
		if e := p.cache.load(id.cacheKey, reg.Host); e != nil && e.fresh(p.now()) {
			return toCredential(e), nil
		}
		if m, ok := p.recentFailure(id.cacheKey, reg.Host); ok {
			return p.staleOr(id, reg, failureError(m, reg.Host))
		}
	}
	started := time.Now()
	client, err := p.HTTPClient()
	if err != nil {
		return p.staleOr(id, reg, withRegistry(err, reg.Host))
	}
	call := tokenCall{client: client, userAgent: p.userAgent, now: p.now, log: p.log, timeout: p.timeout,
		key: func(ctx context.Context) (common.KeyProvider, error) { return p.buildKey(ctx, id) }}
	e, err := call.fetch(ctx, reg, id)
	if err != nil {
		p.rememberFailure(ctx, id.cacheKey, reg.Host, err, time.Since(started))
		if errors.Is(err, ErrAuth) && id.shareSession {
			p.dropSession(id.cacheKey)
		}
		return p.staleOr(id, reg, err)
	}
	p.forgetFailure(id.cacheKey, reg.Host)
	p.cache.store(e)
	p.log.Debug("new token", "registry", reg.Host, "identity", id.describe, "expires", e.ExpiresAt)
	return toCredential(e), nil
}

// staleOr serves a cached token that is due for refresh but still valid
// when the refresh failed; an expired token is never served.
func (p *Provider) staleOr(id *identity, reg registry.Registry, err error) (Credential, error) {
	if e := p.cache.load(id.cacheKey, reg.Host); e != nil && e.valid(p.now()) {
		p.log.Warn("token refresh failed, using cached token while it is valid", "registry", reg.Host, "expires", e.ExpiresAt, "err", err)
		return toCredential(e), nil
	}
	return Credential{}, err
}

func toCredential(e *cacheEntry) Credential {
	return Credential{Registry: e.Registry, Username: Username, Secret: e.Token, IssuedAt: e.IssuedAt, ExpiresAt: e.ExpiresAt}
}

// lockEntry takes the cross-process lock of (key, registry) from the
// cache; a wait cut short by ctx is reported as the call's deadline.
func (p *Provider) lockEntry(ctx context.Context, key, registry string) (*flock.Flock, error) {
	l, err := p.cache.lock(ctx, key, registry)
	if err != nil {
		return nil, withRegistry(deadlineError(ctx, registry, p.timeout, errors.New("waited for another process fetching the same token")), registry)
	}
	return l, nil
}

// CacheEntry describes one cached token, without the token.
type CacheEntry struct {
	Registry  string    // canonical registry host
	Identity  string    // human description of the identity, e.g. "api_key profile DEFAULT"
	ExpiresAt time.Time // when OCIR stops accepting the token
	Path      string    // file on disk, "" for memory-only entries
}

// List returns the cached entries that are still valid. It never touches
// the network.
func (p *Provider) List() ([]CacheEntry, error) {
	if err := p.built(); err != nil {
		return nil, err
	}
	return p.cache.list(), nil
}

// Clear removes every cached token (memory and disk), the federated
// sessions and the remembered negative answers. Lock files stay: another
// process may hold one.
func (p *Provider) Clear() error {
	if err := p.built(); err != nil {
		return err
	}
	p.mu.Lock()
	p.sessions = map[string]*session{}
	p.mu.Unlock()
	return p.cache.remove(func(*cacheEntry) bool { return true }, true)
}

// Drop removes cached tokens for one registry host (any server-URL form).
func (p *Provider) Drop(serverURL string) error {
	reg, err := p.recognize(serverURL)
	if err != nil {
		return err
	}
	return p.cache.remove(func(e *cacheEntry) bool { return e.Registry == reg.Host }, false)
}

// applyOptions applies opts to p, skipping nil ones.
func applyOptions(p *Provider, opts []Option) {
	for _, o := range opts {
		if o != nil {
			o(p)
		}
	}
}

// errNotBuilt is the cause of every call on a Provider New did not build.
var errNotBuilt = errors.New("the ocir.Provider was not built by ocir.New or ocir.NewFromEnv")

// built fails for the zero Provider and a nil *Provider (for instance one
// behind a non-nil interface), which would otherwise panic deep inside.
func (p *Provider) built() error {
	if p == nil || p.cache == nil {
		return &Error{Kind: ErrIdentityBroken, Err: errNotBuilt, Hint: "create it with ocir.New or ocir.NewFromEnv"}
	}
	return nil
}

func isWindows() bool { return runtime.GOOS == "windows" }

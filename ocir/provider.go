// Package ocir turns an OCI identity into short-lived OCIR bearer
// credentials. It is the one token provider behind both front ends
// (docker-credential-ocir and ocir-credential-provider) and knows nothing
// about either.
//
// A Provider has no side effects at construction: it reads no files, makes no
// network calls and writes nothing until Credential is called.
package ocir

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"time"

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

// Option configures a Provider.
type Option func(*Provider)

// WithLogger sets the logger; the default discards everything.
func WithLogger(l *slog.Logger) Option { return func(p *Provider) { p.log = l } }

// WithHTTPClient sets the client used for token calls (not for the
// instance metadata probe, which must bypass proxies).
func WithHTTPClient(c *http.Client) Option { return func(p *Provider) { p.http = c } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(p *Provider) { p.now = now } }

// WithCacheDir sets the on-disk cache directory; "" means memory only.
func WithCacheDir(dir string) Option { return func(p *Provider) { p.cacheDir = dir } }

// WithCache turns caching (memory and disk) on or off.
func WithCache(on bool) Option { return func(p *Provider) { p.cacheOn = on } }

// WithTimeout bounds one Credential call, retries included.
func WithTimeout(d time.Duration) Option { return func(p *Provider) { p.timeout = d } }

// WithConfig sets the parsed config file (rules and mirrors).
func WithConfig(f *config.File) Option { return func(p *Provider) { p.cfg = f } }

// WithGetenv replaces os.Getenv for identity discovery (OCI_CLI_*, OCI_*),
// proxies and trust roots. The OCI SDK's own principal constructors
// (instance, resource, OKE workload identity) still read the process
// environment for the variables they document.
func WithGetenv(getenv func(string) string) Option { return func(p *Provider) { p.getenv = getenv } }

// WithRegions sets the region table; the default is the SDK's regions plus
// OCI_REGION_METADATA and ~/.oci/regions-config.json, loaded lazily.
func WithRegions(t *registry.Table) Option { return func(p *Provider) { p.regions = t } }

// WithUserAgent sets the User-Agent of token requests, e.g.
// "docker-credential-ocir/1.2.0", so OCI audit logs name the tool.
func WithUserAgent(ua string) Option { return func(p *Provider) { p.userAgent = ua } }

// WithSettings applies the OCIR_* environment contract in one go.
func WithSettings(s config.Settings) Option {
	return func(p *Provider) {
		p.timeout = s.Timeout
		p.cacheOn = s.Cache
		p.cacheDir = s.CacheDir
	}
}

// RequestOption adjusts a single Credential call.
type RequestOption func(*request)

type request struct {
	saToken      string
	saAnnotation map[string]string
	forceRefresh bool
	cacheOnly    bool
}

// WithServiceAccountToken makes the call use OKE workload identity with this
// projected service-account token (handed over by the kubelet) instead of
// the process's own identity.
func WithServiceAccountToken(jwt string, annotations map[string]string) RequestOption {
	return func(r *request) { r.saToken, r.saAnnotation = jwt, annotations }
}

// WithForceRefresh ignores a cached token and fetches a new one.
func WithForceRefresh() RequestOption { return func(r *request) { r.forceRefresh = true } }

// WithCacheOnly answers from a fresh cached token or fails with
// ErrCacheMiss, without resolving anything over the network and without
// taking locks: a front end's warm path tries it before doing any other
// work. The cache key is the same as for every other call.
func WithCacheOnly() RequestOption { return func(r *request) { r.cacheOnly = true } }

// ErrCacheMiss is returned by a WithCacheOnly call when no fresh token is
// cached. It is no failure of the identity; the caller goes on the normal way.
var ErrCacheMiss = errors.New("no fresh token cached")

// Provider obtains OCIR credentials. It is safe for concurrent use.
type Provider struct {
	log       *slog.Logger
	http      *http.Client
	now       func() time.Time
	cacheDir  string
	cacheOn   bool
	timeout   time.Duration
	cfg       *config.File
	getenv    func(string) string
	regions   *registry.Table
	userAgent string
	closer    *onceCloser // what NewFromSettings opened; see Close

	state *state // lazily initialised mutable state (memory cache, probes)
}

// New returns a Provider. It does nothing else.
func New(opts ...Option) *Provider {
	p := &Provider{
		log:       slog.New(slog.DiscardHandler),
		now:       time.Now,
		cacheOn:   true,
		timeout:   config.DefaultTimeout,
		cfg:       &config.File{},
		getenv:    os.Getenv,
		userAgent: "ocir-credential-helper",
	}
	for _, o := range opts {
		o(p)
	}
	p.state = newState()
	return p
}

// Registry resolves serverURL to a recognised OCIR host (or configured
// mirror) without any network call. The error matches ErrNotOCIRHost.
func (p *Provider) Registry(serverURL string) (registry.Registry, error) {
	return p.recognize(serverURL)
}

// Credential returns OCIR credentials for serverURL, from the cache when a
// token with enough life is cached (no identity resolution, no network),
// otherwise from OCIR.
func (p *Provider) Credential(ctx context.Context, serverURL string, opts ...RequestOption) (Credential, error) {
	return p.credential(ctx, serverURL, opts...)
}

// CacheEntry describes one cached token, without the token.
type CacheEntry struct {
	Registry  string
	Identity  string // human description of the identity, e.g. "api_key profile DEFAULT"
	ExpiresAt time.Time
	Path      string // file on disk, "" for memory-only entries
}

// List returns the cached entries that are still valid. It never touches
// the network.
func (p *Provider) List() ([]CacheEntry, error) { return p.list() }

// Clear removes every cached token.
func (p *Provider) Clear() error { return p.clear() }

// Drop removes cached tokens for one registry host (any server-URL form).
func (p *Provider) Drop(serverURL string) error { return p.drop(serverURL) }

// Explanation says which identity a Credential call would use and why.
type Explanation struct {
	Registry    string       // canonical host
	Auth        string       // api_key, security_token, instance_principal, …
	Reason      string       // why this identity was chosen
	ConfigFile  string       // OCI config file consulted, if any
	Profile     string       // profile used, if any
	Region      string       // region of the identity, if known
	RuleMatched string       // config-file rule that decided, if any
	Cached      *CacheEntry  // cache entry for this registry, if any
	Metadata    MetadataInfo // instance metadata service probe
	IdentityErr error        // identity resolution error, if any
	TokenURL    string       // where the token would be requested
	// Federation describes workload identity federation (domain, client,
	// subject source and claims; never a token or secret), else nil.
	Federation   *FederationInfo
	CacheEnabled bool
	CacheDir     string
}

// MetadataInfo reports the instance metadata probe.
type MetadataInfo struct {
	Probed    bool
	URL       string
	Reachable bool
	Region    string
	Err       error
}

// Explain resolves the identity for serverURL without fetching a token.
// It may probe the instance metadata service.
func (p *Provider) Explain(ctx context.Context, serverURL string) (Explanation, error) {
	return p.explain(ctx, serverURL)
}

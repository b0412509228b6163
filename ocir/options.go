package ocir

import (
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
)

// Option configures a Provider. A nil Option is ignored.
type Option func(*Provider)

// WithLogger sets the logger; the default, and a nil l, discard everything.
func WithLogger(l *slog.Logger) Option {
	return func(p *Provider) {
		if l == nil {
			l = slog.New(slog.DiscardHandler)
		}
		p.log = l
	}
}

// WithHTTPClient sets the client used for token calls (not for the
// instance metadata probe, which must bypass proxies); nil means one built
// from the environment, as without the option.
func WithHTTPClient(c *http.Client) Option { return func(p *Provider) { p.http = c } }

// withClock replaces time.Now, for tests.
func withClock(now func() time.Time) Option {
	return func(p *Provider) {
		if now == nil {
			now = time.Now
		}
		p.now = now
	}
}

// WithCacheDir sets the on-disk cache directory; "" means memory only.
func WithCacheDir(dir string) Option { return func(p *Provider) { p.cacheDir = dir } }

// WithCache turns caching (memory and disk) on or off.
func WithCache(on bool) Option { return func(p *Provider) { p.cacheOn = on } }

// WithTimeout bounds one Credential call, retries included. A d of zero
// or less means the default (config.DefaultTimeout), never no bound: a
// call without one could wait on a dead endpoint forever.
func WithTimeout(d time.Duration) Option {
	return func(p *Provider) {
		if d <= 0 {
			d = config.DefaultTimeout
		}
		p.timeout = d
	}
}

// WithConfig sets the parsed config file (rules and mirrors); nil means no
// config file.
func WithConfig(f *config.File) Option {
	return func(p *Provider) {
		if f == nil {
			f = &config.File{}
		}
		p.cfg = f
	}
}

// WithGetenv replaces os.Getenv for identity discovery (OCI_CLI_*, OCI_*)
// and trust roots. The OCI SDK's own principal constructors (instance,
// resource, OKE workload identity) still read the process environment for
// the variables they document, and proxies come from the process
// environment as net/http reads it, unless WithProxy says otherwise. A nil
// getenv means os.Getenv.
func WithGetenv(getenv func(string) string) Option {
	return func(p *Provider) {
		if getenv == nil {
			getenv = os.Getenv
		}
		p.getenv = getenv
	}
}

// WithProxy sets the proxy for requests to OCI and to registries: it returns
// the proxy URL for a request's URL, nil for a direct connection. The
// default is net/http's ProxyFromEnvironment (HTTPS_PROXY, HTTP_PROXY,
// NO_PROXY of the process, read once), also when proxy is nil. Whatever it says, the instance
// metadata service and loopback hosts are always reached directly.
func WithProxy(proxy func(*url.URL) (*url.URL, error)) Option {
	return func(p *Provider) { p.proxy = proxy }
}

// WithUserAgent sets the User-Agent of token requests, e.g.
// "docker-credential-ocir/1.2.0", so OCI audit logs name the tool.
func WithUserAgent(ua string) Option { return func(p *Provider) { p.userAgent = ua } }

// withSettings applies the OCIR_* environment contract in one go.
func withSettings(s config.Settings) Option {
	return func(p *Provider) {
		p.timeout = s.Timeout
		p.cacheOn = s.Cache
		p.cacheDir = s.CacheDir
	}
}

// withDMIPath replaces the firmware file that tells an OCI instance
// (chassisAssetTagPath), for tests.
func withDMIPath(path string) Option { return func(p *Provider) { p.dmiPath = path } }

// RequestOption adjusts a single Credential call; a nil one is ignored.
type RequestOption func(*request)

type request struct {
	saToken      string
	saAnnotation map[string]string
	forceRefresh bool
	cacheOnly    bool
}

// WithServiceAccountToken makes the call use this projected
// service-account token (handed over by the kubelet) instead of the
// process's own identity: for OKE workload identity, or as the subject token
// when workload identity federation is the configured identity.
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

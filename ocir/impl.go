package ocir

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/ocicli"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

// state is the mutable part of a Provider, created by New.
type state struct {
	mu       sync.Mutex
	entries  map[string]*cacheEntry        // memory cache by entry file name
	memos    map[string]memo               // remembered negative answers by file name
	keys     map[string]common.KeyProvider // built token-based principals by identity key
	sessions map[string]*session           // federated sessions by identity key

	clientOnce sync.Once
	client     *http.Client
	clientErr  error

	dirOnce sync.Once
	dirOK   bool

	regionsOnce sync.Once
	table       *registry.Table

	probeTimeout time.Duration
	dmiPath      string
}

func newState() *state {
	return &state{
		entries:      map[string]*cacheEntry{},
		keys:         map[string]common.KeyProvider{},
		sessions:     map[string]*session{},
		memos:        map[string]memo{},
		probeTimeout: metadataProbeTimeout,
		dmiPath:      chassisAssetTagPath,
	}
}

func isWindows() bool { return runtime.GOOS == "windows" }

func (p *Provider) table() *registry.Table {
	if p.regions != nil {
		return p.regions
	}
	p.state.regionsOnce.Do(func() {
		t, err := registry.LoadTable(p.getenv, ocicli.Home(p.getenv))
		if err != nil {
			p.log.Warn("ignoring extra region metadata", "err", err)
			t = registry.DefaultTable()
		}
		p.state.table = t
	})
	return p.state.table
}

func (p *Provider) recognize(serverURL string) (registry.Registry, error) {
	host, err := registry.Host(serverURL)
	if err != nil {
		return registry.Registry{}, &Error{Kind: ErrNotOCIRHost, Err: err}
	}
	for _, m := range p.cfg.Mirrors {
		if mh, err := registry.Host(m.Host); err == nil && mh == host {
			// Signed requests go only to OCIR (or a loopback test endpoint),
			// whatever the config file says.
			if err := p.checkTokenURL(m.TokenURL); err != nil {
				return registry.Registry{}, &Error{Kind: ErrNotOCIRHost, Registry: host, Err: fmt.Errorf("mirror %s: %w", host, err)}
			}
			return registry.Registry{Host: host, Form: registry.FormMirror, TokenEndpoint: m.TokenURL}, nil
		}
	}
	reg, ok, err := p.ocirHost(host)
	if err != nil {
		return registry.Registry{}, &Error{Kind: ErrIdentityBroken, Registry: host, Err: err}
	}
	if ok {
		return reg, nil
	}
	return registry.Registry{}, &Error{Kind: ErrNotOCIRHost, Registry: host,
		Err: errors.New("OCIR hosts are <region-key>.ocir.io, <region-id>.ocir.io or ocir.<region-id>.oci.<realm-domain>")}
}

// ocirHost recognises a canonical host as OCIR: a host form of a known
// region, or a host the config file declares. err reports a declaration
// naming an unknown region.
func (p *Provider) ocirHost(host string) (registry.Registry, bool, error) {
	if reg, ok := p.table().Recognize(host); ok {
		return reg, true, nil
	}
	for _, d := range p.cfg.Hosts {
		if dh, err := registry.Host(d.Host); err != nil || dh != host || strings.Contains(dh, ":") {
			continue
		}
		r, ok := p.table().Lookup(d.Region)
		if !ok {
			return registry.Registry{}, false, fmt.Errorf("config hosts: %s names unknown region %q", d.Host, d.Region)
		}
		return registry.Registry{Host: host, Region: r, Form: registry.FormDeclared}, true, nil
	}
	return registry.Registry{}, false, nil
}

// checkTokenURL is the gate for a URL that will receive a signed request
// other than an OCIR host's own token URL: https (plain http only on
// loopback), an ASCII host that passes registry.Host, and that host an
// OCIR host (built in or declared) or loopback.
func (p *Provider) checkTokenURL(raw string) error {
	if err := config.ValidateTokenURL(raw); err != nil {
		return err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if config.IsLoopback(u.Hostname()) {
		return nil
	}
	host, err := registry.Host(u.Host)
	if err != nil {
		return err
	}
	if _, ok, _ := p.ocirHost(host); !ok {
		return fmt.Errorf("tokenURL host %s is not an OCIR host; refusing to sign for it", u.Host)
	}
	return nil
}

func (p *Provider) credential(ctx context.Context, serverURL string, opts ...RequestOption) (Credential, error) {
	req := &request{}
	for _, o := range opts {
		o(req)
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
		if e := p.loadEntry(id.cacheKey, reg.Host); e != nil && e.fresh(p.now()) {
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
		if e := p.loadEntry(id.cacheKey, reg.Host); e != nil && e.fresh(p.now()) {
			return toCredential(e), nil
		}
		if m, ok := p.recentFailure(id.cacheKey, reg.Host); ok {
			return p.staleOr(id, reg, failureError(m, reg.Host))
		}
	}
	started := time.Now()
	e, err := p.fetchToken(ctx, reg, id)
	if err != nil {
		p.rememberFailure(ctx, id.cacheKey, reg.Host, err, time.Since(started))
		if errors.Is(err, ErrAuth) && id.shareSession {
			p.dropSession(id.cacheKey)
		}
		return p.staleOr(id, reg, err)
	}
	p.forgetFailure(id.cacheKey, reg.Host)
	p.storeEntry(e)
	p.log.Debug("new token", "registry", reg.Host, "identity", id.describe, "expires", e.ExpiresAt)
	return toCredential(e), nil
}

// staleOr serves a cached token that is due for refresh but still valid
// when the refresh failed; an expired token is never served.
func (p *Provider) staleOr(id *identity, reg registry.Registry, err error) (Credential, error) {
	if e := p.loadEntry(id.cacheKey, reg.Host); e != nil && e.valid(p.now()) {
		p.log.Warn("token refresh failed, using cached token while it is valid", "registry", reg.Host, "expires", e.ExpiresAt, "err", err)
		return toCredential(e), nil
	}
	return Credential{}, err
}

func toCredential(e *cacheEntry) Credential {
	return Credential{Registry: e.Registry, Username: Username, Secret: e.Token, IssuedAt: e.IssuedAt, ExpiresAt: e.ExpiresAt}
}

func (p *Provider) explain(ctx context.Context, serverURL string) (Explanation, error) {
	reg, err := p.recognize(serverURL)
	if err != nil {
		return Explanation{}, err
	}
	ex := Explanation{Registry: reg.Host, TokenURL: reg.TokenURL(), CacheEnabled: p.cacheOn, CacheDir: p.cacheDir}
	id, err := p.resolveIdentity(reg, &request{})
	if err != nil {
		ex.IdentityErr = err
	} else {
		ex.Auth, ex.Reason, ex.ConfigFile, ex.Profile, ex.Region, ex.RuleMatched = id.auth, id.reason, id.configFile, id.profile, id.region, id.rule
		if e := p.loadEntry(id.cacheKey, reg.Host); e != nil && e.valid(p.now()) {
			ex.Cached = &CacheEntry{Registry: e.Registry, Identity: e.Identity, ExpiresAt: e.ExpiresAt}
		}
		if id.federation != nil {
			ex.Federation = id.federation(ctx)
		}
	}
	if (id != nil && id.auth == AuthInstancePrincipal) || p.instancePrincipalPlausible() || errors.Is(err, ErrNoIdentity) {
		ex.Metadata.Probed, ex.Metadata.URL = true, p.metadataBaseURL()
		region, err := p.fetchMetadataRegion(ctx, ex.Metadata.URL)
		ex.Metadata.Reachable, ex.Metadata.Region, ex.Metadata.Err = err == nil, region, err
		if id != nil && id.auth == AuthInstancePrincipal && ex.Region == "" {
			ex.Region = region
		}
	}
	if ex.Reason == "" && id != nil {
		ex.Reason = strings.TrimSpace(id.describe)
	}
	return ex, nil
}

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
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

// state is the mutable part of a Provider, created by New.
type state struct {
	mu      sync.Mutex
	entries map[string]*cacheEntry        // memory cache by entry file name
	memos   map[string]memo               // remembered negative answers by file name
	keys    map[string]common.KeyProvider // built token-based principals by identity key

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
		t, err := registry.LoadTable(p.getenv, p.home())
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
			u, err := url.Parse(m.TokenURL)
			if err != nil {
				return registry.Registry{}, &Error{Kind: ErrNotOCIRHost, Registry: host, Err: err}
			}
			if _, ok := p.table().Recognize(strings.ToLower(u.Host)); !ok && !config.IsLoopback(u.Hostname()) {
				return registry.Registry{}, &Error{Kind: ErrNotOCIRHost, Registry: host,
					Err: fmt.Errorf("mirror %s: tokenURL host %s is not an OCIR host; refusing to sign for it", host, u.Host)}
			}
			return registry.Registry{Host: host, Form: registry.FormMirror, TokenEndpoint: m.TokenURL}, nil
		}
	}
	if reg, ok := p.table().Recognize(host); ok {
		return reg, nil
	}
	return registry.Registry{}, &Error{Kind: ErrNotOCIRHost, Registry: host,
		Err: errors.New("OCIR hosts are <region-key>.ocir.io, <region-id>.ocir.io or ocir.<region-id>.oci.<realm-domain>")}
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
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()

	if !req.forceRefresh {
		if e := p.loadEntry(id.cacheKey, reg.Host); e != nil && e.fresh(p.now()) {
			p.log.Debug("token from cache", "registry", reg.Host, "identity", id.describe, "expires", e.ExpiresAt)
			return toCredential(e), nil
		}
	}
	if m, ok := p.recentFailure(id.cacheKey); ok && !req.forceRefresh {
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
	// Whoever held the lock (or kept it too long) may have stored a token.
	if !req.forceRefresh {
		if e := p.loadEntry(id.cacheKey, reg.Host); e != nil && e.fresh(p.now()) {
			return toCredential(e), nil
		}
	}
	started := time.Now()
	e, err := p.fetchToken(ctx, reg, id)
	if err != nil {
		if errors.Is(err, ErrTransient) {
			p.rememberFailure(id.cacheKey, err, time.Since(started))
		}
		return p.staleOr(id, reg, err)
	}
	p.forgetFailure(id.cacheKey)
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

package ocir

import (
	"context"
	"errors"
	"strings"
	"time"
)

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
	CacheEnabled bool   // the token cache is on (WithCache)
	CacheDir     string // its directory, "" for memory only
}

// MetadataInfo reports the instance metadata probe.
type MetadataInfo struct {
	Probed    bool   // probed at all: for instance principals, on a sign of an OCI instance, or without any identity
	URL       string // the metadata service's base URL
	Reachable bool   // it answered with a region
	Region    string // the instance's region, when reachable
	Err       error  // why it did not answer, when probed and unreachable
}

// Explain resolves the identity for serverURL without fetching a token, for
// a front end's diagnostics (doctor). It may probe the instance metadata
// service.
func (p *Provider) Explain(ctx context.Context, serverURL string) (Explanation, error) {
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
		if e := p.cache.load(id.cacheKey, reg.Host); e != nil && e.valid(p.now()) {
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

// FederationInfo describes a workload identity federation setup for doctor.
// It never holds the subject token, the session token or the secret.
type FederationInfo struct {
	DomainURL     string    // the IAM identity domain that exchanges the subject token (OCIR_WIF_DOMAIN_URL)
	ClientID      string    // the OAuth client the exchange authenticates as (OCIR_WIF_CLIENT_ID)
	TokenType     string    // upst or rpst
	SubjectSource string    // where the subject token comes from
	Tried         []string  // sources tried when none was found
	Issuer        string    // the subject token's iss claim
	Subject       string    // its sub claim (the CI job or workload it names)
	Audience      []string  // its aud claim, which the identity domain checks
	Expires       time.Time // its exp claim
	Err           error     // the subject token could not be obtained or read
}

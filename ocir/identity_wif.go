package ocir

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/ocicli"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

// Token exchange wire constants (OAuth 2.0 token exchange as OCI IAM
// identity domains implement it).
const (
	wifTokenPath     = "/oauth2/v1/token"
	wifGrantType     = "urn:ietf:params:oauth:grant-type:token-exchange"
	wifUPST          = "urn:oci:token-type:oci-upst"
	wifRPST          = "urn:oci:token-type:oci-rpst"
	wifSubjectType   = "jwt"
	wifMaxBody       = 64 << 10 // domain answers, CI answers, token and secret files
	wifSessionKeyLen = 2048     // as `oci session authenticate` generates
	// wifRenewBefore: a session this close to its end is exchanged anew
	// rather than used for another signature.
	wifRenewBefore = 2 * time.Minute
)

// wifSettings are the OCIR_WIF_* variables, overridden field by field by a
// config-file rule's federation block.
type wifSettings struct {
	domain, clientID               string
	secret, secretFile, secretFrom string
	tokenFile, envToken, audience  string
	tokenType, resType             string
	actionsURL, actionsToken       string
}

func (p *Provider) wifSettings(rule *config.Rule) (wifSettings, error) {
	s := wifSettings{
		domain:       strings.TrimSpace(p.getenv("OCIR_WIF_DOMAIN_URL")),
		clientID:     strings.TrimSpace(p.getenv("OCIR_WIF_CLIENT_ID")),
		secret:       strings.TrimSpace(p.getenv("OCIR_WIF_CLIENT_SECRET")),
		secretFile:   p.getenv("OCIR_WIF_CLIENT_SECRET_FILE"),
		tokenFile:    p.getenv("OCIR_WIF_TOKEN_FILE"),
		envToken:     strings.TrimSpace(p.getenv("OCIR_WIF_TOKEN")),
		audience:     p.getenv("OCIR_WIF_AUDIENCE"),
		tokenType:    strings.ToLower(strings.TrimSpace(p.getenv("OCIR_WIF_TOKEN_TYPE"))),
		resType:      strings.TrimSpace(p.getenv("OCIR_WIF_RES_TYPE")),
		actionsURL:   p.getenv("ACTIONS_ID_TOKEN_REQUEST_URL"),
		actionsToken: p.getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
	}
	if s.secret != "" && s.secretFile != "" {
		return s, broken("set either OCIR_WIF_CLIENT_SECRET or OCIR_WIF_CLIENT_SECRET_FILE, not both")
	}
	s.secretFrom = "OCIR_WIF_CLIENT_SECRET"
	if s.secretFile != "" {
		s.secretFrom = "OCIR_WIF_CLIENT_SECRET_FILE " + s.secretFile
	}
	if rule != nil && rule.Federation != nil {
		f := rule.Federation
		override := func(dst *string, v string) {
			if v != "" {
				*dst = v
			}
		}
		override(&s.domain, f.DomainURL)
		override(&s.clientID, f.ClientID)
		override(&s.tokenFile, f.TokenFile)
		override(&s.audience, f.Audience)
		override(&s.tokenType, strings.ToLower(f.TokenType))
		override(&s.resType, f.ResType)
		if f.ClientSecretFile != "" {
			s.secret, s.secretFile, s.secretFrom = "", f.ClientSecretFile, "clientSecretFile "+f.ClientSecretFile+" of the config rule"
		}
	}
	s.secretFile = ocicli.ExpandHome(s.secretFile, ocicli.Home(p.getenv))
	s.tokenFile = ocicli.ExpandHome(s.tokenFile, ocicli.Home(p.getenv))
	var missing []string
	if s.domain == "" {
		missing = append(missing, "OCIR_WIF_DOMAIN_URL (the identity domain URL, https://idcs-<id>.identity.oraclecloud.com)")
	}
	if s.clientID == "" {
		missing = append(missing, "OCIR_WIF_CLIENT_ID (the confidential application's client ID)")
	}
	if s.secret == "" && s.secretFile == "" {
		missing = append(missing, "OCIR_WIF_CLIENT_SECRET or OCIR_WIF_CLIENT_SECRET_FILE")
	}
	if len(missing) > 0 {
		return s, &Error{Kind: ErrIdentityBroken, Err: fmt.Errorf("workload identity federation is missing %s", strings.Join(missing, ", ")),
			Hint: "see docs/ci.md for the identity domain setup (confidential application with the token exchange grant, identity propagation trust)"}
	}
	domain, err := config.DomainURL(s.domain)
	if err != nil {
		return s, broken("OCIR_WIF_DOMAIN_URL: %w", err)
	}
	s.domain = domain
	if err := config.ValidateTokenType(s.tokenType, s.resType); err != nil {
		return s, broken("OCIR_WIF_TOKEN_TYPE: %w", err)
	}
	if s.tokenType == "" {
		s.tokenType = "upst"
	}
	return s, nil
}

// wifSubject is where the subject token comes from.
type wifSubject struct {
	source string
	// key is the stable part of the cache key: the subject's iss and sub,
	// or, for GitHub Actions (whose token is only known after a request),
	// the job's request URL and the audience.
	key    string
	claims map[string]any // known without a network call, else nil
	get    func(ctx context.Context) (string, error)
}

// wifSubjectSource picks the subject token source: the kubelet's
// service-account token (SA mode: per-pod identity, so it wins),
// OCIR_WIF_TOKEN_FILE, GitHub Actions, OCIR_WIF_TOKEN.
func (p *Provider) wifSubjectSource(s wifSettings, saToken string) (*wifSubject, []string, error) {
	fromJWT := func(source, jwt string) (*wifSubject, error) {
		c, ok := jwtClaims(jwt)
		if !ok {
			return nil, broken("the subject token from %s is not a JWT", source)
		}
		iss, _ := c["iss"].(string)
		sub, _ := c["sub"].(string)
		if sub == "" {
			return nil, broken("the subject token from %s has no sub claim", source)
		}
		return &wifSubject{source: source, key: iss + "|" + sub, claims: c,
			get: func(context.Context) (string, error) { return jwt, nil }}, nil
	}
	var tried []string
	if saToken != "" {
		sub, err := fromJWT("the service-account token handed over by the kubelet", saToken)
		return sub, nil, err
	}
	tried = append(tried, "OCIR_WIF_TOKEN_FILE")
	if s.tokenFile != "" {
		path := s.tokenFile
		jwt, err := p.readSubjectFile(path)
		if err != nil {
			return nil, nil, err
		}
		sub, err := fromJWT("OCIR_WIF_TOKEN_FILE "+path, jwt)
		if err != nil {
			return nil, nil, err
		}
		// Re-read for every exchange: kubelet and CI rotate the file.
		sub.get = func(context.Context) (string, error) { return p.readSubjectFile(path) }
		return sub, nil, nil
	}
	tried = append(tried, "GitHub Actions (ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN)")
	if s.actionsURL != "" && s.actionsToken != "" {
		u, err := actionsRequestURL(s.actionsURL, s.audience)
		if err != nil {
			return nil, nil, err
		}
		source := "GitHub Actions OIDC (ACTIONS_ID_TOKEN_REQUEST_URL)"
		if s.audience != "" {
			source = "GitHub Actions OIDC (ACTIONS_ID_TOKEN_REQUEST_URL, audience " + s.audience + ")"
		}
		return &wifSubject{
			source: source,
			key:    "github-actions|" + s.actionsURL + "|" + s.audience,
			get:    func(ctx context.Context) (string, error) { return p.actionsToken(ctx, u, s.actionsToken) },
		}, nil, nil
	}
	tried = append(tried, "OCIR_WIF_TOKEN")
	if s.envToken != "" {
		sub, err := fromJWT("OCIR_WIF_TOKEN", s.envToken)
		return sub, nil, err
	}
	return nil, tried, &Error{Kind: ErrIdentityBroken,
		Err: fmt.Errorf("workload identity federation: no subject token found (tried %s)", strings.Join(tried, ", ")),
		Hint: "GitHub Actions: give the job `permissions: id-token: write`; GitLab CI: write an id_tokens token to a file and set OCIR_WIF_TOKEN_FILE; " +
			"Kubernetes: use the kubelet's service-account token mode (--service-account-audience) or a projected token file"}
}

// readSubjectFile reads a subject token file: regular (symlinks followed,
// as Kubernetes projects tokens through them), bounded, never blocking on a
// FIFO, with a warning if others can read it (see readSecret).
func (p *Provider) readSubjectFile(path string) (string, error) {
	raw, err := p.readSecret(path, "subject token", wifMaxBody)
	if err != nil {
		return "", broken("OCIR_WIF_TOKEN_FILE: %w", err)
	}
	tok := strings.TrimSpace(string(raw))
	if tok == "" {
		return "", broken("OCIR_WIF_TOKEN_FILE %s is empty", path)
	}
	return tok, nil
}

// wifIdentity builds the workload identity federation identity for a
// registry. Resolution reads local files only; the GitHub Actions request
// and the exchange happen in build, after the cache was consulted.
func (p *Provider) wifIdentity(reg registry.Registry, rule *config.Rule, saToken string) (*identity, error) {
	s, err := p.wifSettings(rule)
	if err != nil {
		return nil, err
	}
	info := &FederationInfo{DomainURL: s.domain, ClientID: s.clientID, TokenType: s.tokenType}
	subj, tried, err := p.wifSubjectSource(s, saToken)
	if err != nil {
		return nil, err
	}
	info.SubjectSource, info.Tried = subj.source, tried
	region := p.getenv("OCI_CLI_REGION")
	if region == "" {
		region = reg.Region.ID
	}
	domainHost := strings.TrimPrefix(strings.TrimPrefix(s.domain, "https://"), "http://")
	who := "the subject of the GitHub Actions token"
	if sub, ok := subj.claims["sub"].(string); ok {
		who = sub
	}
	return &identity{
		auth:     AuthWorkloadIdentityFederation,
		describe: "workload_identity_federation for " + who + " via " + domainHost,
		cacheKey: strings.Join([]string{AuthWorkloadIdentityFederation, s.domain, s.clientID, s.tokenType, s.resType, subj.key}, "|"),
		region:   region,
		hint401: fmt.Sprintf("OCIR did not accept the session that identity domain %s issued for %s: check that the domain's identity propagation trust "+
			"maps this subject to a service user (impersonation) and that an IAM policy lets that user read repos (see docs/ci.md)", domainHost, who),
		build: func(ctx context.Context) (common.KeyProvider, error) {
			return p.federate(ctx, s, subj)
		},
		federation: func(ctx context.Context) *FederationInfo {
			out := *info
			claims := subj.claims
			if claims == nil {
				jwt, err := subj.get(ctx)
				if err != nil {
					out.Err = err
					return &out
				}
				claims, _ = jwtClaims(jwt)
			}
			out.Issuer, _ = claims["iss"].(string)
			out.Subject, _ = claims["sub"].(string)
			switch a := claims["aud"].(type) {
			case string:
				out.Audience = []string{a}
			case []any:
				for _, v := range a {
					if s, ok := v.(string); ok {
						out.Audience = append(out.Audience, s)
					}
				}
			}
			if exp, ok := claims["exp"].(float64); ok {
				out.Expires = time.Unix(int64(exp), 0)
			}
			return &out
		},
	}, nil
}

// wifKey signs with the session from the exchange: keyId ST$<session>.
type wifKey struct {
	session string
	key     *rsa.PrivateKey
	expires time.Time
}

func (k *wifKey) KeyID() (string, error)                  { return "ST$" + k.session, nil }
func (k *wifKey) PrivateRSAKey() (*rsa.PrivateKey, error) { return k.key, nil }
func (k *wifKey) validUntil() time.Time                   { return k.expires.Add(-wifRenewBefore) }

// sessionEnding reports whether a memoised key provider's session is about
// to end, so it must be built anew (the SDK's own principals renew
// themselves; a federated session does not).
func sessionEnding(kp common.KeyProvider, now time.Time) bool {
	s, ok := kp.(interface{ validUntil() time.Time })
	return ok && !now.Before(s.validUntil())
}

// federate obtains the subject token, generates a session key and
// exchanges the token for a session bound to that key.
func (p *Provider) federate(ctx context.Context, s wifSettings, subj *wifSubject) (common.KeyProvider, error) {
	secret := s.secret
	if s.secretFile != "" {
		raw, err := p.readSecret(s.secretFile, "client secret", wifMaxBody)
		if err != nil {
			return nil, broken("client secret (%s): %w", s.secretFrom, err)
		}
		if secret = strings.TrimSpace(string(raw)); secret == "" {
			return nil, broken("client secret file %s is empty", s.secretFile)
		}
	}
	jwt, err := subj.get(ctx)
	if err != nil {
		return nil, err
	}
	if exp, ok := jwtExpiry(jwt); ok && !exp.After(p.now()) {
		return nil, &Error{Kind: ErrAuth, Err: fmt.Errorf("the subject token from %s expired at %s", subj.source, exp.UTC().Format(time.RFC3339)),
			Hint: "subject tokens live minutes: request or write a fresh one right before the pull (GitLab id_tokens, a projected service-account token file)"}
	}
	key, err := rsa.GenerateKey(rand.Reader, wifSessionKeyLen)
	if err != nil {
		return nil, broken("generate session key: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, broken("encode session key: %w", err)
	}
	form := url.Values{
		"grant_type":           {wifGrantType},
		"requested_token_type": {wifUPST},
		"subject_token":        {jwt},
		"subject_token_type":   {wifSubjectType},
		"public_key":           {base64.StdEncoding.EncodeToString(der)},
	}
	if s.tokenType == "rpst" {
		form.Set("requested_token_type", wifRPST)
		form.Set("res_type", s.resType)
	}
	session, err := p.exchange(ctx, s, secret, form, subj.source)
	if err != nil {
		return nil, err
	}
	exp, ok := jwtExpiry(session)
	if !ok {
		return nil, &Error{Kind: ErrTransient, Err: fmt.Errorf("identity domain %s answered a session token without exp", s.domain)}
	}
	return &wifKey{session: session, key: key, expires: exp}, nil
}

// exchange sends the one form POST of the token exchange through the
// provider's HTTP client (proxy, trust roots, timeouts) under ctx, retrying
// only throttling, server errors and network failures. The SDK's own
// exchange client is not used: it drops the domain's error text and can
// cancel its context before the answer is read.
func (p *Provider) exchange(ctx context.Context, s wifSettings, secret string, form url.Values, source string) (string, error) {
	client, err := p.HTTPClient()
	if err != nil {
		return "", err
	}
	endpoint := s.domain + wifTokenPath
	body := form.Encode()
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
		if err != nil {
			return "", broken("token exchange: %w", err)
		}
		req.SetBasicAuth(s.clientID, secret)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", p.userAgent)
		p.log.Debug("token exchange at the identity domain", "domain", s.domain, "client", s.clientID, "subject", source, "attempt", attempt+1)
		tok, retry, err := p.readExchange(client, req, s, source)
		if err == nil || !retry {
			return tok, err
		}
		wait := backoff(attempt)
		if dl, ok := ctx.Deadline(); ctx.Err() != nil || (ok && time.Until(dl) < wait) {
			return "", err
		}
		p.log.Info("token exchange failed, retrying", "domain", s.domain, "in", wait.Round(time.Millisecond), "err", err)
		select {
		case <-ctx.Done():
			return "", err
		case <-time.After(wait):
		}
	}
}

// oauthError is an OAuth error answer.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// readExchange makes one attempt and classifies its answer.
func (p *Provider) readExchange(client *http.Client, req *http.Request, s wifSettings, source string) (token string, retry bool, err error) {
	resp, err := client.Do(req)
	if err != nil {
		return "", true, &Error{Kind: ErrTransient, Err: fmt.Errorf("token exchange at %s: %w", s.domain, err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, wifMaxBody))
	if err != nil {
		return "", true, &Error{Kind: ErrTransient, Err: fmt.Errorf("token exchange at %s: read answer: %w", s.domain, err)}
	}
	if resp.StatusCode == http.StatusOK {
		var ok struct {
			Token string `json:"token"`
		}
		if json.Unmarshal(raw, &ok) != nil || ok.Token == "" {
			return "", false, &Error{Kind: ErrTransient, Err: fmt.Errorf("token exchange at %s: the answer has no token", s.domain),
				Hint: "is a proxy intercepting the request, or is OCIR_WIF_DOMAIN_URL not an identity domain?"}
		}
		return ok.Token, false, nil
	}
	var oe oauthError
	_ = json.Unmarshal(raw, &oe)
	text := strings.TrimSpace(strings.TrimSpace(oe.Error + ": " + oe.Description))
	if oe.Error == "" {
		text = strings.TrimSpace(string(raw))
		if len(text) > 200 {
			text = text[:200] + "…"
		}
	}
	status := fmt.Errorf("token exchange at %s: HTTP %d: %s", s.domain, resp.StatusCode, text)
	lower := strings.ToLower(oe.Description)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return "", true, &Error{Kind: ErrTransient, Err: status}
	case resp.StatusCode == http.StatusUnauthorized || oe.Error == "invalid_client":
		return "", false, &Error{Kind: ErrAuth, Err: status,
			Hint: fmt.Sprintf("the identity domain does not know client %s with this secret (%s): check OCIR_WIF_CLIENT_ID and the secret, and that the confidential application is activated and allows the token exchange grant", s.clientID, s.secretFrom)}
	case resp.StatusCode == http.StatusNotFound:
		return "", false, &Error{Kind: ErrAuth, Err: status,
			Hint: "OCIR_WIF_DOMAIN_URL must be the identity domain's URL (Domain URL on the domain's details page), https://idcs-<id>.identity.oraclecloud.com"}
	case strings.Contains(lower, "expired"):
		return "", false, &Error{Kind: ErrAuth, Err: status,
			Hint: "the subject token from " + source + " expired: request or write a fresh one right before the pull"}
	case strings.Contains(lower, "audience"):
		return "", false, &Error{Kind: ErrAuth, Err: status,
			Hint: "the subject token's audience is not the one the identity propagation trust expects: set OCIR_WIF_AUDIENCE (GitHub Actions), the id_tokens aud (GitLab) or --service-account-audience (kubelet) to it"}
	case strings.Contains(lower, "issuer") || strings.Contains(lower, "trust"):
		return "", false, &Error{Kind: ErrAuth, Err: status,
			Hint: "add an identity propagation trust for this issuer (and its JWKS) in the identity domain; see docs/ci.md"}
	}
	return "", false, &Error{Kind: ErrAuth, Err: status, Hint: "the identity domain refused the exchange of the subject token from " + source}
}

// actionsRequestURL adds the audience to ACTIONS_ID_TOKEN_REQUEST_URL.
func actionsRequestURL(raw, audience string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && config.IsLoopback(u.Hostname()))) {
		return "", broken("ACTIONS_ID_TOKEN_REQUEST_URL is not an https URL")
	}
	if audience != "" {
		q := u.Query()
		q.Set("audience", audience)
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// actionsToken requests the job's OIDC token from GitHub Actions.
func (p *Provider) actionsToken(ctx context.Context, endpoint, requestToken string) (string, error) {
	client, err := p.HTTPClient()
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return "", broken("GitHub Actions ID token request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+requestToken)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", p.userAgent)
	p.log.Debug("requesting the GitHub Actions ID token", "host", req.URL.Host)
	resp, err := client.Do(req)
	if err != nil {
		return "", &Error{Kind: ErrTransient, Err: fmt.Errorf("GitHub Actions ID token request: %w", err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, wifMaxBody))
	if err != nil {
		return "", &Error{Kind: ErrTransient, Err: fmt.Errorf("GitHub Actions ID token request: %w", err)}
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return "", &Error{Kind: ErrAuth, Err: fmt.Errorf("GitHub Actions refused the ID token request: HTTP %d", resp.StatusCode),
			Hint: "the job needs `permissions: id-token: write`"}
	case resp.StatusCode != http.StatusOK:
		return "", &Error{Kind: ErrTransient, Err: fmt.Errorf("GitHub Actions ID token request: HTTP %d", resp.StatusCode)}
	}
	var v struct {
		Value string `json:"value"`
	}
	if json.Unmarshal(raw, &v) != nil || v.Value == "" {
		return "", &Error{Kind: ErrTransient, Err: errors.New("GitHub Actions ID token answer has no value")}
	}
	return v.Value, nil
}

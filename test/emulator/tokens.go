package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"
)

// tokenPath is the OCIR token service path, served on every registry host.
const tokenPath = "/20180419/docker/token"

// Lifetimes of tokens without a configurable TTL.
const (
	defaultMissingExpiry = 60 * time.Second // distribution default when expires_in is absent
	anonymousTokenTTL    = 5 * time.Minute
)

// Principal kinds recorded in IssuedToken.Kind.
const (
	KindAPIKey              = "api_key"
	KindSecurityToken       = "security_token"
	KindInstancePrincipal   = "instance_principal"
	KindResourcePrincipal   = "resource_principal"
	KindOKEWorkloadIdentity = "oke_workload_identity"
)

// IssuedToken describes an OCIR token issued by the token service.
type IssuedToken struct {
	Token     string    `json:"token"`     // the bearer token as issued
	Host      string    `json:"host"`      // registry host it was requested from (no port)
	Kind      string    `json:"kind"`      // one of the Kind* constants
	Principal string    `json:"principal"` // user, instance or resource OCID, or service account
	Expires   time.Time `json:"expires"`   // when the token service stops accepting it
}

// ocirToken is an issued OCIR token as the token service remembers it.
type ocirToken struct {
	IssuedToken
	region string
}

// registryToken is a bearer token for the registry API.
type registryToken struct {
	principal string
	anonymous bool
	access    map[string]map[string]bool // repo -> action -> granted
	expires   time.Time
}

// IssuedTokens returns the OCIR tokens issued so far, oldest first.
func (e *Emulator) IssuedTokens() []IssuedToken {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]IssuedToken(nil), e.issued...)
}

// serveToken is GET /20180419/docker/token on a registry host. An OCI
// signature gets an OCIR token; Basic BEARER_TOKEN:<ocir token> or no
// credentials (the registry's bearer realm) get a registry token.
func (e *Emulator) serveToken(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	scheme, _, _ := strings.Cut(auth, " ")
	switch strings.ToLower(scheme) {
	case "signature":
		e.serveSignedToken(w, r)
	case "basic", "":
		e.serveRegistryAuth(w, r, auth != "")
	default:
		e.count(endpointRegistryAuth, r.Host)
		if e.injectFault(w, r, endpointRegistryAuth) {
			return
		}
		e.notAuthenticated(w, r, "emulator: registry-auth: unsupported authorization scheme %q", scheme)
	}
}

// tokenResponse is the OCIR token service's success body.
type tokenResponse struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	Scope       string `json:"scope"`
	ExpiresIn   *int64 `json:"expires_in,omitempty"`
	IssuedAt    string `json:"issued_at,omitempty"`
}

// serveSignedToken verifies an OCI-signed token request and issues an OCIR
// token.
func (e *Emulator) serveSignedToken(w http.ResponseWriter, r *http.Request) {
	e.count(endpointTokenAttempts, r.Host)
	if e.injectFault(w, r, endpointToken) {
		return
	}
	body, sig, ok := e.readSigned(w, r, http.MethodGet, "token")
	if !ok {
		return
	}
	pub, kind, principal, err := e.resolveKey(sig.keyID)
	if err != nil {
		e.notAuthenticated(w, r, "emulator: token: %v", err)
		return
	}
	if err := verifySignature(r, sig, pub, []string{"date", "(request-target)", "host"}, body); err != nil {
		e.notAuthenticated(w, r, "emulator: token: %s %s: %v", kind, principal, err)
		return
	}

	ttl := time.Duration(e.tokenTTL.Load())
	validity := ttl
	if ttl == 0 {
		validity = defaultMissingExpiry
	}
	now := e.now()
	host := strings.ToLower(hostOnly(r.Host))
	tok := &ocirToken{
		IssuedToken: IssuedToken{
			Token:     randomToken(),
			Host:      host,
			Kind:      kind,
			Principal: principal,
			Expires:   now.Add(validity),
		},
		region: regionOfHost(host),
	}
	e.mu.Lock()
	e.ocirTokens[tok.Token] = tok
	e.issued = append(e.issued, tok.IssuedToken)
	e.mu.Unlock()
	e.count(endpointToken, r.Host)
	e.logf("emulator: token: issued OCIR token for %s %s on %s, valid until %s", kind, principal, host, tok.Expires.UTC().Format(time.RFC3339))

	resp := tokenResponse{Token: tok.Token, AccessToken: tok.Token, Scope: ""}
	if ttl != 0 {
		secs := int64(ttl / time.Second)
		resp.ExpiresIn = &secs
	}
	setOPCRequestID(w, r)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

// resolveKey maps a signature keyId to the public key that must have signed
// the request, the kind of principal and its identifier.
func (e *Emulator) resolveKey(keyID string) (pub *rsa.PublicKey, kind, principal string, err error) {
	if st, ok := strings.CutPrefix(keyID, "ST$"); ok {
		claims, err := e.stSigner.verify(st, e.now())
		if errors.Is(err, errTokenExpired) {
			return nil, "", "", errors.New("security token has expired")
		}
		if err != nil {
			return nil, "", "", errors.New("security token rejected: " + err.Error())
		}
		pub, err := publicKeyFromJWKClaim(claims["jwk"])
		if err != nil {
			return nil, "", "", err
		}
		sub, _ := claims["sub"].(string)
		if fedSub, ok := claims["fed_sub"].(string); ok {
			// A session from the identity domain's token exchange.
			return pub, KindWorkloadIdentityFederation, fedSub, nil
		}
		switch claims["ptype"] {
		case "user":
			kind = KindSecurityToken
		case "instance":
			kind = KindInstancePrincipal
		case "resource":
			kind = KindResourcePrincipal
		case "workload":
			kind = KindOKEWorkloadIdentity
		default:
			return nil, "", "", errors.New("security token has an unknown principal type")
		}
		return pub, kind, sub, nil
	}
	e.mu.Lock()
	k := e.apiKeys[keyID]
	e.mu.Unlock()
	if k == nil {
		return nil, "", "", errors.New("unknown API key " + keyID + " (tenancy/user/fingerprint not registered)")
	}
	return k.pub, KindAPIKey, k.user, nil
}

// scope is one "repository:<name>:<actions>" request.
type scope struct {
	repo    string
	actions []string
}

func parseScopes(values []string) []scope {
	var out []scope
	for _, v := range values {
		for _, s := range strings.Fields(v) {
			typ, rest, ok := strings.Cut(s, ":")
			if !ok || typ != "repository" {
				continue
			}
			i := strings.LastIndexByte(rest, ':')
			if i <= 0 {
				continue
			}
			out = append(out, scope{repo: rest[:i], actions: strings.Split(rest[i+1:], ",")})
		}
	}
	return out
}

// serveRegistryAuth is the bearer realm: it turns Basic
// BEARER_TOKEN:<ocir token> (or nothing, for anonymous pulls of public/
// repositories) into a registry token for the requested scopes.
func (e *Emulator) serveRegistryAuth(w http.ResponseWriter, r *http.Request, hasAuth bool) {
	e.count(endpointRegistryAuth, r.Host)
	if e.injectFault(w, r, endpointRegistryAuth) {
		return
	}
	if r.Method != http.MethodGet {
		// containerd tries an OAuth POST first and falls back to GET on 405.
		w.Header().Set("Allow", http.MethodGet)
		writeOCIError(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed", "only GET is supported")
		return
	}
	now := e.now()
	rt := &registryToken{access: map[string]map[string]bool{}}
	scopes := parseScopes(r.URL.Query()["scope"])
	if hasAuth {
		user, pass, ok := r.BasicAuth()
		if !ok || user != "BEARER_TOKEN" {
			e.notAuthenticated(w, r, "emulator: registry-auth: refused user %q (only BEARER_TOKEN:<token> is accepted)", user)
			return
		}
		e.mu.Lock()
		ot := e.ocirTokens[pass]
		e.mu.Unlock()
		switch {
		case ot == nil:
			e.notAuthenticated(w, r, "emulator: registry-auth: unknown OCIR token")
			return
		case !now.Before(ot.Expires):
			e.notAuthenticated(w, r, "emulator: registry-auth: OCIR token expired at %s", ot.Expires.UTC().Format(time.RFC3339))
			return
		}
		if reg := regionOfHost(r.Host); reg != "" && ot.region != "" && reg != ot.region {
			e.notAuthenticated(w, r, "emulator: registry-auth: OCIR token from %s (%s) used on %s (%s)", ot.Host, ot.region, r.Host, reg)
			return
		}
		rt.principal = ot.Principal
		rt.expires = ot.Expires
		for _, s := range scopes {
			for _, a := range s.actions {
				if a == "pull" || a == "push" || a == "*" {
					grant(rt, s.repo, a)
				}
			}
		}
	} else {
		rt.anonymous = true
		rt.principal = "anonymous"
		rt.expires = now.Add(anonymousTokenTTL)
		for _, s := range scopes {
			if !strings.HasPrefix(s.repo, "public/") {
				continue
			}
			for _, a := range s.actions {
				if a == "pull" {
					grant(rt, s.repo, a)
				}
			}
		}
	}
	tok := randomToken()
	e.mu.Lock()
	e.registryTokens[tok] = rt
	e.mu.Unlock()
	secs := int64(rt.expires.Sub(now) / time.Second)
	setOPCRequestID(w, r)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tokenResponse{
		Token:       tok,
		AccessToken: tok,
		Scope:       strings.Join(r.URL.Query()["scope"], " "),
		ExpiresIn:   &secs,
		IssuedAt:    now.UTC().Format(time.RFC3339),
	})
}

func grant(rt *registryToken, repo, action string) {
	m := rt.access[repo]
	if m == nil {
		m = map[string]bool{}
		rt.access[repo] = m
	}
	if action == "*" {
		m["pull"], m["push"] = true, true
		return
	}
	m[action] = true
}

// randomToken returns an opaque token of 64 random bytes.
func randomToken() string {
	b := make([]byte, 64)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

package emulator

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The emulator's OIDC issuer plays a CI system (GitHub Actions) whose
// runners get subject JWTs to exchange at the identity domain.
const (
	// OIDCIssuer is the iss of subject tokens minted by MintSubjectToken and
	// the GitHub-Actions-style endpoint, the issuer GitHub Actions uses.
	OIDCIssuer = "https://token.actions.githubusercontent.com"
	// KubernetesIssuer is the iss of NewServiceAccountToken's tokens; the
	// identity domain trusts it too (a non-OKE cluster's issuer).
	KubernetesIssuer = "https://kubernetes.default.svc.cluster.local"
	// WIFAudience is the audience the identity domain's trust accepts in
	// subject tokens (OCIR_WIF_AUDIENCE, serviceAccountTokenAudience).
	WIFAudience = "ocir-emulator-wif"
	// DefaultCISubject is the subject of GitHub-Actions-style tokens unless
	// SetCISubject changes it.
	DefaultCISubject = "repo:acme/app:ref:refs/heads/main"

	// actionsTokenPath is where the GitHub-Actions-style endpoint answers,
	// on the host actionsHost (reached through the CONNECT proxy).
	actionsTokenPath = "/_apis/emulator/idtoken"
	actionsHost      = "pipelines.actions.githubusercontent.com"
	// actionsTokenTTL is the lifetime of tokens from that endpoint.
	actionsTokenTTL = 5 * time.Minute

	endpointOIDC = "oidc"
)

// SubjectToken describes a subject JWT for MintSubjectToken.
type SubjectToken struct {
	Issuer   string        // default OIDCIssuer; KubernetesIssuer is trusted too
	Subject  string        // required
	Audience string        // default WIFAudience
	TTL      time.Duration // default 5 minutes; negative gives an expired token
	// Untrusted signs with a key the identity domain does not know.
	Untrusted bool
}

// oidcIssuer holds the issuer's signing key and the CI endpoint's state.
type oidcIssuer struct {
	signer    func() (*jwtSigner, error)
	rogue     func() (*jwtSigner, error)
	mu        sync.Mutex
	reqToken  string // ACTIONS_ID_TOKEN_REQUEST_TOKEN
	ciSubject string
}

func newOIDCIssuer() *oidcIssuer {
	return &oidcIssuer{
		signer:    sync.OnceValues(func() (*jwtSigner, error) { return newJWTSigner("emulator-oidc-key") }),
		rogue:     sync.OnceValues(func() (*jwtSigner, error) { return newJWTSigner("emulator-oidc-key") }),
		reqToken:  randomHex(24),
		ciSubject: DefaultCISubject,
	}
}

// signerFor returns the key the identity domain trusts for iss.
func (e *Emulator) signerFor(iss string) (*jwtSigner, error) {
	switch iss {
	case OIDCIssuer:
		return e.oidc.signer()
	case KubernetesIssuer:
		return e.saSigner()
	}
	return nil, errors.New("issuer " + iss + " is not trusted by the identity domain")
}

// MintSubjectToken signs a subject JWT for the token exchange, as a CI
// system or a cluster would issue it.
func (e *Emulator) MintSubjectToken(s SubjectToken) (string, error) {
	if s.Subject == "" {
		return "", errors.New("emulator: SubjectToken.Subject is required")
	}
	if s.Issuer == "" {
		s.Issuer = OIDCIssuer
	}
	if s.Audience == "" {
		s.Audience = WIFAudience
	}
	if s.TTL == 0 {
		s.TTL = actionsTokenTTL
	}
	signer, err := e.signerFor(s.Issuer)
	if s.Untrusted {
		signer, err = e.oidc.rogue()
	}
	if err != nil {
		return "", err
	}
	now := e.now()
	iat := now
	if s.TTL < 0 {
		iat = now.Add(2 * s.TTL)
	}
	return signer.sign(map[string]any{
		"iss": s.Issuer,
		"sub": s.Subject,
		"aud": s.Audience,
		"iat": iat.Unix(),
		"nbf": iat.Unix(),
		"exp": now.Add(s.TTL).Unix(),
		"jti": randomHex(16),
	})
}

// SetCISubject sets the sub claim of the GitHub-Actions-style endpoint's
// tokens (one "repository" of the CI system).
func (e *Emulator) SetCISubject(sub string) {
	e.oidc.mu.Lock()
	defer e.oidc.mu.Unlock()
	e.oidc.ciSubject = sub
}

// ActionsEnv is the environment a GitHub Actions job with
// `permissions: id-token: write` sees: ACTIONS_ID_TOKEN_REQUEST_URL and
// ACTIONS_ID_TOKEN_REQUEST_TOKEN, pointing at the emulator.
func (e *Emulator) ActionsEnv() []string {
	e.oidc.mu.Lock()
	defer e.oidc.mu.Unlock()
	return []string{
		"ACTIONS_ID_TOKEN_REQUEST_URL=https://" + actionsHost + actionsTokenPath + "?api-version=2.0",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN=" + e.oidc.reqToken,
	}
}

// serveActionsToken is the GitHub-Actions-style OIDC endpoint: GET with
// `Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN` and an optional
// audience query parameter answers {"count":N,"value":"<JWT>"}.
func (e *Emulator) serveActionsToken(w http.ResponseWriter, r *http.Request) {
	e.count(endpointOIDC, r.Host)
	if e.injectFault(w, r, endpointOIDC) {
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"message": "only GET is supported"})
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "api-version is required"})
		return
	}
	e.oidc.mu.Lock()
	want, sub := e.oidc.reqToken, e.oidc.ciSubject
	e.oidc.mu.Unlock()
	scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || got != want {
		e.logf("emulator: oidc: refused a request without the job's request token")
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials"})
		return
	}
	aud := r.URL.Query().Get("audience")
	if aud == "" {
		aud = "https://github.com/acme" // GitHub's default: the owner's URL
	}
	tok, err := e.MintSubjectToken(SubjectToken{Subject: sub, Audience: aud})
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(tok), "value": tok})
}

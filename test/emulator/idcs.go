package emulator

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// The fake identity domain: an OCI IAM identity domain with one
// confidential application allowed to do token exchange, and an identity
// propagation trust for the emulator's OIDC issuer and Kubernetes issuer.
const (
	idcsTokenPath = "/oauth2/v1/token"
	idcsSuffix    = ".identity.oraclecloud.com"
	endpointIDCS  = "idcs"
	// counterIDCSIssued counts exchanges the fake domain answered with a
	// session token (endpointIDCS counts every request).
	counterIDCSIssued = "idcs-issued"

	grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeUPST      = "urn:oci:token-type:oci-upst"
	tokenTypeRPST      = "urn:oci:token-type:oci-rpst"

	// upstTTL is the lifetime of the user principal session tokens issued.
	upstTTL = time.Hour
	// maxIDCSForm bounds the form body (a JWT plus a public key).
	maxIDCSForm = 64 << 10
)

// KindWorkloadIdentityFederation is IssuedToken.Kind for OCIR tokens
// requested with a session token from the identity domain's token exchange;
// the Principal is the federated subject (the subject JWT's sub).
const KindWorkloadIdentityFederation = "workload_identity_federation"

// identityDomain is the confidential application the fake domain knows.
type identityDomain struct {
	host     string
	clientID string
	secret   string
}

func newIdentityDomain() *identityDomain {
	return &identityDomain{
		host:     "idcs-" + randomHex(16) + idcsSuffix,
		clientID: randomHex(16),
		secret:   "idcscs-" + randomHex(18),
	}
}

// WIF describes the fake identity domain for workload identity federation.
type WIF struct {
	DomainURL    string // https://idcs-….identity.oraclecloud.com
	ClientID     string // the confidential application's client ID
	ClientSecret string // its secret, also in SecretFile
	SecretFile   string // Dir/wif/client-secret (0600)
	Audience     string // WIFAudience
}

// WIF returns the identity domain's URL and its confidential application.
func (e *Emulator) WIF() WIF {
	return WIF{
		DomainURL:    "https://" + e.idcs.host,
		ClientID:     e.idcs.clientID,
		ClientSecret: e.idcs.secret,
		SecretFile:   filepath.Join(e.dir, "wif", "client-secret"),
		Audience:     WIFAudience,
	}
}

// WIFEnvFile is Dir/wif.env: the base environment plus a GitHub Actions
// style workload identity federation setup, with no OCI key anywhere.
func (e *Emulator) WIFEnvFile() string { return filepath.Join(e.dir, "wif.env") }

// WIFEnv returns the lines of WIFEnvFile.
func (e *Emulator) WIFEnv() []string {
	w := e.WIF()
	var env []string
	for _, kv := range e.Env() {
		if strings.HasPrefix(kv, "OCI_CLI_CONFIG_FILE=") || strings.HasPrefix(kv, "OCI_METADATA_BASE_URL=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"OCI_CLI_AUTH=workload_identity_federation",
		"OCIR_WIF_DOMAIN_URL="+w.DomainURL,
		"OCIR_WIF_CLIENT_ID="+w.ClientID,
		"OCIR_WIF_CLIENT_SECRET_FILE="+w.SecretFile,
		"OCIR_WIF_AUDIENCE="+w.Audience,
	)
	return append(env, e.ActionsEnv()...)
}

// writeWIFFiles writes Dir/wif/client-secret and Dir/wif.env.
func (e *Emulator) writeWIFFiles() error {
	if err := writeFile(e.WIF().SecretFile, []byte(e.idcs.secret+"\n"), 0o600); err != nil {
		return err
	}
	return writeFile(e.WIFEnvFile(), []byte(strings.Join(e.WIFEnv(), "\n")+"\n"), 0o600)
}

// DenyFederatedSubject makes every pull and push by a federated subject
// (e.g. "repo:acme/other:ref:refs/heads/main" or
// "system:serviceaccount:ns:sa") answer 403, as OCIR does when no IAM policy
// covers the federated principal. Its tokens are still issued.
func (e *Emulator) DenyFederatedSubject(sub string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.deniedSubjects[sub] = true
}

func (e *Emulator) subjectDenied(principal string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.deniedSubjects[principal]
}

// isIdentityDomain reports whether host is an identity domain host name.
func isIdentityDomain(host string) bool {
	return strings.HasPrefix(host, "idcs-") && strings.HasSuffix(host, idcsSuffix)
}

// oauthError answers as the identity domain does: {"error", "error_description"}.
func (e *Emulator) oauthError(w http.ResponseWriter, status int, code, desc string) {
	e.logf("emulator: idcs: %d %s: %s", status, code, desc)
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// serveIDCS is POST /oauth2/v1/token on the identity domain: the token
// exchange of a subject JWT for a session token bound to public_key.
func (e *Emulator) serveIDCS(w http.ResponseWriter, r *http.Request) {
	e.count(endpointIDCS, r.Host)
	if e.injectFault(w, r, endpointIDCS) {
		return
	}
	if strings.ToLower(hostOnly(r.Host)) != e.idcs.host {
		e.oauthError(w, http.StatusNotFound, "not_found", "no identity domain at "+r.Host)
		return
	}
	if r.URL.Path != idcsTokenPath {
		e.oauthError(w, http.StatusNotFound, "not_found", "ocir-emulator: the identity domain only implements POST "+idcsTokenPath)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		e.oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "only POST is supported")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		e.oauthError(w, http.StatusBadRequest, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(id), []byte(e.idcs.clientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(e.idcs.secret)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="identity domain"`)
		e.oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed.")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxIDCSForm+1))
	if err != nil || len(body) > maxIDCSForm {
		e.oauthError(w, http.StatusBadRequest, "invalid_request", "unreadable or oversized form")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		e.oauthError(w, http.StatusBadRequest, "invalid_request", "malformed form: "+err.Error())
		return
	}
	for _, k := range []string{"grant_type", "requested_token_type", "subject_token", "subject_token_type", "public_key"} {
		if len(form[k]) != 1 || form.Get(k) == "" {
			e.oauthError(w, http.StatusBadRequest, "invalid_request", "exactly one non-empty "+k+" is required")
			return
		}
	}
	if g := form.Get("grant_type"); g != grantTokenExchange {
		e.oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant type "+g+" is not allowed for this client")
		return
	}
	ttype := form.Get("requested_token_type")
	if ttype != tokenTypeUPST && ttype != tokenTypeRPST {
		e.oauthError(w, http.StatusBadRequest, "invalid_request", "requested_token_type must be "+tokenTypeUPST+" or "+tokenTypeRPST)
		return
	}
	if ttype == tokenTypeRPST && form.Get("res_type") == "" {
		e.oauthError(w, http.StatusBadRequest, "invalid_request", "res_type is required for "+tokenTypeRPST)
		return
	}
	if form.Get("subject_token_type") != "jwt" {
		e.oauthError(w, http.StatusBadRequest, "invalid_request", "subject_token_type must be jwt")
		return
	}
	claims, err := e.checkSubjectToken(form.Get("subject_token"))
	if err != nil {
		e.oauthError(w, http.StatusBadRequest, "invalid_grant", err.Error())
		return
	}
	pub, err := parseRSAPublicKey(form.Get("public_key"))
	if err != nil || pub.N.BitLen() < 2048 {
		e.oauthError(w, http.StatusBadRequest, "invalid_request", "public_key must be the base64 DER of an RSA public key of at least 2048 bits")
		return
	}
	tok, err := e.signSessionForSubject(pub, claims, ttype, form.Get("res_type"))
	if err != nil {
		e.oauthError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	e.count(counterIDCSIssued, r.Host)
	writeJSON(w, http.StatusOK, map[string]string{"token": tok})
}

// checkSubjectToken verifies a subject JWT as the identity propagation
// trust does: a trusted issuer's signature, exp, and the audience.
func (e *Emulator) checkSubjectToken(tok string) (map[string]any, error) {
	unverified, ok := unverifiedClaims(tok)
	if !ok {
		return nil, errors.New("subject_token is not a JWT")
	}
	iss, _ := unverified["iss"].(string)
	signer, err := e.signerFor(iss)
	if err != nil {
		return nil, fmt.Errorf("no identity propagation trust for issuer %q", iss)
	}
	claims, err := signer.verify(tok, e.now())
	switch {
	case errors.Is(err, errTokenExpired):
		exp, _ := claims["exp"].(float64)
		return nil, fmt.Errorf("subject token expired at %s", time.Unix(int64(exp), 0).UTC().Format(time.RFC3339))
	case err != nil:
		return nil, fmt.Errorf("subject token signature is not from issuer %q: %v", iss, err)
	}
	if nbf, ok := claims["nbf"].(float64); ok && e.now().Add(time.Minute).Before(time.Unix(int64(nbf), 0)) {
		return nil, errors.New("subject token is not valid yet (nbf)")
	}
	if !audienceContains(claims["aud"], WIFAudience) {
		return nil, fmt.Errorf("subject token audience %v is not the trusted audience %q", claims["aud"], WIFAudience)
	}
	if sub, _ := claims["sub"].(string); sub == "" {
		return nil, errors.New("subject token has no sub")
	}
	return claims, nil
}

func audienceContains(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		for _, v := range a {
			if s, _ := v.(string); s == want {
				return true
			}
		}
	}
	return false
}

// signSessionForSubject issues the UPST (or RPST) for a verified subject,
// with pub as its jwk; the OCIR token service verifies it as any ST$ token.
func (e *Emulator) signSessionForSubject(pub *rsa.PublicKey, subject map[string]any, ttype, resType string) (string, error) {
	sub, _ := subject["sub"].(string)
	iss, _ := subject["iss"].(string)
	now := e.now()
	extra := map[string]any{
		"sub":        "ocid1.user." + e.region.Realm + "..aaaaaaaa" + shortHash(iss+"\x00"+sub),
		"ptype":      "user",
		"ttype":      "upst",
		"domain_url": "https://" + e.idcs.host,
		"fed_iss":    iss,
		"fed_sub":    sub,
	}
	if ttype == tokenTypeRPST {
		extra["ptype"], extra["ttype"], extra["res_type"] = "resource", "rpst", resType
	}
	return e.signSecurityToken(pub, "wif-", now, now.Add(upstTTL), extra)
}

// unverifiedClaims decodes a JWT's claims to find its issuer before the
// signature is checked with that issuer's key.
func unverifiedClaims(tok string) (map[string]any, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, false
	}
	payload, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, false
	}
	var claims map[string]any
	return claims, json.Unmarshal(payload, &claims) == nil
}

// shortHash is a stable 32-character hex digest, for OCIDs derived from names.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// wifControl adds the workload identity federation part of the control API:
// GET /wif/env, POST /wif/subject-token (mint a subject JWT), POST
// /wif/deny (a federated subject without policy).
func (e *Emulator) wifControl(mux *http.ServeMux) {
	mux.HandleFunc("GET /wif/env", func(w http.ResponseWriter, r *http.Request) {
		writeText(w, "text/plain", strings.Join(e.WIFEnv(), "\n")+"\n")
	})
	mux.HandleFunc("POST /wif/subject-token", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		s := SubjectToken{Issuer: q.Get("iss"), Subject: q.Get("sub"), Audience: q.Get("aud")}
		if v := q.Get("ttl"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				http.Error(w, "ttl must be a Go duration, e.g. 5m or -1m (expired)", http.StatusBadRequest)
				return
			}
			s.TTL = d
		}
		tok, err := e.MintSubjectToken(s)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeText(w, "application/jwt", tok+"\n")
	})
	mux.HandleFunc("POST /wif/deny", func(w http.ResponseWriter, r *http.Request) {
		sub := r.URL.Query().Get("subject")
		if sub == "" {
			http.Error(w, "subject is required", http.StatusBadRequest)
			return
		}
		e.DenyFederatedSubject(sub)
		w.WriteHeader(http.StatusNoContent)
	})
}

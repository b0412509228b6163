package ocir

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"
)

// metadataBaseURL is the instance metadata service: OCI_METADATA_BASE_URL
// (as the SDK reads it) or the link-local IMDSv2 address.
func (p *Provider) metadataBaseURL() string {
	if v := p.getenv("OCI_METADATA_BASE_URL"); v != "" {
		return strings.TrimRight(v, "/")
	}
	return "http://169.254.169.254/opc/v2"
}

// instancePrincipalIdentity signs as the instance: its certificate from the
// metadata service is federated into a session shared by every registry
// and process (session.go). explicit (OCI_CLI_AUTH, a rule, a profile)
// always asks the metadata service; automatic discovery trusts a
// remembered "no metadata service here".
func (p *Provider) instancePrincipalIdentity(explicit bool) *identity {
	base := p.metadataBaseURL()
	return &identity{
		auth:         AuthInstancePrincipal,
		describe:     "instance principal",
		cacheKey:     "instance_principal|" + base,
		hint401:      "the instance's dynamic group may be missing or the instance certificate was rotated; check the dynamic-group matching rule",
		shareSession: true,
		build: func(ctx context.Context) (common.KeyProvider, error) {
			return p.federateInstance(ctx, !explicit)
		},
	}
}

// The instance-principal session is obtained here rather than through the
// SDK's constructor: the SDK reads the metadata service six times one after
// the other (region; certificate and key; then certificate, key and
// intermediate again at the first renewal), has no context, and keeps the
// session inside one provider object. Here the four metadata documents are
// read at once (one round trip), the federation POST runs under the
// caller's deadline through our HTTP client, and the result is a plain
// session (token + key) that can be shared across registries and processes.

const (
	// metadataReadTimeout bounds one read of an identity document once the
	// metadata service is known to be there.
	metadataReadTimeout = 10 * time.Second
	maxMetadataBody     = 64 << 10
	federationPath      = "/v1/x509"
	sessionKeyBits      = 2048
)

// instanceDocs are the metadata documents federation needs.
type instanceDocs struct {
	region, cert, key, intermediate []byte
}

// readInstanceDocs reads the three identity documents concurrently, once
// the region probe (short deadline, remembered negative answer, so a
// machine without a metadata service sees one connection attempt) has
// answered: two round trips in all.
func (p *Provider) readInstanceDocs(ctx context.Context, region string) (*instanceDocs, error) {
	base := p.metadataBaseURL()
	client := p.metadataClient(metadataReadTimeout)
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, metadataReadTimeout)
	defer cancel()
	docs := &instanceDocs{region: []byte(region)}
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i, d := range []struct {
		path string
		dst  *[]byte
	}{{"/identity/cert.pem", &docs.cert}, {"/identity/key.pem", &docs.key}, {"/identity/intermediate.pem", &docs.intermediate}} {
		wg.Go(func() { *d.dst, errs[i] = metadataGet(ctx, client, base, d.path) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, &Error{Kind: ErrTransient, Err: fmt.Errorf("instance principal: read identity from the instance metadata service: %w", err)}
	}
	return docs, nil
}

// sessionKeyResult is a generated session key, or why there is none.
type sessionKeyResult struct {
	key *rsa.PrivateKey
	err error
}

// startSessionKey returns a session key being generated: the one a failed
// federation kept (keepSessionKey), else a new one.
func (p *Provider) startSessionKey() chan sessionKeyResult {
	p.mu.Lock()
	ch := p.spareKey
	p.spareKey = nil
	p.mu.Unlock()
	if ch != nil {
		return ch
	}
	ch = make(chan sessionKeyResult, 1)
	go func() {
		k, err := p.newSessionKey()
		ch <- sessionKeyResult{k, err}
	}()
	return ch
}

// keepSessionKey keeps a key from startSessionKey that was never received,
// so never sent, for the next federation (one is enough: a concurrent
// federation's extra key is dropped).
func (p *Provider) keepSessionKey(ch chan sessionKeyResult) {
	p.mu.Lock()
	if p.spareKey == nil {
		p.spareKey = ch
	}
	p.mu.Unlock()
}

// federateInstance turns the instance certificate into a security token
// bound to a fresh session key: POST /v1/x509 signed with the certificate's
// key.
func (p *Provider) federateInstance(ctx context.Context, auto bool) (*session, error) {
	if err := p.rememberedProbeFailure(auto); err != nil {
		return nil, err
	}
	// The session key takes tens of milliseconds to generate: do it while
	// the metadata service answers the probe and the identity reads, two
	// round trips. Until the key is taken below its public half has gone
	// nowhere, so a failure before that keeps it for the next federation:
	// a long-lived Provider whose metadata service is down generates one
	// key, not one per failed call.
	keyCh := p.startSessionKey()
	keyTaken := false
	defer func() {
		if !keyTaken {
			p.keepSessionKey(keyCh)
		}
	}()
	region, err := p.probeMetadata(ctx, auto)
	if err != nil {
		return nil, err
	}
	docs, err := p.readInstanceDocs(ctx, region)
	if err != nil {
		return nil, err
	}
	leaf, err := parseCertPEM(docs.cert)
	if err != nil {
		return nil, &Error{Kind: ErrTransient, Err: fmt.Errorf("instance principal: leaf certificate from the metadata service: %w", err)}
	}
	leafKey, err := common.PrivateKeyFromBytes(docs.key, nil)
	if err != nil {
		return nil, &Error{Kind: ErrTransient, Err: fmt.Errorf("instance principal: certificate key from the metadata service: %w", err)}
	}
	if _, err := parseCertPEM(docs.intermediate); err != nil {
		return nil, &Error{Kind: ErrTransient, Err: fmt.Errorf("instance principal: intermediate certificate from the metadata service: %w", err)}
	}
	tenancy := ""
	for _, n := range leaf.Subject.Names {
		if v, ok := n.Value.(string); ok && strings.HasPrefix(v, "opc-tenant:") {
			tenancy = strings.TrimPrefix(v, "opc-tenant:")
		}
	}
	if tenancy == "" {
		return nil, &Error{Kind: ErrIdentityBroken, Err: errors.New("instance principal: the instance certificate names no tenancy (opc-tenant)")}
	}
	kr := <-keyCh
	keyTaken = true
	if kr.err != nil {
		return nil, fmt.Errorf("instance principal: session key: %w", kr.err)
	}
	sessionKey := kr.key
	pub, err := x509.MarshalPKIXPublicKey(&sessionKey.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("instance principal: session key: %w", err)
	}
	body, err := json.Marshal(map[string]any{
		"certificate":              pemBody(docs.cert),
		"publicKey":                base64.StdEncoding.EncodeToString(pub),
		"intermediateCertificates": []string{pemBody(docs.intermediate)},
		"fingerprintAlgorithm":     "SHA256",
	})
	if err != nil {
		return nil, err
	}
	fp := sha256.Sum256(leaf.Raw)
	signer := common.RequestSigner(staticKey{id: tenancy + "/fed-x509-sha256/" + colonHex(fp[:]), key: leafKey},
		[]string{"date", "(request-target)"}, []string{"content-length", "content-type", "x-content-sha256"})
	url := p.federationURL(string(docs.region))
	issued := p.now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, &Error{Kind: ErrIdentityBroken, Err: fmt.Errorf("instance principal: federation endpoint: %w", err)}
	}
	req.Header.Set("Date", issued.UTC().Format(http.TimeFormat))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", p.userAgent)
	if err := signer.Sign(req); err != nil {
		return nil, &Error{Kind: ErrIdentityBroken, Err: fmt.Errorf("instance principal: sign federation request: %w", err)}
	}
	client, err := p.HTTPClient()
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, federationFailed(ErrTransient, fmt.Errorf("POST %s: %w", url, err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	if err != nil {
		return nil, federationFailed(ErrTransient, fmt.Errorf("POST %s: read answer: %w", url, err))
	}
	if resp.StatusCode != http.StatusOK {
		var oe ociError
		_ = json.Unmarshal(raw, &oe)
		kind := ErrTransient
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusRequestTimeout {
			kind = ErrAuth
		}
		e := federationFailed(kind, fmt.Errorf("POST %s: HTTP %d %s: %s", url, resp.StatusCode, oe.Code, strings.TrimSpace(oe.Message)))
		e.RequestID = resp.Header.Get("opc-request-id")
		return nil, e
	}
	var fr struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(raw, &fr); err != nil || fr.Token == "" {
		return nil, federationFailed(ErrTransient, fmt.Errorf("POST %s: answer holds no token", url))
	}
	exp, ok := jwtExpiry(fr.Token)
	if !ok {
		return nil, federationFailed(ErrTransient, fmt.Errorf("POST %s: the security token has no expiry", url))
	}
	return &session{ID: "ST$" + fr.Token, key: sessionKey, IssuedAt: issued, ExpiresAt: exp}, nil
}

// federationFailed wraps a failed federation call; a transient one may be
// retried by the token loop (the SDK retried inside Sign).
func federationFailed(kind, err error) *Error {
	if kind == ErrTransient {
		err = retryable{err}
	}
	return &Error{Kind: kind, Err: fmt.Errorf("instance principal: obtain security token: %w", err)}
}

// retryable marks a failure of identity set-up that another attempt may
// cure (a federation endpoint that is down or throttling).
type retryable struct{ error }

func (r retryable) Unwrap() error { return r.error }

// federationURL is OCI_SDK_AUTH_CLIENT_REGION_URL (scheme://host[:port], as
// the SDK reads it) or the auth endpoint of the instance's region.
func (p *Provider) federationURL(region string) string {
	if v := strings.TrimRight(p.getenv("OCI_SDK_AUTH_CLIENT_REGION_URL"), "/"); v != "" {
		if !strings.Contains(v, "://") {
			v = "https://" + v
		}
		return v + federationPath
	}
	return "https://" + common.StringToRegion(strings.TrimSpace(region)).Endpoint("auth") + federationPath
}

func parseCertPEM(raw []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, errors.New("not PEM")
	}
	return x509.ParseCertificate(block.Bytes)
}

// pemBody is a PEM document's base64 payload on one line, as the
// federation endpoint expects certificates.
func pemBody(raw []byte) string {
	block, _ := pem.Decode(raw)
	if block == nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(block.Bytes)
}

func colonHex(b []byte) string {
	var s strings.Builder
	for i, c := range b {
		if i > 0 {
			s.WriteByte(':')
		}
		fmt.Fprintf(&s, "%02x", c)
	}
	return s.String()
}

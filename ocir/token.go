package ocir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

const (
	maxTokenBody   = 64 << 10
	backoffBase    = 250 * time.Millisecond
	backoffCap     = 4 * time.Second
	defaultExpires = 60 * time.Second // distribution token spec default
)

// tokenResponse is what OCIR's token endpoint returns on success.
type tokenResponse struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	ExpiresIn   *int64 `json:"expires_in"`
}

// ociError is the body of an OCI error response.
type ociError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// fetchToken obtains a fresh token: one signed GET per attempt, retried
// only on throttling, server errors and network failures, all within ctx.
func (p *Provider) fetchToken(ctx context.Context, reg registry.Registry, id *identity) (*cacheEntry, error) {
	kp, err := p.buildKey(ctx, id)
	if err != nil {
		return nil, withRegistry(err, reg.Host)
	}
	client, err := p.httpClient()
	if err != nil {
		return nil, withRegistry(err, reg.Host)
	}
	signer := common.DefaultRequestSigner(kp)
	var lastErr error
	for attempt := 0; ; attempt++ {
		entry, retry, wait, err := p.tryToken(ctx, client, signer, reg, id, attempt)
		if err == nil {
			return entry, nil
		}
		if !retry {
			return nil, err
		}
		lastErr = err
		if ctx.Err() != nil {
			return nil, deadlineError(ctx, reg.Host, p.timeout, lastErr)
		}
		if wait == 0 {
			wait = backoff(attempt)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return nil, lastErr
		}
		p.log.Info("token request failed, retrying", "registry", reg.Host, "in", wait.Round(time.Millisecond), "err", lastErr)
		select {
		case <-ctx.Done():
			return nil, deadlineError(ctx, reg.Host, p.timeout, lastErr)
		case <-time.After(wait):
		}
	}
}

// tryToken makes one signed attempt. retry says whether another attempt
// may help; wait is the server's Retry-After, 0 when it sent none.
func (p *Provider) tryToken(ctx context.Context, client *http.Client, signer common.HTTPRequestSigner, reg registry.Registry, id *identity, attempt int) (entry *cacheEntry, retry bool, wait time.Duration, err error) {
	issued := p.now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, reg.TokenURL(), nil)
	if err != nil {
		return nil, false, 0, &Error{Kind: ErrIdentityBroken, Registry: reg.Host, Err: err}
	}
	req.Header.Set("Date", issued.UTC().Format(http.TimeFormat))
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", p.userAgent)
	if err := p.sign(ctx, signer, req); err != nil {
		// Token-based principals federate inside Sign; a federation
		// endpoint that is down or throttling is worth retrying.
		return nil, errors.Is(err, ErrTransient) && ctx.Err() == nil, 0, withRegistry(err, reg.Host)
	}
	p.log.Debug("requesting OCIR token", "registry", reg.Host, "identity", id.describe, "attempt", attempt+1)
	resp, err := client.Do(req)
	if err != nil {
		return nil, true, 0, &Error{Kind: ErrTransient, Registry: reg.Host, Err: fmt.Errorf("GET %s: %w", reg.TokenURL(), err)}
	}
	entry, retry, err = p.readTokenResponse(resp, reg, id, issued)
	if err != nil && retry {
		wait = retryAfter(resp.Header.Get("Retry-After"), p.now())
	}
	return entry, retry, wait, err
}

func backoff(attempt int) time.Duration {
	d := backoffBase << min(attempt, 5)
	if d > backoffCap {
		d = backoffCap
	}
	return d/2 + rand.N(d/2+1) // jitter keeps N nodes from retrying in lockstep
}

// retryAfter parses a Retry-After header (seconds or HTTP date).
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
		d = time.Duration(min(n, 3600)) * time.Second // no overflow into a hot loop
	} else if t, err := http.ParseTime(v); err == nil && t.After(now) {
		d = t.Sub(now)
	}
	return min(d, time.Hour)
}

func deadlineError(ctx context.Context, host string, timeout time.Duration, last error) error {
	err := fmt.Errorf("no token within %s (OCIR_TIMEOUT): %w", timeout, ctx.Err())
	if last != nil {
		err = fmt.Errorf("%w; last error: %v", err, last)
	}
	return &Error{Kind: ErrTransient, Registry: host, Err: err}
}

func withRegistry(err error, host string) error {
	var e *Error
	if errors.As(err, &e) {
		if e.Registry == "" {
			e.Registry = host
		}
		return e
	}
	return &Error{Kind: ErrTransient, Registry: host, Err: err}
}

// buildKey runs the identity's (possibly networked, context-unaware SDK)
// construction so that the overall deadline still holds.
func (p *Provider) buildKey(ctx context.Context, id *identity) (common.KeyProvider, error) {
	// Token-based principals are reused within the process: their security
	// token (one federation) serves every registry.
	p.state.mu.Lock()
	kp, ok := p.state.keys[id.cacheKey]
	p.state.mu.Unlock()
	if ok && !sessionEnding(kp, p.now()) {
		return kp, nil
	}
	type result struct {
		kp  common.KeyProvider
		err error
	}
	ch := make(chan result, 1)
	go func() {
		kp, err := id.build(ctx)
		ch <- result{kp, err}
	}()
	select {
	case r := <-ch:
		if r.err == nil && id.auth != AuthAPIKey && id.auth != AuthSecurityToken {
			p.state.mu.Lock()
			p.state.keys[id.cacheKey] = r.kp
			p.state.mu.Unlock()
		}
		return r.kp, r.err
	case <-ctx.Done():
		return nil, &Error{Kind: ErrTransient, Err: fmt.Errorf("%s: setting up the identity took longer than %s: %w", id.describe, p.timeout, ctx.Err())}
	}
}

// sign signs once. For token-based principals the SDK may federate inside
// Sign without a context, so it runs under the deadline too.
func (p *Provider) sign(ctx context.Context, signer common.HTTPRequestSigner, req *http.Request) error {
	ch := make(chan error, 1)
	go func() { ch <- signer.Sign(req) }()
	select {
	case err := <-ch:
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				return err
			}
			return &Error{Kind: classifySDKError(err), Err: fmt.Errorf("obtain security token to sign with: %w", err)}
		}
		return nil
	case <-ctx.Done():
		return &Error{Kind: ErrTransient, Err: fmt.Errorf("obtaining the OCI security token to sign with took too long: %w", ctx.Err())}
	}
}

// readTokenResponse turns a response into a cache entry or a classified
// error; retry says whether trying again may help.
func (p *Provider) readTokenResponse(resp *http.Response, reg registry.Registry, id *identity, issued time.Time) (*cacheEntry, bool, error) {
	defer resp.Body.Close()
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	reqID := resp.Header.Get("opc-request-id")
	mk := func(kind error, err error, hint string) *Error {
		return &Error{Kind: kind, Registry: reg.Host, RequestID: reqID, Err: err, Hint: hint}
	}
	if readErr != nil {
		return nil, true, mk(ErrTransient, fmt.Errorf("read token response: %w", readErr), "")
	}
	if resp.StatusCode == http.StatusOK {
		var tr tokenResponse
		if err := json.Unmarshal(body, &tr); err != nil {
			return nil, false, mk(ErrTransient, fmt.Errorf("token response is not valid JSON: %w", err), "is a proxy intercepting the request?")
		}
		tok := tr.Token
		if tok == "" {
			tok = tr.AccessToken
		}
		if tok == "" {
			return nil, false, mk(ErrTransient, errors.New("token response has neither token nor access_token"), "")
		}
		life := defaultExpires
		if tr.ExpiresIn != nil {
			if *tr.ExpiresIn <= 0 || *tr.ExpiresIn > 7*24*3600 {
				return nil, false, mk(ErrTransient, fmt.Errorf("token response has implausible expires_in %d", *tr.ExpiresIn), "")
			}
			life = time.Duration(*tr.ExpiresIn) * time.Second
		}
		return &cacheEntry{
			Format: cacheFormat, Key: id.cacheKey, Registry: reg.Host, Identity: id.describe,
			Token: tok, IssuedAt: issued, ExpiresAt: issued.Add(life),
		}, false, nil
	}
	var oe ociError
	_ = json.Unmarshal(body, &oe)
	msg := strings.TrimSpace(oe.Message)
	if msg == "" {
		msg = strings.TrimSpace(string(body))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
	}
	status := fmt.Errorf("GET %s: HTTP %d %s: %s", reg.TokenURL(), resp.StatusCode, oe.Code, msg)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		return nil, true, mk(ErrTransient, status, "")
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, false, mk(ErrAuth, status, p.hint401(resp, id, msg))
	case resp.StatusCode == http.StatusForbidden:
		return nil, false, mk(ErrAuth, status, "OCI refused this identity for "+reg.Host+"; check the IAM policies of the identity ("+id.describe+")")
	case resp.StatusCode == http.StatusNotFound:
		return nil, false, mk(ErrAuth, status, "no token service at "+reg.TokenURL()+"; is this really an OCIR host?")
	}
	return nil, false, mk(ErrAuth, status, "")
}

// hint401 says what to fix, most specific cause first: clock skew (from
// the message or the server's Date header), then the identity's own hint.
func (p *Provider) hint401(resp *http.Response, id *identity, msg string) string {
	lower := strings.ToLower(msg)
	skewed := strings.Contains(lower, "clock") || strings.Contains(lower, "skew")
	if t, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		if d := p.now().Sub(t); d > 5*time.Minute || d < -5*time.Minute {
			skewed = true
		}
	}
	if skewed {
		return "this machine's clock is more than 5 minutes off from OCI's; synchronise it (e.g. timedatectl set-ntp true)"
	}
	return id.hint401
}

// classifySDKError sorts the SDK's federation errors, which are mostly
// formatted strings: a rejection (401/403, NotAuthenticated) is an auth
// failure, anything else — network errors, 5xx, 429 — is transient.
func classifySDKError(err error) error {
	var ne net.Error
	if errors.As(err, &ne) {
		return ErrTransient
	}
	msg := err.Error()
	for _, s := range []string{"Status: 401", "Status: 403", "NotAuthenticated", "NotAuthorized", "status code: 401", "status code: 403", "please ensure the cluster type is enhanced"} {
		if strings.Contains(msg, s) {
			return ErrAuth
		}
	}
	return ErrTransient
}

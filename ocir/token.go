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
	client, err := p.httpClient()
	if err != nil {
		return nil, withRegistry(err, reg.Host)
	}
	var lastErr error
	for attempt := 0; ; attempt++ {
		entry, retry, wait, err := p.tryToken(ctx, client, reg, id, attempt)
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
func (p *Provider) tryToken(ctx context.Context, client *http.Client, reg registry.Registry, id *identity, attempt int) (entry *cacheEntry, retry bool, wait time.Duration, err error) {
	// Set-up is part of the attempt: a federation endpoint that is down or
	// throttling is worth another try; anything else about the identity is
	// not. A federated session is remembered, so later attempts do not
	// federate again.
	kp, err := p.buildKey(ctx, id)
	if err != nil {
		return nil, errors.As(err, new(retryable)) && ctx.Err() == nil, 0, withRegistry(err, reg.Host)
	}
	signer := common.DefaultRequestSigner(kp)
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
		return nil, errors.Is(err, ErrTransient) && ctx.Err() == nil && !isPermanent(err), 0, withRegistry(err, reg.Host)
	}
	p.log.Debug("requesting OCIR token", "registry", reg.Host, "identity", id.describe, "attempt", attempt+1)
	resp, err := client.Do(req)
	if err != nil {
		if hint := permanentHint(err); hint != "" {
			// Retrying cannot fix a missing CA or a proxy that refuses us;
			// say so at once instead of after the whole deadline.
			return nil, false, 0, &Error{Kind: ErrTransient, Registry: reg.Host, Err: &permanentError{fmt.Errorf("GET %s: %w", reg.TokenURL(), err)}, Hint: hint}
		}
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

// errOwnDeadline is the cause of a Credential call's context when its own
// OCIR_TIMEOUT expires; any other end of the context is the caller's.
var errOwnDeadline = errors.New("OCIR_TIMEOUT expired")

// ErrInterrupted matches the error of a Credential call that ended because
// its caller cancelled it (a signal, a closed connection) rather than
// because it failed or ran out of its own time.
var ErrInterrupted = errors.New("interrupted")

// deadlineError says why ctx ended: our own deadline, or the caller's
// cancellation or earlier deadline.
func deadlineError(ctx context.Context, host string, timeout time.Duration, last error) error {
	var err error
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errOwnDeadline):
		err = fmt.Errorf("no token within %s (OCIR_TIMEOUT): %w", timeout, context.DeadlineExceeded)
	case errors.Is(ctx.Err(), context.Canceled):
		err = fmt.Errorf("%w before a token was obtained (%w)", ErrInterrupted, canceledBy{cause})
	default:
		err = fmt.Errorf("the caller's deadline passed before a token was obtained: %w", ctx.Err())
	}
	if last != nil {
		err = fmt.Errorf("%w; last error: %v", err, last)
	}
	return &Error{Kind: ErrTransient, Registry: host, Err: err}
}

// canceledBy reads as the cause of a cancellation (a signal's name, say)
// and still matches context.Canceled, so callers that branch on the context
// error keep working.
type canceledBy struct{ cause error }

func (c canceledBy) Error() string   { return c.cause.Error() }
func (c canceledBy) Unwrap() []error { return []error{c.cause, context.Canceled} }

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

// buildKey returns the signer's key provider of id: a shared session for
// federated identities, otherwise the identity's own construction.
func (p *Provider) buildKey(ctx context.Context, id *identity) (common.KeyProvider, error) {
	if id.shareSession {
		return p.sharedSession(ctx, id)
	}
	// Other token-based principals (a resource principal's session comes
	// from the environment) are reused within the process.
	p.mu.Lock()
	kp, ok := p.keys[id.cacheKey]
	p.mu.Unlock()
	if ok && !sessionEnding(kp, p.now()) {
		return kp, nil
	}
	kp, err := p.buildUnderDeadline(ctx, id, nil)
	if err == nil && id.auth != AuthAPIKey && id.auth != AuthSecurityToken {
		p.mu.Lock()
		p.keys[id.cacheKey] = kp
		p.mu.Unlock()
	}
	return kp, err
}

// buildUnderDeadline runs the identity's (possibly networked, context-
// unaware SDK) construction, then post if set, so that the overall deadline
// still holds.
func (p *Provider) buildUnderDeadline(ctx context.Context, id *identity, post func(common.KeyProvider) (common.KeyProvider, error)) (common.KeyProvider, error) {
	type result struct {
		kp  common.KeyProvider
		err error
	}
	ch := make(chan result, 1)
	go func() {
		kp, err := id.build(ctx)
		if err == nil && post != nil {
			kp, err = post(kp)
		}
		ch <- result{kp, err}
	}()
	select {
	case r := <-ch:
		return r.kp, r.err
	case <-ctx.Done():
		return nil, deadlineError(ctx, "", p.timeout, fmt.Errorf("%s: still setting up the identity", id.describe))
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
		return deadlineError(ctx, "", p.timeout, errors.New("still obtaining the OCI security token to sign with"))
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
			if *tr.ExpiresIn <= 0 || *tr.ExpiresIn > int64(maxTokenLifetime/time.Second) {
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

package ocir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
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

// tokenCall is the signed token call: a GET of the registry's token URL
// signed with the identity's key, one per attempt, retried only on
// throttling, server errors and network failures, all within the caller's
// context. It knows nothing of caches; the Provider hands it the client and
// the way to the signer's key.
type tokenCall struct {
	client    *http.Client
	key       func(context.Context) (common.KeyProvider, error) // the signer's key, asked for per attempt
	userAgent string
	now       func() time.Time
	log       *slog.Logger
	timeout   time.Duration // OCIR_TIMEOUT, named when it expires
}

// fetch obtains a fresh token for id at reg.
func (t tokenCall) fetch(ctx context.Context, reg registry.Registry, id *identity) (*cacheEntry, error) {
	var lastErr error
	for attempt := 0; ; attempt++ {
		entry, retry, wait, err := t.try(ctx, reg, id, attempt)
		if err == nil {
			return entry, nil
		}
		if !retry {
			return nil, err
		}
		lastErr = err
		if ctx.Err() != nil {
			return nil, deadlineError(ctx, reg.Host, t.timeout, lastErr)
		}
		if wait == 0 {
			wait = backoff(attempt)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return nil, lastErr
		}
		t.log.Info("token request failed, retrying", "registry", reg.Host, "in", wait.Round(time.Millisecond), "err", lastErr)
		select {
		case <-ctx.Done():
			return nil, deadlineError(ctx, reg.Host, t.timeout, lastErr)
		case <-time.After(wait):
		}
	}
}

// try makes one signed attempt. retry says whether another attempt
// may help; wait is the server's Retry-After, 0 when it sent none.
func (t tokenCall) try(ctx context.Context, reg registry.Registry, id *identity, attempt int) (entry *cacheEntry, retry bool, wait time.Duration, err error) {
	// Set-up is part of the attempt: a federation endpoint that is down or
	// throttling is worth another try; anything else about the identity is
	// not. A federated session is remembered, so later attempts do not
	// federate again.
	kp, err := t.key(ctx)
	if err != nil {
		return nil, errors.As(err, new(retryable)) && ctx.Err() == nil, 0, withRegistry(err, reg.Host)
	}
	signer := common.DefaultRequestSigner(kp)
	issued := t.now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, reg.TokenURL(), nil)
	if err != nil {
		return nil, false, 0, &Error{Kind: ErrIdentityBroken, Registry: reg.Host, Err: err}
	}
	req.Header.Set("Date", issued.UTC().Format(http.TimeFormat))
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", t.userAgent)
	if err := t.sign(ctx, signer, req); err != nil {
		// Token-based principals federate inside Sign; a federation
		// endpoint that is down or throttling is worth retrying.
		return nil, errors.Is(err, ErrTransient) && ctx.Err() == nil && !isPermanent(err), 0, withRegistry(err, reg.Host)
	}
	t.log.Debug("requesting OCIR token", "registry", reg.Host, "identity", id.describe, "attempt", attempt+1)
	resp, err := t.client.Do(req)
	if err != nil {
		if hint := permanentHint(err); hint != "" {
			// Retrying cannot fix a missing CA or a proxy that refuses us;
			// say so at once instead of after the whole deadline.
			return nil, false, 0, &Error{Kind: ErrTransient, Registry: reg.Host, Err: &permanentError{fmt.Errorf("GET %s: %w", reg.TokenURL(), err)}, Hint: hint}
		}
		return nil, true, 0, &Error{Kind: ErrTransient, Registry: reg.Host, Err: fmt.Errorf("GET %s: %w", reg.TokenURL(), err)}
	}
	entry, retry, err = t.readResponse(resp, reg, id, issued)
	if err != nil && retry {
		wait = retryAfter(resp.Header.Get("Retry-After"), t.now())
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

// sign signs once. For token-based principals the SDK may federate inside
// Sign without a context, so it runs under the deadline too.
func (t tokenCall) sign(ctx context.Context, signer common.HTTPRequestSigner, req *http.Request) error {
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
		return deadlineError(ctx, "", t.timeout, errors.New("still obtaining the OCI security token to sign with"))
	}
}

// readResponse turns a response into a cache entry or a classified
// error; retry says whether trying again may help.
func (t tokenCall) readResponse(resp *http.Response, reg registry.Registry, id *identity, issued time.Time) (*cacheEntry, bool, error) {
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
		return nil, false, mk(ErrAuth, status, t.hint401(resp, id, msg))
	case resp.StatusCode == http.StatusForbidden:
		return nil, false, mk(ErrAuth, status, "OCI refused this identity for "+reg.Host+"; check the IAM policies of the identity ("+id.describe+")")
	case resp.StatusCode == http.StatusNotFound:
		return nil, false, mk(ErrAuth, status, "no token service at "+reg.TokenURL()+"; is this really an OCIR host?")
	}
	return nil, false, mk(ErrAuth, status, "")
}

// hint401 says what to fix, most specific cause first: clock skew (from
// the message or the server's Date header), then the identity's own hint.
func (t tokenCall) hint401(resp *http.Response, id *identity, msg string) string {
	lower := strings.ToLower(msg)
	skewed := strings.Contains(lower, "clock") || strings.Contains(lower, "skew")
	if date, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		if d := t.now().Sub(date); d > 5*time.Minute || d < -5*time.Minute {
			skewed = true
		}
	}
	if skewed {
		return "this machine's clock is more than 5 minutes off from OCI's; synchronise it (e.g. timedatectl set-ntp true)"
	}
	return id.hint401
}

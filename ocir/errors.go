package ocir

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Error kinds. Front ends branch on these with errors.Is; every error of
// Registry, Credential and Explain matches exactly one of them, except
// ErrCacheMiss, the answer of a WithCacheOnly call, which is no failure.
var (
	// ErrNotOCIRHost: the server URL is not a recognised OCIR host (nor a
	// configured mirror). Nothing was signed and no network call was made.
	ErrNotOCIRHost = errors.New("not an OCIR registry host")
	// ErrNoIdentity: no OCI identity is configured at all.
	ErrNoIdentity = errors.New("no OCI identity configured")
	// ErrIdentityBroken: an identity is configured but unusable (bad or
	// missing profile fields, unreadable key, expired session token, …).
	ErrIdentityBroken = errors.New("OCI identity is misconfigured")
	// ErrAuth: OCI rejected the identity (401/403 from the token service,
	// clock skew, unknown key).
	ErrAuth = errors.New("OCI rejected the credentials")
	// ErrTransient: network failure, timeout, throttling or a server error;
	// trying again later may work.
	ErrTransient = errors.New("temporary failure")
)

// Error is the error type returned by the Provider.
type Error struct {
	Kind      error  // one of the Err* kinds above
	Registry  string // canonical registry host, when known
	RequestID string // opc-request-id of the failing OCI call, when any
	Hint      string // what the user can do about it
	Err       error  // underlying cause
}

// Error reads "<kind> for <registry>: <cause> (opc-request-id: …); <hint>",
// leaving out the parts that are empty.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	if e.Registry != "" {
		fmt.Fprintf(&b, " for %s", e.Registry)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (opc-request-id: %s)", e.RequestID)
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, "; %s", e.Hint)
	}
	return b.String()
}

// Unwrap exposes both the kind and the cause to errors.Is / errors.As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
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

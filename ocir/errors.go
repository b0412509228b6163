package ocir

import (
	"errors"
	"fmt"
	"strings"
)

// Error kinds. Front ends branch on these with errors.Is; every error the
// Provider returns matches exactly one of them.
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

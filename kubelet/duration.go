package kubelet

import (
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
)

// CacheDuration is how long the kubelet may cache a token issued at
// issuedAt that expires at expiresAt: its remaining life minus the core's
// refresh margin (ocir.RefreshMargin of the token's lifetime), rounded to
// whole seconds and never negative. The kubelet thus comes back for a new
// answer when the core would fetch a new token, never later.
//
// A zero issuedAt (or one not before expiresAt) says nothing about the
// lifetime; the remaining life then stands in for it, which for a fresh
// token is the same number.
func CacheDuration(now, issuedAt, expiresAt time.Time) time.Duration {
	remaining := expiresAt.Sub(now)
	if remaining <= 0 {
		return 0
	}
	lifetime := expiresAt.Sub(issuedAt)
	if issuedAt.IsZero() || lifetime <= 0 {
		lifetime = remaining
	}
	// Round rather than truncate: the token was issued a few milliseconds
	// before now, and "44m59s" for a fresh token helps nobody.
	d := (remaining - ocir.RefreshMargin(lifetime)).Round(time.Second)
	if d < 0 {
		return 0
	}
	return d
}

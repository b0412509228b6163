package kubelet

import "time"

// minRefreshMargin and refreshFraction define the core's refresh margin:
// a cached token is replaced once less than max(5 min, 25 % of its
// lifetime) remains.
const (
	minRefreshMargin = 5 * time.Minute
	refreshFraction  = 4 // 1/4 = 25 %
)

// refreshMargin mirrors the core's rule so the kubelet comes back for a new
// answer when the core would fetch a new token, never later.
//
// It is not ocir.RefreshMargin because that takes the token's lifetime,
// which ocir.Credential does not carry, and caps the margin at half the
// lifetime, which applied to the remaining life would keep a token the core
// already considers due for refresh in the kubelet's cache for minutes.
// TODO(core): once Credential has IssuedAt, return
// ocir.RefreshMargin(cred.ExpiresAt.Sub(cred.IssuedAt)) from CacheDuration.
func refreshMargin(lifetime time.Duration) time.Duration {
	return max(minRefreshMargin, lifetime/refreshFraction)
}

// CacheDuration is how long the kubelet may cache a token that expires at
// expiresAt: its remaining life minus the refresh margin, rounded to whole
// seconds and never negative.
//
// The core's Credential does not say when the token was issued, so the
// remaining life stands in for the lifetime. For a fresh token that is the
// same number (1 h → 45m0s); for an older one the margin comes out smaller
// than the core's, but never under 5 minutes, so the kubelet still stops
// using the token with at least 5 minutes of validity left.
func CacheDuration(now, expiresAt time.Time) time.Duration {
	remaining := expiresAt.Sub(now)
	if remaining <= 0 {
		return 0
	}
	// Round rather than truncate: the token was issued a few milliseconds
	// before now, and "44m59s" for a fresh token helps nobody.
	d := (remaining - refreshMargin(remaining)).Round(time.Second)
	if d < 0 {
		return 0
	}
	return d
}

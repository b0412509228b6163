package ocir

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// A memo is a remembered negative answer — "no metadata service at this
// URL", "this identity failed slowly" — so that neither this process nor
// the next one (a docker build runs the helper once per credHelpers entry)
// pays for it again. It lives in memory and as a private file in the cache
// directory.
type memo struct {
	Key   string    `json:"key"` // what the answer is about: a metadata URL, an identity key
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	Err   string    `json:"error"`
}

const (
	// metadataMemoFile holds the negative metadata probe answer.
	metadataMemoFile = "metadata-probe.json"
	// failureMemoPrefix starts the file names of slow-failure memos.
	failureMemoPrefix = "failure-"
	// failureMemoTTL is how long a slow failure is remembered: without it an
	// OCI endpoint that hangs costs the full timeout per credHelpers entry.
	failureMemoTTL = 30 * time.Second
)

func failureMemoName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return failureMemoPrefix + hex.EncodeToString(sum[:12]) + ".json"
}

// isMemoFile reports whether a cache-directory file name is a memo's.
func isMemoFile(name string) bool {
	return name == metadataMemoFile || strings.HasPrefix(name, failureMemoPrefix)
}

// failureKey scopes a slow-failure memo to one (identity, registry): a
// hang at one registry or mirror says nothing about the others.
func failureKey(idKey, registry string) string { return idKey + "\x00" + registry }

// recentFailure reports a slow failure of this identity at this registry
// remembered by this or another process within the last failureMemoTTL.
func (p *Provider) recentFailure(idKey, registry string) (memo, bool) {
	k := failureKey(idKey, registry)
	return p.cache.recall(failureMemoName(k), k, 0)
}

// rememberFailure records a transient failure that took long while the
// caller was still waiting. Quick failures are cheap to retry; the
// caller's own cancellation (Ctrl-C) or deadline (a short OCIR_TIMEOUT)
// says nothing about OCI and must not make other callers fail; permanent
// failures (unknown CA, proxy refusing us) fail at once anyway.
func (p *Provider) rememberFailure(ctx context.Context, idKey, registry string, err error, took time.Duration) {
	if ctx.Err() != nil || took < p.timeout/2 || isPermanent(err) || !errors.Is(err, ErrTransient) {
		return
	}
	k := failureKey(idKey, registry)
	p.cache.memorize(failureMemoName(k), k, failureMemoTTL, err)
}

func (p *Provider) forgetFailure(idKey, registry string) {
	p.cache.forget(failureMemoName(failureKey(idKey, registry)))
}

func failureError(m memo, reg string) error {
	return &Error{Kind: ErrTransient, Registry: reg,
		Err:  fmt.Errorf("the last attempt failed slowly at %s and is remembered until %s: %s", m.Since.UTC().Format(time.TimeOnly), m.Until.UTC().Format(time.TimeOnly), strings.TrimSpace(m.Err)),
		Hint: "not retrying yet so that callers do not wait again; clear the token cache to retry at once"}
}
